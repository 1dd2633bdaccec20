package ai.musicgenti.cli;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.data.ConceptDescriptions;
import ai.musicgenti.data.PreparedDataset;
import ai.musicgenti.eval.ClapEmbedder;
import ai.musicgenti.eval.ClapWindows;
import ai.musicgenti.eval.ConceptEvaluator;
import ai.musicgenti.eval.NearestNeighbours;
import ai.musicgenti.generate.Generator;
import ai.musicgenti.hub.HubClient;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.text.PromptTokenizer;
import ai.musicgenti.train.PreparedTrainingData;
import ai.musicgenti.train.LearnedConcepts;
import ai.musicgenti.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

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

    @Option(names = "--tokens", defaultValue = "10", description = "Pseudo-tokens per concept (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--epochs", description = "Epochs (default: 10; with --resume: the run's own).")
    Integer epochs;

    @Option(names = "--batch-size", defaultValue = "4", description = "Fragments per step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--examples-num", defaultValue = "0", description = "Fragments per concept per epoch; 0 = all it has (default: ${DEFAULT-VALUE}).")
    int examplesNum;

    @Option(names = "--music-len", defaultValue = "250", description = "Window in frames (250 = 5 s at 50 Hz) (default: ${DEFAULT-VALUE}).")
    int musicLen;

    @Option(names = "--lr", defaultValue = "0.1", description = "Adam learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--lr-step-epochs", defaultValue = "0", description = "Multiply the rate by --lr-gamma every N epochs; 0 = constant (default: ${DEFAULT-VALUE}).")
    int lrStepEpochs;

    @Option(names = "--lr-gamma", defaultValue = "0.5", description = "See --lr-step-epochs (default: ${DEFAULT-VALUE}).")
    double lrGamma;

    @Option(names = "--grad-amplify", defaultValue = "10", description = "Gradient factor before the Adam step (default: ${DEFAULT-VALUE}).")
    double gradAmplify;

    @Option(names = "--entropy-alpha", defaultValue = "1.0", description = "Weight of the codebook cross-entropy (default: ${DEFAULT-VALUE}).")
    double entropyAlpha;

    @Option(names = "--ortho-alpha", defaultValue = "0.01", description = "Weight of the orthogonality of a concept's tokens (default: ${DEFAULT-VALUE}).")
    double orthoAlpha;

    @Option(names = "--cr-alpha", defaultValue = "0.1", description = "Weight of the margin between concepts (default: ${DEFAULT-VALUE}).")
    double crAlpha;

    @Option(names = "--cr-margin", defaultValue = "1.5", description = "Distance (0..2) between concepts' directions below which they are pushed apart (default: ${DEFAULT-VALUE}).")
    double crMargin;

    @Option(names = "--shuffle-tokens", description = "Place a concept's tokens in a random order in each training prompt.")
    boolean shuffleTokens;

    @Option(names = "--init-word", description = "Start the tokens at this word's embedding (default: the mean token embedding).")
    String initWord;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the initialisation and of all sampling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--run", description = "Run name (default: the concepts joined by '-').")
    String run;

    @Option(names = "--resume", description = "Continue the run of this name from its checkpoint.")
    String resume;

    @Option(names = "--out", defaultValue = "models", description = "Concepts files go to <out>/<dataset>/<run>.safetensors (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--runs", defaultValue = "runs", description = "Checkpoints and metrics go to <runs>/<run>/ (default: ${DEFAULT-VALUE}).")
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

    @Option(names = "--descriptions", paramLabel = "FILE|none", description = "Concept descriptions for the CLAP score of --eval-every, as "
            + "metadata_concepts.json (default: the dataset's own when it has one; none = no CLAP score; with --resume: the run's own).")
    String descriptions;

    @Option(names = "--eval-cfg", description = "Classifier-free guidance of the evaluation clips (default: the model's generation_config.json; "
            + "with --resume: the run's own).")
    Double evalCfg;

    @Option(names = "--patience", description = "Stop when no concept's FAD improved for P evaluations; 0 = never (default: 0; with --resume: the run's own).")
    Integer patience;

    @Option(names = "--clap", description = "CLAP checkpoint for --eval-every: hub id or local folder (default: laion/larger_clap_music; with --resume: the run's own).")
    String clap;

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
        if (resume != null) {
            fillFromRun();
        } else if (dataset == null) {
            throw new BadInputException("--dataset: missing; give the folder prepare wrote (e.g. --dataset data/input/my-ds)");
        }
        Trainer.Templates templates = new Trainer.Templates(templates(trainPrompts, "--train-prompts", "train.txt"),
                templates(validPrompts, "--valid-prompts", "valid.txt"));
        Path folderPath = modelOptions.folder();
        try (ModelFolder folder = ModelFolder.open(folderPath); PromptTokenizer tokenizer = PromptTokenizer.load(folderPath)) {
            MusicGen model = MusicGen.load(folder, modelOptions.compute());
            PreparedTrainingData data = PreparedTrainingData.open(dataset, model);
            List<String> chosen = concepts.isEmpty() ? data.concepts() : concepts;
            String name = resume != null ? resume : run != null ? run : String.join("-", chosen);
            Trainer.Outputs outputs = new Trainer.Outputs(out.resolve(data.name()).resolve(name + ".safetensors"), runs.resolve(name));
            Trainer.Base base = new Trainer.Base(model, tokenizer, modelOptions.id(), LearnedConcepts.baseModelHash(folder));
            Trainer trainer = resume != null
                    ? Trainer.resume(base, data, templates, outputs, epochs)
                    : Trainer.start(base, data, templates, new Trainer.Settings(chosen, tokens, epochs != null ? epochs : 10, batchSize,
                    examplesNum, musicLen, lr, lrStepEpochs, lrGamma, gradAmplify, entropyAlpha, orthoAlpha, crAlpha, crMargin,
                    shuffleTokens, initWord, seed), outputs);
            System.err.printf(Locale.ROOT, "run %s: %s on %s, concepts %s x %d tokens, %d train / %d valid fragments%n", name,
                    modelOptions.model, modelOptions.compute(), trainer.settings().concepts(), trainer.settings().tokens(),
                    data.train().size(), data.valid().size());
            try (ClapEmbedder embedder = evaluation(trainer, folder, tokenizer, model, data.name(), templates.valid(), outputs)) {
                runStoppable(trainer);
            }
            System.out.println(outputs.conceptsFile());
            if (Files.exists(Trainer.bestFile(outputs.conceptsFile()))) System.out.println(Trainer.bestFile(outputs.conceptsFile()));
        }
        return 0;
    }

    /**
     * --resume continues with what the run stored: its base model and dataset unless given, its settings always
     * (given ones are refused rather than dropped), and refuses to do nothing silently when its epochs are done.
     */
    private void fillFromRun() {
        Trainer.RunInfo saved = Trainer.describe(runs.resolve(resume));
        if (run != null && !run.equals(resume)) {
            throw new BadInputException("--run " + run + " with --resume " + resume + ": give one run name");
        }
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
        int target = epochs != null ? epochs : saved.settings().epochs();
        if (saved.epochsDone() >= target) {
            throw new BadInputException("run " + resume + " finished " + saved.epochsDone() + "/" + target + " epochs; pass --epochs "
                    + (saved.epochsDone() + 1) + " or more to continue");
        }
        if (!spec.commandLine().getParseResult().hasMatchedOption("--model") && saved.baseModel() != null) modelOptions.model = saved.baseModel();
        if (dataset == null) {
            if (saved.dataset() == null) throw new BadInputException("--resume " + resume + ": the run does not record its dataset; pass --dataset DIR");
            dataset = Path.of(saved.dataset());
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

    /** Turns on evaluation during training when --eval-every (or the resumed run's) asks for it; the embedder to close, or null. */
    private ClapEmbedder evaluation(Trainer trainer, ModelFolder folder, PromptTokenizer tokenizer, MusicGen model, String datasetName,
                                    List<String> validTemplates, Trainer.Outputs outputs) {
        Map<String, String> stored = trainer.storedEvalConfig();
        int every = evalEvery != null ? evalEvery : Integer.parseInt(stored.getOrDefault("every", "0"));
        if (every < 0) throw new BadInputException("--eval-every " + every + ": must be 0 (off) or more");
        if (every == 0) return null;
        int clips = evalClips != null ? evalClips : Integer.parseInt(stored.getOrDefault("clips", "4"));
        PreparedDataset prepared = PreparedDataset.open(dataset);
        double seconds = evalDuration != null ? evalDuration
                : stored.containsKey("duration") ? Double.parseDouble(stored.get("duration")) : prepared.info().fragmentSeconds();
        String described = descriptions != null ? descriptions : stored.get("descriptions");
        int stop = patience != null ? patience : Integer.parseInt(stored.getOrDefault("patience", "0"));
        String clapId = HubClient.canonicalId(clap != null ? clap : stored.getOrDefault("clap", ClapEmbedder.DEFAULT_CLAP));
        long seed = trainer.settings().seed();
        Generator.Settings g = Generator.Settings.fromGenerationConfig(folder.generationConfig(), seed);
        String cfg = evalCfg != null ? evalCfg.toString() : stored.get("cfg");
        if (cfg != null) g = new Generator.Settings(g.maxNewTokens(), Double.parseDouble(cfg), g.sample(), g.topK(), g.topP(), g.temperature(), g.seed());
        ConceptEvaluator.Settings settings = new ConceptEvaluator.Settings(clips, seconds, g, NearestNeighbours.DEFAULT_K, clips, false);
        Map<String, String> texts = ConceptDescriptions.choose(described, "--descriptions", prepared);
        ClapEmbedder embedder = ClapEmbedder.open(clapId, ClapWindows.SINGLE, Compute.choose(modelOptions.device, "f32"), cache, new ProgressBar());
        ConceptEvaluator evaluator = new ConceptEvaluator(model, tokenizer, embedder, prepared, validTemplates, settings, null,
                texts, System.err)
                        .onGenerationSteps(steps -> new StepProgress(System.err, steps));
        Map<String, String> config = new LinkedHashMap<>();
        config.put("every", Integer.toString(every));
        config.put("clips", Integer.toString(clips));
        config.put("duration", Double.toString(seconds));
        config.put("patience", Integer.toString(stop));
        config.put("clap", clapId);
        if (cfg != null) config.put("cfg", cfg);
        if (described != null) config.put("descriptions", described.equals(ConceptDescriptions.NONE) ? described : Path.of(described).toAbsolutePath().toString());
        trainer.evaluateWith(new Trainer.EvalSettings(every, stop, config, (concepts, epochsDone) -> {
            Path dir = outputs.runDir().resolve("eval").resolve(String.format(Locale.ROOT, "epoch-%03d", epochsDone));
            System.err.printf(Locale.ROOT, "%nevaluating after epoch %d: %d clip(s) of %.1f s per concept, CLAP %s%n", epochsDone, clips, seconds, clapId);
            List<ConceptEvaluator.ConceptResult> results = evaluator.evaluate(concepts, dir, Map.of());
            Map<String, Object> header = new LinkedHashMap<>();
            header.put("dataset", datasetName);
            header.put("epoch", epochsDone);
            header.put("clap", clapId);
            header.put("per_concept", clips);
            header.put("duration", seconds);
            header.put("seed", seed);
            ConceptEvaluator.write(dir, results, header);
            Map<String, Map<String, Double>> metrics = new LinkedHashMap<>();
            for (ConceptEvaluator.ConceptResult r : results) {
                ConceptEvaluator.SystemResult s = r.systems().get("musicgen-ti");
                Map<String, Double> m = new LinkedHashMap<>();
                m.put("fad", s.fad());
                m.put("kncc", s.kncc());
                m.put("knco", s.knco());
                if (Double.isFinite(s.clapScore())) m.put("clap_score", s.clapScore());
                metrics.put(r.concept(), m);
            }
            return metrics;
        }));
        return embedder;
    }

    /** Ctrl-C asks the trainer to stop after its current step and waits until it has saved. */
    private static void runStoppable(Trainer trainer) throws IOException {
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            trainer.requestStop();
            try {
                finished.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            trainer.run(new TrainProgress(System.err));
        } finally {
            finished.countDown();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running: it returns now that the trainer has saved
        }
    }

    /** A templates file ({@code option} names it in errors), or the copy of {@code configs/prompts/<bundled>} packed into the launcher. */
    static List<String> templates(Path file, String option, String bundled) throws IOException {
        if (file != null) return LineFiles.read(file, option);
        try (var in = TrainCommand.class.getResourceAsStream("/prompts/" + bundled)) {
            return LineFiles.lines(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    /** One progress line on stderr: epoch, step, loss and steps/s, redrawn at most ten times a second. */
    private static final class TrainProgress implements Trainer.Listener {
        private final java.io.PrintStream err;
        private final long start = System.nanoTime();
        private long steps;
        private long lastDraw;

        TrainProgress(java.io.PrintStream err) {
            this.err = err;
        }

        @Override
        public void onStep(Trainer.StepMetrics m, int stepInEpoch, int stepsInEpoch) {
            steps++;
            long now = System.nanoTime();
            if (stepInEpoch < stepsInEpoch && now - lastDraw < 100_000_000L) return;
            lastDraw = now;
            err.printf(Locale.ROOT, "\repoch %d step %d/%d (total %d) loss %.4f ce %.4f lr %.3g %.2f steps/s ", m.epoch(), stepInEpoch,
                    stepsInEpoch, m.step(), m.loss(), m.crossEntropy(), m.lr(), steps / ((now - start) / 1e9));
            err.flush();
        }

        @Override
        public void onEpoch(Trainer.EpochMetrics m) {
            err.printf(Locale.ROOT, "%nepoch %d done: train ce %.4f, valid ce %.4f%n", m.epoch(), m.trainCrossEntropy(), m.validCrossEntropy());
        }

        @Override
        public void onEval(int epochsDone, java.util.Map<String, java.util.Map<String, Double>> metrics, List<String> improved, int stale) {
            err.printf(Locale.ROOT, "evaluation after epoch %d: improved %s; %d evaluation(s) without improvement%n", epochsDone,
                    improved.isEmpty() ? "none" : improved, stale);
        }
    }
}
