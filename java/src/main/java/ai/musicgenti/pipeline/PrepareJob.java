package ai.musicgenti.pipeline;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.data.DatasetInfo;
import ai.musicgenti.data.DatasetPreparer;
import ai.musicgenti.data.Fragment;
import ai.musicgenti.models.EnCodec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A folder of clips per concept to a prepared dataset: decode, cut into fragments, encode with EnCodec, write. */
public final class PrepareJob {
    public static final double FRAGMENT_SECONDS = 5;
    public static final double VAL_FRACTION = 0.1;
    public static final long SEED = 0;
    public static final int ENCODE_BATCH = 8;

    /**
     * @param root  a folder with one sub-folder of audio clips per concept
     * @param model dtype auto means f32 here: codes are nearest-codebook decisions, which half precision changes
     */
    public record Settings(ModelChoice model, Path root, Path dataset, double fragmentSeconds, DatasetPreparer.Last last,
                           double valFraction, long seed, int encodeBatch) {
        public static Settings of(Path root, Path dataset) {
            return new Settings(ModelChoice.defaults(), root, dataset, FRAGMENT_SECONDS, DatasetPreparer.Last.DROP, VAL_FRACTION, SEED, ENCODE_BATCH);
        }

        public Settings withModel(ModelChoice model) {
            return new Settings(model, root, dataset, fragmentSeconds, last, valFraction, seed, encodeBatch);
        }

        public Settings withFragmentSeconds(double fragmentSeconds) {
            return new Settings(model, root, dataset, fragmentSeconds, last, valFraction, seed, encodeBatch);
        }

        public Settings withLast(DatasetPreparer.Last last) {
            return new Settings(model, root, dataset, fragmentSeconds, last, valFraction, seed, encodeBatch);
        }

        public Settings withValFraction(double valFraction) {
            return new Settings(model, root, dataset, fragmentSeconds, last, valFraction, seed, encodeBatch);
        }

        public Settings withSeed(long seed) {
            return new Settings(model, root, dataset, fragmentSeconds, last, valFraction, seed, encodeBatch);
        }

        public Settings withEncodeBatch(int encodeBatch) {
            return new Settings(model, root, dataset, fragmentSeconds, last, valFraction, seed, encodeBatch);
        }
    }

    /** The preparer's report and warnings about concepts too small to hold out validation clips well. */
    public record Result(Path dataset, DatasetPreparer.Report report, List<String> warnings) {
        /** A run that prepared nothing is an error, said after the caller has shown the skipped files. */
        public void requireFragments(Path root) {
            if (report.fragments() == 0) {
                throw new BadInputException(root + ": no clip could be prepared (see the list above); " + dataset + " holds no fragments");
            }
        }
    }

    /** {@code drop} or {@code pad}, named by {@code field} in the error. */
    public static DatasetPreparer.Last last(String name, String field) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "drop" -> DatasetPreparer.Last.DROP;
            case "pad" -> DatasetPreparer.Last.PAD;
            default -> throw new BadInputException(field + " " + name + ": use drop or pad");
        };
    }

    private final Settings settings;

    public PrepareJob(Settings settings) {
        this.settings = settings;
    }

    /** Cancelled between clips or fragments: what was written stays, and a later run adds the rest. */
    public Result run(JobListener listener, Cancellation cancellation) throws IOException {
        Settings s = settings;
        // before a model download, so a typo in <root> costs nothing
        DatasetPreparer.conceptFolders(s.root(), s.dataset());
        ModelChoice model = s.model().dtype().equalsIgnoreCase("auto") ? s.model().withDtype("f32") : s.model();
        Path folderPath = model.folder(listener.downloads());
        Compute compute = model.compute();
        try (ModelFolder folder = ModelFolder.open(folderPath)) {
            List<String> codecWeights = folder.store().names().stream().filter(n -> n.startsWith("audio_encoder.")).sorted().toList();
            var preparer = new DatasetPreparer.Settings(model.id(), folder.store().sha256(codecWeights), s.fragmentSeconds(), s.last(),
                    s.valFraction(), s.seed(), s.encodeBatch(), BuildInfo.version());
            EnCodec codec = EnCodec.load(EnCodec.Config.fromJson(folder.config().path("audio_encoder")),
                    folder.weights(compute).pp("audio_encoder"));
            int codebooks = folder.config().path("decoder").path("num_codebooks").asInt(codec.numCodebooks());
            listener.on(new JobEvent.Stage("prepare", String.format(Locale.ROOT, "EnCodec of %s on %s; %s s fragments (%d frames, %d codebooks)",
                    model.model(), compute, s.fragmentSeconds(), (int) Math.ceil(s.fragmentSeconds() * codec.frameRate()), codebooks)));
            DatasetPreparer.Report report = new DatasetPreparer(codec, codebooks, preparer, new Progress(listener, cancellation))
                    .prepare(s.root(), s.dataset());
            return new Result(s.dataset(), report, warnings(report));
        }
    }

    private List<String> warnings(DatasetPreparer.Report report) {
        List<String> warnings = new ArrayList<>();
        if (!(settings.valFraction() > 0)) return warnings;
        for (DatasetInfo.Concept c : report.concepts()) {
            if (c.sources() == 1 && c.validFragments() == 0) {
                warnings.add(c.name() + " has one clip of one fragment, so nothing is held out: training gets no validation loss and eval no kNCC/kNCO; add clips");
            } else if (c.sources() == 1) {
                warnings.add(String.format(Locale.ROOT, "%s has one clip, so its last %d fragment(s) in time are held out for validation (close to the training audio); add clips",
                        c.name(), c.validFragments()));
            } else if (c.sources() == 2) {
                warnings.add(c.name() + " has two clips, so one of them (half its audio) is held out for validation; add clips");
            }
        }
        return warnings;
    }

    /** The preparer's callbacks as events; checks the cancellation after every clip and fragment. */
    private static final class Progress implements DatasetPreparer.Listener {
        private final JobListener listener;
        private final Cancellation cancellation;
        private String concept;
        private int clips;
        private int done;
        private int fragments;

        Progress(JobListener listener, Cancellation cancellation) {
            this.listener = listener;
            this.cancellation = cancellation;
        }

        @Override
        public void conceptStarted(String name, int audioFiles) {
            cancellation.check();
            concept = name;
            clips = audioFiles;
            done = 0;
            fragments = 0;
            emit();
        }

        @Override
        public void fileDone(String name, String source) {
            done++;
            emit();
            cancellation.check();
        }

        @Override
        public void fragmentWritten(Fragment fragment) {
            fragments++;
            emit();
            cancellation.check();
        }

        private void emit() {
            listener.on(new JobEvent.PrepareProgress(concept, done, clips, fragments));
        }
    }
}
