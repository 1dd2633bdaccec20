package ai.musicgenti.cli;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.eval.ClapWindows;
import ai.musicgenti.pipeline.Cancellation;
import ai.musicgenti.pipeline.JobEvent;
import ai.musicgenti.pipeline.ModelChoice;
import ai.musicgenti.pipeline.TrainJob;
import ai.musicgenti.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Learns token embeddings for concepts of a prepared dataset (textual inversion); MusicGen stays frozen. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Learn new tokens <concept> for the concepts of a prepared dataset; writes <out>/<dataset>/<run>.safetensors.")
final class TrainCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--dataset", description = "The folder prepare wrote (dataset.json, metadata_train.json, metadata_valid.json, fragments/); "
            + "with --resume: the run's own.")
    Path dataset;

    @Option(names = "--concepts", arity = "1..*", description = "Concepts to learn (default: all of the dataset's).")
    List<String> concepts = new ArrayList<>();

    @Option(names = "--tokens", defaultValue = "" + Trainer.Settings.TOKENS, description = "Pseudo-tokens per concept (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--epochs", description = "Epochs (default: 10; with --resume: the run's own).")
    Integer epochs;

    @Option(names = "--batch-size", defaultValue = "" + Trainer.Settings.BATCH_SIZE, description = "Fragments per step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--examples-num", defaultValue = "" + Trainer.Settings.EXAMPLES_NUM, description = "Fragments per concept per epoch; 0 = all it has (default: ${DEFAULT-VALUE}).")
    int examplesNum;

    @Option(names = "--music-len", defaultValue = "" + Trainer.Settings.MUSIC_LEN, description = "Window in frames (250 = 5 s at 50 Hz) (default: ${DEFAULT-VALUE}).")
    int musicLen;

    @Option(names = "--lr", defaultValue = "" + Trainer.Settings.LR, description = "Adam learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--lr-step-epochs", defaultValue = "" + Trainer.Settings.LR_STEP_EPOCHS, description = "Multiply the rate by --lr-gamma every N epochs; 0 = constant (default: ${DEFAULT-VALUE}).")
    int lrStepEpochs;

    @Option(names = "--lr-gamma", defaultValue = "" + Trainer.Settings.LR_GAMMA, description = "See --lr-step-epochs (default: ${DEFAULT-VALUE}).")
    double lrGamma;

    @Option(names = "--grad-amplify", defaultValue = "" + Trainer.Settings.GRAD_AMPLIFY, description = "Gradient factor before the Adam step (default: ${DEFAULT-VALUE}).")
    double gradAmplify;

    @Option(names = "--entropy-alpha", defaultValue = "" + Trainer.Settings.ENTROPY_ALPHA, description = "Weight of the codebook cross-entropy (default: ${DEFAULT-VALUE}).")
    double entropyAlpha;

    @Option(names = "--ortho-alpha", defaultValue = "" + Trainer.Settings.ORTHO_ALPHA, description = "Weight of the orthogonality of a concept's tokens (default: ${DEFAULT-VALUE}).")
    double orthoAlpha;

    @Option(names = "--cr-alpha", defaultValue = "" + Trainer.Settings.CR_ALPHA, description = "Weight of the margin between concepts (default: ${DEFAULT-VALUE}).")
    double crAlpha;

    @Option(names = "--cr-margin", defaultValue = "" + Trainer.Settings.CR_MARGIN, description = "Distance (0..2) between concepts' directions below which they are pushed apart (default: ${DEFAULT-VALUE}).")
    double crMargin;

    @Option(names = "--shuffle-tokens", description = "Place a concept's tokens in a random order in each training prompt.")
    boolean shuffleTokens;

    @Option(names = "--init-word", description = "Start the tokens at this word's embedding (default: the mean token embedding).")
    String initWord;

    @Option(names = "--seed", defaultValue = "" + Trainer.Settings.SEED, description = "Seed of the initialisation and of all sampling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--run", description = "Run name (default: the concepts joined by '-').")
    String run;

    @Option(names = "--resume", description = "Continue the run of this name from its checkpoint.")
    String resume;

    @Option(names = "--out", defaultValue = TrainJob.OUT, description = "Concepts files go to <out>/<dataset>/<run>.safetensors (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--runs", defaultValue = TrainJob.RUNS, description = "Checkpoints and metrics go to <runs>/<run>/ (default: ${DEFAULT-VALUE}).")
    Path runs;

    @Option(names = "--train-prompts", description = "Training prompt templates, one per line with %%s (default: configs/prompts/train.txt, bundled in the launcher).")
    Path trainPrompts;

    @Option(names = "--valid-prompts", description = "Validation prompt templates (default: configs/prompts/valid.txt, bundled in the launcher).")
    Path validPrompts;

    @Option(names = "--eval-every", description = "Evaluate (FAD, kNCC, kNCO on CLAP, as eval does) after every K-th epoch; 0 = off (default: 0; with --resume: the run's own).")
    Integer evalEvery;

    @Option(names = "--eval-clips", description = "Clips generated per concept for each evaluation (default: 4; with --resume: the run's own).")
    Integer evalClips;

    @Option(names = "--eval-duration", description = "Seconds per evaluation clip (default: the dataset's fragment length; with --resume: the run's own).")
    Double evalDuration;

    @Option(names = "--eval-cfg", description = "Classifier-free guidance of the evaluation clips (default: the model's generation_config.json; "
            + "with --resume: the run's own).")
    Double evalCfg;

    @Option(names = "--descriptions", paramLabel = "FILE|none", description = "Concept descriptions for the CLAP score of --eval-every, as "
            + "metadata_concepts.json (default: the dataset's own when it has one; none = no CLAP score; with --resume: the run's own).")
    String descriptions;

    @Option(names = "--patience", description = "Stop when no concept's FAD improved for P evaluations; 0 = never (default: 0; with --resume: the run's own).")
    Integer patience;

    @Option(names = "--clap", description = "CLAP checkpoint for --eval-every: hub id or local folder (default: laion/larger_clap_music; with --resume: the run's own).")
    String clap;

    @Option(names = "--windows", description = ClapWindows.CHOICES + ", for --eval-every (default: " + ClapWindows.DEFAULT
            + "; with --resume: the run's own, which cannot change).")
    String windows;

    @Option(names = "--cache", description = "Embedding cache folder (default: ~/.cache/musicgen-ti/embeddings).")
    Path cache;

    @Spec
    CommandSpec spec;

    /**
     * The run's settings, fixed when it starts (flag = its {@link Trainer.Settings} component in kebab case): a
     * resumed run continues with its own, so a flag given then must agree with them.
     */
    private static final List<String> RUN_SETTINGS = List.of("--concepts", "--tokens", "--batch-size", "--examples-num", "--music-len",
            "--lr", "--lr-step-epochs", "--lr-gamma", "--grad-amplify", "--entropy-alpha", "--ortho-alpha", "--cr-alpha", "--cr-margin",
            "--shuffle-tokens", "--init-word", "--seed");

    @Override
    public Integer call() throws Exception {
        TrainJob.Result result = runStoppable(new TrainJob(settings()));
        System.out.println(result.conceptsFile());
        if (result.bestFile() != null) System.out.println(result.bestFile());
        return 0;
    }

    /** The job's settings from the parsed flags; a flag that --resume would drop is refused here. */
    TrainJob.Settings settings() {
        if (windows != null) ClapWindows.parse(windows); // a bad value fails at once, not after the model is loaded
        if (resume != null) requireRunSettings();
        Trainer.Settings training = Trainer.Settings.builder().concepts(concepts).tokens(tokens).epochs(epochs != null ? epochs : Trainer.Settings.EPOCHS)
                .batchSize(batchSize).examplesNum(examplesNum).musicLen(musicLen).lr(lr).lrStepEpochs(lrStepEpochs).lrGamma(lrGamma)
                .gradAmplify(gradAmplify).entropyAlpha(entropyAlpha).orthoAlpha(orthoAlpha).crAlpha(crAlpha).crMargin(crMargin)
                .shuffleTokens(shuffleTokens).initWord(initWord).seed(seed).build();
        // on --resume, a model or dtype not given is the run's own
        ModelChoice model = modelOptions.choice();
        if (resume != null && !spec.commandLine().getParseResult().hasMatchedOption("--model")) model = model.withModel(null);
        if (resume != null && !spec.commandLine().getParseResult().hasMatchedOption("--dtype")) model = model.withDtype(null);
        return TrainJob.Settings.builder()
                .model(model).dataset(dataset).training(training)
                .run(run).resume(resume).epochs(epochs).out(out).runs(runs).trainPrompts(trainPrompts).validPrompts(validPrompts)
                .evaluation(new TrainJob.Evaluation(evalEvery, evalClips, evalDuration, evalCfg, descriptions, patience, clap, windows, cache)).build();
    }

    /** --resume continues with the run's settings: one given that differs is refused rather than dropped. */
    private void requireRunSettings() {
        Trainer.RunInfo saved = TrainJob.describe(runs, resume);
        List<String> differing = new ArrayList<>();
        for (String flag : RUN_SETTINGS) {
            if (!spec.commandLine().getParseResult().hasMatchedOption(flag)) continue;
            Object stored = storedSetting(saved.settings(), flag), given = spec.findOption(flag).getValue();
            if (!java.util.Objects.equals(stored, given)) differing.add(flag + " " + given + " (the run's: " + stored + ")");
        }
        if (!differing.isEmpty()) {
            throw new BadInputException("--resume " + resume + ": " + String.join(", ", differing) + " would change the run's settings, which it "
                    + "keeps; drop " + (differing.size() == 1 ? "it" : "them") + ", or start a new run with --run NAME");
        }
    }

    private static Object storedSetting(Trainer.Settings settings, String flag) {
        String[] words = flag.substring(2).split("-");
        StringBuilder name = new StringBuilder(words[0]);
        for (int i = 1; i < words.length; i++) name.append(Character.toUpperCase(words[i].charAt(0))).append(words[i].substring(1));
        for (var c : Trainer.Settings.class.getRecordComponents()) {
            if (!c.getName().contentEquals(name)) continue;
            try {
                return c.getAccessor().invoke(settings);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        throw new IllegalStateException(flag + " names no setting of a run");
    }

    /** Ctrl-C cancels the job, which stops after its current step, and waits until it has saved. */
    static TrainJob.Result runStoppable(TrainJob job) throws Exception {
        return CtrlC.cancels(new Cancellation(), c -> job.run(new TrainProgress(), c));
    }

    /** One progress line on stderr: epoch, step, loss and steps/s, redrawn at most ten times a second. */
    private static final class TrainProgress extends CliListener {
        private long lastDraw;

        @Override
        public void on(JobEvent event) {
            if (event instanceof JobEvent.TrainStep t) {
                Trainer.StepMetrics m = t.metrics();
                long now = System.nanoTime();
                if (t.stepInEpoch() < t.stepsInEpoch() && now - lastDraw < 100_000_000L) return;
                lastDraw = now;
                System.err.printf(Locale.ROOT, "\repoch %d step %d/%d (total %d) loss %.4f ce %.4f lr %.3g %.2f steps/s ", m.epoch(), t.stepInEpoch(),
                        t.stepsInEpoch(), m.step(), m.loss(), m.crossEntropy(), m.lr(), t.stepsPerSecond());
                System.err.flush();
            } else if (event instanceof JobEvent.EpochEnd e) {
                Trainer.EpochMetrics m = e.metrics();
                System.err.printf(Locale.ROOT, "%nepoch %d done: train ce %.4f, valid ce %.4f%n", m.epoch(), m.trainCrossEntropy(), m.validCrossEntropy());
            } else if (event instanceof JobEvent.EvalDone d) {
                System.err.printf(Locale.ROOT, "evaluation after epoch %d: improved %s; %d evaluation(s) without improvement%n", d.epochsDone(),
                        d.improved().isEmpty() ? "none" : d.improved(), d.stale());
            } else if (event instanceof JobEvent.Stage st && st.name().equals("evaluate")) {
                System.err.printf(Locale.ROOT, "%n%s%n", st.detail());
            } else {
                super.on(event);
            }
        }
    }
}
