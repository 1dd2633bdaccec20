package ai.musicgenti.cli;

import ai.musicgenti.eval.ClapEmbedder;
import ai.musicgenti.eval.ClapWindows;
import ai.musicgenti.pipeline.Cancellation;
import ai.musicgenti.pipeline.EvalJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** FAD, kNCC and kNCO of learned concepts (and of another system's clips) against the concepts' own fragments. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Generate clips of each learned concept from the validation templates and score them on CLAP embeddings "
                + "against the concept's fragments: FAD (and FAD to a background set, FAD-inf), kNCC, kNCO, and the CLAP score against "
                + "the concept's description; writes eval.json and eval.md.")
final class EvalCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--concepts", required = true, arity = "1..*", paramLabel = "FILE", description = "Learned concepts (.safetensors from train).")
    List<Path> conceptFiles = new ArrayList<>();

    @Option(names = "--dataset", required = true, description = "The prepared dataset the concepts were learned on (its train and valid fragments are the reference).")
    Path dataset;

    @Option(names = "--per-concept", defaultValue = "" + EvalJob.PER_CONCEPT, description = "Clips generated per concept (default: ${DEFAULT-VALUE}).")
    int perConcept;

    @Option(names = "--clap", defaultValue = ClapEmbedder.DEFAULT_CLAP, description = "CLAP checkpoint: hub id or local folder (default: ${DEFAULT-VALUE}).")
    String clap;

    @Option(names = "--windows", defaultValue = ClapWindows.DEFAULT, description = ClapWindows.OPTION_HELP)
    String windows;

    @Option(names = "--cache", description = "Embedding cache folder (default: ~/.cache/musicgen-ti/embeddings).")
    Path cache;

    @Option(names = "--template-file", description = "Validation templates, one per line with %%s (default: configs/prompts/valid.txt, bundled).")
    Path templateFile;

    @Option(names = "--duration", description = "Seconds per generated clip (default: the dataset's fragment length, "
            + "so that clips and reference are embedded alike).")
    Double duration;

    @Option(names = "--background", description = "A background set for a second FAD: a folder of audio or statistics saved by fad --save-stats.")
    Path background;

    @Option(names = "--other", paramLabel = "DIR", description = "Another system's clips, DIR/<concept>/*.wav, scored the same way; repeatable.")
    List<Path> other = new ArrayList<>();

    @Option(names = "--out", description = "Output folder: <concept>/NNN.wav, eval.json, eval.md (default: runs/<concepts file name>/eval).")
    Path out;

    @Option(names = "--seed", defaultValue = "" + EvalJob.SEED, description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--k", defaultValue = "" + EvalJob.K, description = "Neighbours for kNCC and kNCO (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--batch", defaultValue = "" + EvalJob.BATCH, description = "Clips generated together (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--descriptions", paramLabel = "FILE|none", description = "Concept descriptions for the CLAP text-audio score, as metadata_concepts.json"
            + " (default: the dataset's metadata_concepts.json when it has one; none = no CLAP score).")
    String descriptions;

    @Option(names = "--inf", description = "Also compute FAD-inf as fad --inf does (fadtk's score_inf: a line in 1/N, its intercept), with its slope and R2.")
    boolean inf;

    @Override
    public Integer call() throws IOException {
        EvalJob.Settings settings = EvalJob.Settings.builder().model(modelOptions.choice()).conceptFiles(conceptFiles).dataset(dataset)
                .perConcept(perConcept).clap(clap).windows(ClapWindows.parse(windows)).cache(cache).templateFile(templateFile).duration(duration).background(background)
                .other(other).out(out).seed(seed).k(k).batch(batch).descriptions(descriptions).fadInf(inf).build();
        EvalJob.Result result = new EvalJob(settings).run(new CliListener(), Cancellation.none());
        System.out.println(result.json());
        System.out.println(result.markdown());
        return 0;
    }
}
