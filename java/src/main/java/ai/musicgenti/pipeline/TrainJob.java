package ai.musicgenti.pipeline;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.CpuFeatures;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.data.ConceptDescriptions;
import ai.musicgenti.data.PreparedDataset;
import ai.musicgenti.eval.ClapEmbedder;
import ai.musicgenti.eval.ClapWindows;
import ai.musicgenti.eval.ConceptEvaluator;
import ai.musicgenti.metrics.NearestNeighbours;
import ai.musicgenti.generation.CodeSampler;
import ai.musicgenti.hub.HubClient;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.text.PromptTokenizer;
import ai.musicgenti.concepts.LearnedConcepts;
import ai.musicgenti.train.PreparedTrainingData;
import ai.musicgenti.train.Trainer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A textual-inversion run: a new one, or one resumed from its checkpoint with the settings it was started with, with
 * evaluation during training when asked. Writes {@code <out>/<dataset>/<run>.safetensors} and {@code <runs>/<run>/}.
 */
public final class TrainJob {
    public static final String OUT = "models";
    public static final String RUNS = "runs";
    public static final int EVAL_EVERY = 0;
    public static final int EVAL_CLIPS = 4;
    public static final int PATIENCE = 0;

    /**
     * Evaluation during training; a null field takes the resumed run's own setting, else the default.
     *
     * @param every        evaluate after every k-th epoch; 0 = off
     * @param clips        clips generated per concept for each evaluation
     * @param duration     seconds per clip; null = the dataset's fragment length
     * @param cfg          classifier-free guidance of the clips; null = the model's generation_config.json
     * @param descriptions a metadata_concepts.json for the CLAP score, "none", or null for the dataset's own
     * @param patience     stop when no concept's FAD improved for this many evaluations; 0 = never
     * @param clap         CLAP checkpoint: hub id or local folder
     * @param windows      CLAP windowing (fadtk or single); a resumed run keeps its own
     * @param cache        embedding cache folder; null = the default
     */
    public record Evaluation(Integer every, Integer clips, Double duration, Double cfg, String descriptions, Integer patience, String clap,
                             String windows, Path cache) {
        public static Evaluation runsOwn() {
            return new Evaluation(null, null, null, null, null, null, null, null, null);
        }

        public Evaluation withEvery(Integer every) {
            return new Evaluation(every, clips, duration, cfg, descriptions, patience, clap, windows, cache);
        }

        public Evaluation withClips(Integer clips) {
            return new Evaluation(every, clips, duration, cfg, descriptions, patience, clap, windows, cache);
        }

        public Evaluation withCfg(Double cfg) {
            return new Evaluation(every, clips, duration, cfg, descriptions, patience, clap, windows, cache);
        }

        public Evaluation withPatience(Integer patience) {
            return new Evaluation(every, clips, duration, cfg, descriptions, patience, clap, windows, cache);
        }
    }

    /**
     * @param model        the base model; its {@code model} null = the resumed run's own (else the default)
     * @param dataset      the prepared dataset; null on resume = the run's own
     * @param training     the run's settings (a new run only; concepts empty = all of the dataset's)
     * @param run          the run's name; null = the concepts joined by '-'
     * @param resume       the name of a run to continue, or null for a new run
     * @param epochs       on resume: the epochs to reach (to train further); null = the run's own
     * @param trainPrompts training templates; null = the bundled ones
     * @param validPrompts validation templates; null = the bundled ones
     */
    public record Settings(ModelChoice model, Path dataset, Trainer.Settings training, String run, String resume, Integer epochs,
                           Path out, Path runs, Path trainPrompts, Path validPrompts, Evaluation evaluation) {
        public static Builder builder() {
            return new Builder();
        }
    }

    /** Starts from the defaults of every front end. */
    public static final class Builder {
        private ModelChoice model = ModelChoice.defaults();
        private Path dataset;
        private Trainer.Settings training = Trainer.Settings.builder().build();
        private String run;
        private String resume;
        private Integer epochs;
        private Path out = Path.of(OUT);
        private Path runs = Path.of(RUNS);
        private Path trainPrompts;
        private Path validPrompts;
        private Evaluation evaluation = Evaluation.runsOwn();

        public Builder model(ModelChoice v) { model = v; return this; }
        public Builder dataset(Path v) { dataset = v; return this; }
        public Builder training(Trainer.Settings v) { training = v; return this; }
        public Builder run(String v) { run = v; return this; }
        public Builder resume(String v) { resume = v; return this; }
        public Builder epochs(Integer v) { epochs = v; return this; }
        public Builder out(Path v) { out = v; return this; }
        public Builder runs(Path v) { runs = v; return this; }
        public Builder trainPrompts(Path v) { trainPrompts = v; return this; }
        public Builder validPrompts(Path v) { validPrompts = v; return this; }
        public Builder evaluation(Evaluation v) { evaluation = v; return this; }

        public Settings build() {
            return new Settings(model, dataset, training, run, resume, epochs, out, runs, trainPrompts, validPrompts, evaluation);
        }
    }

    /**
     * @param bestFile  the best-FAD rows per concept, null when no evaluation improved any
     * @param cancelled stopped by the cancellation; the checkpoint lets {@link Settings#resume} continue exactly
     */
    public record Result(String run, Path conceptsFile, Path bestFile, Path runDir, int epochsDone, long steps, boolean cancelled) {
    }

    private final Settings s;

    public TrainJob(Settings settings) {
        this.s = settings;
    }

    /** What the checkpoint of {@code <runs>/<name>} says about the run (settings, epochs done, base model, dataset). */
    public static Trainer.RunInfo describe(Path runs, String name) {
        return Trainer.describe(runs.resolve(name));
    }

    /**
     * Cancelled between steps: saves the checkpoint and concepts file as after Ctrl-C and returns with
     * {@code cancelled}; an evaluation under way finishes first.
     */
    public Result run(JobListener listener, Cancellation cancellation) throws IOException {
        Path dataset = s.dataset();
        ModelChoice modelChoice = s.model();
        if (s.resume() != null) {
            Trainer.RunInfo saved = describe(s.runs(), s.resume());
            if (s.run() != null && !s.run().equals(s.resume())) {
                throw new BadInputException("--run " + s.run() + " with --resume " + s.resume() + ": give one run name");
            }
            int target = s.epochs() != null ? s.epochs() : saved.settings().epochs();
            if (saved.epochsDone() >= target) {
                throw new BadInputException("run " + s.resume() + " finished " + saved.epochsDone() + "/" + target + " epochs; pass --epochs "
                        + (saved.epochsDone() + 1) + " or more to continue");
            }
            if (modelChoice.model() == null) modelChoice = modelChoice.withModel(saved.baseModel() != null ? saved.baseModel() : ModelChoice.MODEL);
            modelChoice = inRunsDtype(modelChoice, saved, s.resume());
            if (dataset == null) {
                if (saved.dataset() == null) throw new BadInputException("--resume " + s.resume() + ": the run does not record its dataset; pass --dataset DIR");
                dataset = Path.of(saved.dataset());
            }
        } else if (dataset == null) {
            throw new BadInputException("--dataset: missing; give the folder prepare wrote (e.g. --dataset data/input/my-ds)");
        }
        if (modelChoice.model() == null) modelChoice = modelChoice.withModel(ModelChoice.MODEL);
        if (modelChoice.dtype() == null) modelChoice = modelChoice.withDtype(ModelChoice.DTYPE);
        Trainer.Templates templates = new Trainer.Templates(PromptTemplates.read(s.trainPrompts(), "--train-prompts", PromptTemplates.TRAIN),
                PromptTemplates.read(s.validPrompts(), "--valid-prompts", PromptTemplates.VALID));
        Path folderPath = modelChoice.folder(listener.downloads());
        try (ModelFolder folder = ModelFolder.open(folderPath); PromptTokenizer tokenizer = PromptTokenizer.load(folderPath)) {
            Compute compute = modelChoice.compute();
            compute.requireGradients();
            String slow = CpuFeatures.slowBf16(compute);
            if (slow != null) listener.on(new JobEvent.Log(slow + "\n"));
            MusicGen model = MusicGen.load(folder, compute);
            PreparedTrainingData data = PreparedTrainingData.open(dataset, model);
            List<String> chosen = s.training().concepts().isEmpty() ? data.concepts() : s.training().concepts();
            String name = s.resume() != null ? s.resume() : s.run() != null ? s.run() : String.join("-", chosen);
            Trainer.Outputs outputs = new Trainer.Outputs(s.out().resolve(data.name()).resolve(name + ".safetensors"), s.runs().resolve(name));
            Trainer.Base base = new Trainer.Base(model, tokenizer, modelChoice.id(), LearnedConcepts.baseModelHash(folder));
            Trainer trainer = s.resume() != null
                    ? Trainer.resume(base, data, templates, outputs, s.epochs())
                    : Trainer.start(base, data, templates, s.training().withConcepts(chosen), outputs);
            cancellation.onCancel(trainer::requestStop);
            try (ClapEmbedder embedder = evaluation(trainer, modelChoice, folder, tokenizer, model, dataset, data.name(), templates.valid(), outputs, listener)) {
                // the evaluation settings first: one refused (e.g. --windows on resume) is the only line shown
                listener.on(new JobEvent.Stage("train", String.format(Locale.ROOT, "run %s: %s on %s, concepts %s x %d tokens, %d train / %d valid fragments",
                    name, modelChoice.model(), compute, trainer.settings().concepts(), trainer.settings().tokens(), data.train().size(), data.valid().size())));
                trainer.run(new Events(listener));
            }
            Path best = Trainer.bestFile(outputs.conceptsFile());
            listener.on(new JobEvent.FileWritten(outputs.conceptsFile(), "concepts"));
            if (Files.exists(best)) listener.on(new JobEvent.FileWritten(best, "best"));
            return new Result(name, outputs.conceptsFile(), Files.exists(best) ? best : null, outputs.runDir(), trainer.epoch(), trainer.step(),
                    trainer.epoch() < trainer.settings().epochs() && cancellation.isCancelled());
        }
    }

    /**
     * A resumed run computes in the dtype it ran with, where it continues bit for bit: a dtype not given (null) is the
     * run's, and one given must be the same (checkpoints older than the record take what is given, or the default).
     */
    private static ModelChoice inRunsDtype(ModelChoice choice, Trainer.RunInfo saved, String run) {
        if (choice.dtype() == null) return saved.dtype() == null ? choice : choice.withDtype(saved.dtype());
        if (saved.dtype() == null) return choice;
        String given = Compute.choose(choice.device(), choice.dtype()).dtypeName();
        if (!given.equals(saved.dtype())) {
            throw new BadInputException("--dtype " + choice.dtype() + ": run " + run + " computes in " + saved.dtype()
                    + ", and continues exactly only in it; drop --dtype, or start a new run with --run NAME");
        }
        return choice;
    }

    /** Turns on evaluation during training when asked (or when the resumed run did); the embedder to close, or null. */
    private ClapEmbedder evaluation(Trainer trainer, ModelChoice modelChoice, ModelFolder folder, PromptTokenizer tokenizer, MusicGen model,
                                    Path dataset, String datasetName, List<String> validTemplates, Trainer.Outputs outputs,
                                    JobListener listener) {
        Evaluation e = s.evaluation();
        Map<String, String> stored = trainer.storedEvalConfig();
        int every = e.every() != null ? e.every() : Integer.parseInt(stored.getOrDefault("every", Integer.toString(EVAL_EVERY)));
        if (every < 0) throw new BadInputException("--eval-every " + every + ": must be 0 (off) or more");
        if (every == 0) return null;
        int clips = e.clips() != null ? e.clips() : Integer.parseInt(stored.getOrDefault("clips", Integer.toString(EVAL_CLIPS)));
        PreparedDataset prepared = PreparedDataset.open(dataset);
        double seconds = e.duration() != null ? e.duration()
                : stored.containsKey("duration") ? Double.parseDouble(stored.get("duration")) : prepared.info().fragmentSeconds();
        String described = e.descriptions() != null ? e.descriptions() : stored.get("descriptions");
        int stop = e.patience() != null ? e.patience() : Integer.parseInt(stored.getOrDefault("patience", Integer.toString(PATIENCE)));
        String clapId = HubClient.canonicalId(e.clap() != null ? e.clap() : stored.getOrDefault("clap", ClapEmbedder.DEFAULT_CLAP));
        long seed = trainer.settings().seed();
        CodeSampler.Settings sampling = CodeSampler.Settings.fromGenerationConfig(folder.generationConfig(), seed);
        // the seed's sweeps vary cfg_coef; a resumed run keeps the guidance its earlier evaluations used
        String cfg = e.cfg() != null ? e.cfg().toString() : stored.get("cfg");
        if (cfg != null) sampling = sampling.withGuidanceScale(Double.parseDouble(cfg));
        ConceptEvaluator.Settings settings = new ConceptEvaluator.Settings(clips, seconds, sampling, NearestNeighbours.DEFAULT_K, clips, false);
        Map<String, String> texts = ConceptDescriptions.choose(described, "--descriptions", prepared);
        ClapWindows clapWindows = evalWindows(e.windows(), stored);
        ClapEmbedder embedder = ClapEmbedder.open(clapId, clapWindows, Compute.choose(modelChoice.device(), "f32"), e.cache(), listener.downloads());
        PrintStream log = LogStream.to(listener);
        // no cancellation check inside: an evaluation is finished, so that the run saves a consistent state
        ConceptEvaluator evaluator = new ConceptEvaluator(model, tokenizer, embedder, prepared, validTemplates, settings, null, texts, log)
                .onGenerationSteps(steps -> GenerateJob.steps(listener, Cancellation.none(), steps));
        Map<String, String> config = new LinkedHashMap<>();
        config.put("every", Integer.toString(every));
        config.put("clips", Integer.toString(clips));
        config.put("duration", Double.toString(seconds));
        config.put("patience", Integer.toString(stop));
        config.put("clap", clapId);
        config.put("windows", clapWindows.id());
        if (cfg != null) config.put("cfg", cfg);
        // with the evaluation settings in every metrics line: which weights the FADs come from
        ClapEmbedder.Checkpoint checkpoint = embedder.checkpoint();
        if (checkpoint.weightsSha256() != null) config.put("clap_weights_sha256", checkpoint.weightsSha256());
        if (checkpoint.revision() != null) config.put("clap_revision", checkpoint.revision());
        if (described != null) config.put("descriptions", described.equals(ConceptDescriptions.NONE) ? described : Path.of(described).toAbsolutePath().toString());
        trainer.evaluateWith(new Trainer.EvalSettings(every, stop, config, (concepts, epochsDone) -> {
            Path dir = outputs.runDir().resolve("eval").resolve(String.format(Locale.ROOT, "epoch-%03d", epochsDone));
            listener.on(new JobEvent.Stage("evaluate", String.format(Locale.ROOT, "evaluating after epoch %d: %d clip(s) of %.1f s per concept, CLAP %s",
                    epochsDone, clips, seconds, clapId)));
            List<ConceptEvaluator.ConceptResult> results = evaluator.evaluate(concepts, dir, Map.of());
            Map<String, Object> header = new LinkedHashMap<>();
            header.put("dataset", datasetName);
            header.put("epoch", epochsDone);
            header.put("per_concept", clips);
            header.put("duration", seconds);
            header.put("seed", seed);
            evaluator.write(dir, results, header);
            listener.on(new JobEvent.FileWritten(dir.resolve("eval.json"), "eval"));
            Map<String, Map<String, Double>> metrics = new LinkedHashMap<>();
            for (ConceptEvaluator.ConceptResult r : results) {
                ConceptEvaluator.SystemResult sys = r.systems().get("musicgen-ti");
                Map<String, Double> m = new LinkedHashMap<>();
                m.put("fad", sys.fad());
                m.put("kncc", sys.kncc());
                m.put("knco", sys.knco());
                if (Double.isFinite(sys.clapScore())) m.put("clap_score", sys.clapScore());
                metrics.put(r.concept(), m);
            }
            return metrics;
        }));
        return embedder;
    }

    /**
     * The given windowing, else the resumed run's, else fadtk. A run keeps its windowing: its best FADs were measured
     * with it, and FADs of the other windowing are not comparable with them. Runs saved before the option used single.
     */
    private static ClapWindows evalWindows(String windows, Map<String, String> stored) {
        String own = stored.isEmpty() ? null : stored.getOrDefault("windows", ClapWindows.SINGLE.id());
        if (windows == null) return ClapWindows.parse(own != null ? own : ClapWindows.DEFAULT);
        ClapWindows given = ClapWindows.parse(windows);
        if (own != null && !given.id().equals(own)) {
            throw new BadInputException("--windows " + windows + ": the run measured its best FADs with " + own + " windows, which the other"
                    + " windowing cannot be compared with; drop --windows, or start a new run with --run NAME");
        }
        return given;
    }

    /** The trainer's callbacks as events, with the step rate of this session. */
    private static final class Events implements Trainer.Listener {
        private final JobListener listener;
        private final long start = System.nanoTime();
        private long steps;

        Events(JobListener listener) {
            this.listener = listener;
        }

        @Override
        public void onStep(Trainer.StepMetrics m, int stepInEpoch, int stepsInEpoch) {
            steps++;
            listener.on(new JobEvent.TrainStep(m, stepInEpoch, stepsInEpoch, steps / ((System.nanoTime() - start) / 1e9)));
        }

        @Override
        public void onEpoch(Trainer.EpochMetrics m) {
            listener.on(new JobEvent.EpochEnd(m));
        }

        @Override
        public void onEval(int epochsDone, Map<String, Map<String, Double>> metrics, List<String> improved, int stale) {
            listener.on(new JobEvent.EvalDone(epochsDone, metrics, improved, stale));
        }
    }
}
