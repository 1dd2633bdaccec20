package ai.musicgenti.cli;

import ai.musicgenti.data.DatasetInfo;
import ai.musicgenti.data.DatasetPreparer;
import ai.musicgenti.pipeline.Cancellation;
import ai.musicgenti.pipeline.JobEvent;
import ai.musicgenti.pipeline.PrepareJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
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

    @Option(names = "--fragment-seconds", defaultValue = "" + PrepareJob.FRAGMENT_SECONDS, description = "Length of each fragment (default: ${DEFAULT-VALUE}).")
    double fragmentSeconds;

    @Option(names = "--last", defaultValue = "drop", description = "A clip's last piece shorter than a fragment: drop or pad (with silence) (default: ${DEFAULT-VALUE}).")
    String last;

    @Option(names = "--val-fraction", defaultValue = "" + PrepareJob.VAL_FRACTION, description = "Share of each concept's clips held out for validation, split by clip (default: ${DEFAULT-VALUE}).")
    double valFraction;

    @Option(names = "--seed", defaultValue = "" + PrepareJob.SEED, description = "Chooses the held-out clips (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--encode-batch", defaultValue = "" + PrepareJob.ENCODE_BATCH, description = "Fragments per EnCodec call (default: ${DEFAULT-VALUE}).")
    int encodeBatch;

    @Override
    public Integer call() throws IOException {
        PrepareJob.Settings settings = PrepareJob.Settings.of(root, dataset).withModel(modelOptions.choice())
                .withFragmentSeconds(fragmentSeconds).withLast(PrepareJob.last(last, "--last")).withValFraction(valFraction)
                .withSeed(seed).withEncodeBatch(encodeBatch);
        PrepareProgress progress = new PrepareProgress(System.err);
        PrepareJob.Result result = new PrepareJob(settings).run(new CliListener() {
            @Override
            public void on(JobEvent event) {
                if (event instanceof JobEvent.PrepareProgress p) progress.on(p);
                else super.on(event);
            }
        }, Cancellation.none());
        progress.finish();
        summary(System.out, result);
        result.requireFragments(root);
        return 0;
    }

    private void summary(PrintStream out, PrepareJob.Result result) {
        DatasetPreparer.Report report = result.report();
        out.printf(Locale.ROOT, "%s: %d fragments from %d new clip(s) prepared now, %d unchanged clip(s) kept%n",
                dataset, report.newFragments(), report.preparedSources(), report.keptSources());
        for (DatasetInfo.Concept c : report.concepts()) {
            out.printf(Locale.ROOT, "  %-24s %3d clips, %4d train / %3d valid fragments%n", c.name(), c.sources(), c.trainFragments(), c.validFragments());
        }
        for (String w : result.warnings()) System.err.println("warning: " + w);
        if (!report.skipped().isEmpty()) {
            out.println("skipped " + report.skipped().size() + ":");
            for (DatasetPreparer.Skip s : report.skipped()) out.println("  " + s.file() + ": " + s.reason());
        }
    }
}
