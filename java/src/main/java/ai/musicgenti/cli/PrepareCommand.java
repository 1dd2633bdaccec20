package ai.musicgenti.cli;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.data.DatasetInfo;
import ai.musicgenti.data.DatasetPreparer;
import ai.musicgenti.models.EnCodec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** A folder of clips per concept to a prepared dataset of fragments and EnCodec codes. */
@Command(name = "prepare", mixinStandardHelpOptions = true,
        description = {"Prepare <root>/<concept>/** audio clips for training: decode to mono at the codec's rate, cut into "
                + "fragments, encode them with EnCodec and write WAVs, codes and metadata into --dataset.",
                "Re-running adds new clips and skips those already prepared. --dtype auto means f32 here: codes are "
                        + "nearest-codebook decisions, which half precision changes."})
final class PrepareCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Parameters(index = "0", paramLabel = "<root>", description = "A folder with one sub-folder of audio clips per concept.")
    Path root;

    @Option(names = "--dataset", required = true, description = "The dataset folder to create or update, e.g. data/input/my-ds.")
    Path dataset;

    @Option(names = "--fragment-seconds", defaultValue = "5", description = "Length of each fragment (default: ${DEFAULT-VALUE}).")
    double fragmentSeconds;

    @Option(names = "--last", defaultValue = "drop", description = "A clip's last piece shorter than a fragment: drop or pad (with silence) (default: ${DEFAULT-VALUE}).")
    String last;

    @Option(names = "--val-fraction", defaultValue = "0.1", description = "Share of each concept's clips held out for validation, split by clip (default: ${DEFAULT-VALUE}).")
    double valFraction;

    @Option(names = "--seed", defaultValue = "0", description = "Chooses the held-out clips (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--encode-batch", defaultValue = "8", description = "Fragments per EnCodec call (default: ${DEFAULT-VALUE}).")
    int encodeBatch;

    @Override
    public Integer call() throws IOException {
        DatasetPreparer.Last lastPiece = switch (last.toLowerCase(Locale.ROOT)) {
            case "drop" -> DatasetPreparer.Last.DROP;
            case "pad" -> DatasetPreparer.Last.PAD;
            default -> throw new BadInputException("--last " + last + ": use drop or pad");
        };
        // before a model download, so a typo in <root> costs nothing
        DatasetPreparer.conceptFolders(root, dataset);
        if (modelOptions.dtype.equalsIgnoreCase("auto")) modelOptions.dtype = "f32";
        Path folderPath = modelOptions.folder();
        Compute compute = modelOptions.compute();
        try (ModelFolder folder = ModelFolder.open(folderPath)) {
            List<String> codecWeights = folder.store().names().stream().filter(n -> n.startsWith("audio_encoder.")).sorted().toList();
            var settings = new DatasetPreparer.Settings(modelOptions.id(), folder.store().sha256(codecWeights), fragmentSeconds, lastPiece,
                    valFraction, seed, encodeBatch, Main.version());
            EnCodec codec = new EnCodec(EnCodec.Config.fromJson(folder.config().path("audio_encoder")),
                    folder.weights(compute).pp("audio_encoder"));
            int codebooks = folder.config().path("decoder").path("num_codebooks").asInt(codec.numCodebooks());
            System.err.printf(Locale.ROOT, "EnCodec of %s on %s; %s s fragments (%d frames, %d codebooks)%n", modelOptions.model, compute,
                    fragmentSeconds, (int) Math.ceil(fragmentSeconds * codec.frameRate()), codebooks);
            PrepareProgress progress = new PrepareProgress(System.err);
            DatasetPreparer.Report report = new DatasetPreparer(codec, codebooks, settings, progress).prepare(root, dataset);
            progress.finish();
            summary(System.out, report);
            if (report.fragments() == 0) {
                throw new BadInputException(root + ": no clip could be prepared (see the list above); " + dataset + " holds no fragments");
            }
        }
        return 0;
    }

    private void summary(PrintStream out, DatasetPreparer.Report report) {
        out.printf(Locale.ROOT, "%s: %d fragments from %d new clip(s) prepared now, %d unchanged clip(s) kept%n",
                dataset, report.newFragments(), report.preparedSources(), report.keptSources());
        for (DatasetInfo.Concept c : report.concepts()) {
            out.printf(Locale.ROOT, "  %-24s %3d clips, %4d train / %3d valid fragments%n", c.name(), c.sources(), c.trainFragments(), c.validFragments());
        }
        for (DatasetInfo.Concept c : report.concepts()) {
            if (valFraction > 0 && c.sources() == 1 && c.validFragments() == 0) {
                System.err.printf(Locale.ROOT, "warning: %s has one clip of one fragment, so nothing is held out: training gets no validation loss and eval no kNCC/kNCO; add clips%n", c.name());
            } else if (valFraction > 0 && c.sources() == 1) {
                System.err.printf(Locale.ROOT, "warning: %s has one clip, so its last %d fragment(s) in time are held out for validation (close to the training audio); add clips%n",
                        c.name(), c.validFragments());
            } else if (valFraction > 0 && c.sources() == 2) {
                System.err.printf(Locale.ROOT, "warning: %s has two clips, so one of them (half its audio) is held out for validation; add clips%n", c.name());
            }
        }
        if (!report.skipped().isEmpty()) {
            out.println("skipped " + report.skipped().size() + ":");
            for (DatasetPreparer.Skip s : report.skipped()) out.println("  " + s.file() + ": " + s.reason());
        }
    }
}
