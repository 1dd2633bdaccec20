package ai.musicgenti.train;

import ai.musicgenti.concepts.LearnedConcepts;
import ai.musicgenti.core.AtomicFiles;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Seeds;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.data.FiniteJson;
import ai.musicgenti.inversion.Adam;
import ai.musicgenti.inversion.CodebookLoss;
import ai.musicgenti.inversion.TextualInversion;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.concepts.ConceptPrompts;
import ai.musicgenti.text.PromptTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The textual-inversion training loop: learns the rows of new pseudo-tokens for each concept while MusicGen stays
 * frozen. Each step samples a batch (concepts round-robin), cuts a random window of codes from each fragment, builds
 * a prompt from a random template, and takes one Adam step on the learned rows. After every epoch it validates, then
 * writes the concepts file and a checkpoint from which {@link #resume} continues exactly.
 *
 * <p>Randomness is a pure function of the seed and the position in training: the epoch's plan comes from
 * {@code (seed, epoch)}, each step's windows, templates and token order from {@code (seed, step)}. A checkpoint
 * therefore needs no serialised generator state, and resuming mid-epoch replays the same plan from where it stopped.
 *
 * <p>This class keeps the loop; its parts are {@link EpochPlan} (which fragments each step trains on),
 * {@link Checkpoint} (the state a resume continues from), {@link BestRows} (each concept's lowest-FAD rows while it
 * evaluates) and {@link MetricsLog} ({@code metrics.jsonl}).
 */
public final class Trainer {
    private static final ObjectMapper JSON = FiniteJson.mapper();
    private static final String CONFIG = "config.json";
    private static final double INIT_SIGMA = 0.1;

    /**
     * Every knob of a run; stored in the checkpoint so a resumed run continues with the same ones. The constants are
     * the defaults of every front end; {@code concepts} empty means all of the dataset's.
     */
    public record Settings(List<String> concepts, int tokens, int epochs, int batchSize, int examplesNum, int musicLen,
                           double lr, int lrStepEpochs, double lrGamma, double gradAmplify, double entropyAlpha,
                           double orthoAlpha, double crAlpha, double crMargin, boolean shuffleTokens, String initWord,
                           long seed) {
        public static final int TOKENS = 10;
        public static final int EPOCHS = 10;
        public static final int BATCH_SIZE = 4;
        public static final int EXAMPLES_NUM = 0;
        public static final int MUSIC_LEN = 250;
        public static final double LR = 0.1;
        public static final int LR_STEP_EPOCHS = 0;
        public static final double LR_GAMMA = 0.5;
        public static final double GRAD_AMPLIFY = 10;
        public static final double ENTROPY_ALPHA = 1.0;
        public static final double ORTHO_ALPHA = 0.01;
        public static final double CR_ALPHA = 0.1;
        public static final double CR_MARGIN = 1.5;
        public static final long SEED = 0;

        public Settings {
            concepts = List.copyOf(concepts);
            if (tokens < 1) throw new BadInputException("--tokens " + tokens + ": must be at least 1");
            if (epochs < 1) throw new BadInputException("--epochs " + epochs + ": must be at least 1");
            if (batchSize < 1) throw new BadInputException("--batch-size " + batchSize + ": must be at least 1");
            if (examplesNum < 0) throw new BadInputException("--examples-num " + examplesNum + ": must be 0 (all) or more");
            if (musicLen < 1) throw new BadInputException("--music-len " + musicLen + ": must be at least 1 frame");
            if (!(lr > 0)) throw new BadInputException("--lr " + lr + ": must be positive");
            if (lrStepEpochs < 0) throw new BadInputException("--lr-step-epochs " + lrStepEpochs + ": must be 0 (constant) or more");
        }

        public static Builder builder() {
            return new Builder();
        }

        public Builder toBuilder() {
            return new Builder().concepts(concepts).tokens(tokens).epochs(epochs).batchSize(batchSize).examplesNum(examplesNum)
                    .musicLen(musicLen).lr(lr).lrStepEpochs(lrStepEpochs).lrGamma(lrGamma).gradAmplify(gradAmplify)
                    .entropyAlpha(entropyAlpha).orthoAlpha(orthoAlpha).crAlpha(crAlpha).crMargin(crMargin)
                    .shuffleTokens(shuffleTokens).initWord(initWord).seed(seed);
        }

        public Settings withEpochs(int epochs) {
            return toBuilder().epochs(epochs).build();
        }

        public Settings withConcepts(List<String> concepts) {
            return toBuilder().concepts(concepts).build();
        }

        /** The step schedule: the rate falls by {@code lrGamma} every {@code lrStepEpochs} epochs (0 = never). */
        public double lrAt(int epoch) {
            return lrStepEpochs == 0 ? lr : lr * Math.pow(lrGamma, epoch / lrStepEpochs);
        }

        TextualInversion.Alphas alphas() {
            return new TextualInversion.Alphas(entropyAlpha, orthoAlpha, crAlpha, crMargin);
        }

        /** Starts from the defaults (all concepts). */
        public static final class Builder {
            private List<String> concepts = List.of();
            private int tokens = TOKENS;
            private int epochs = EPOCHS;
            private int batchSize = BATCH_SIZE;
            private int examplesNum = EXAMPLES_NUM;
            private int musicLen = MUSIC_LEN;
            private double lr = LR;
            private int lrStepEpochs = LR_STEP_EPOCHS;
            private double lrGamma = LR_GAMMA;
            private double gradAmplify = GRAD_AMPLIFY;
            private double entropyAlpha = ENTROPY_ALPHA;
            private double orthoAlpha = ORTHO_ALPHA;
            private double crAlpha = CR_ALPHA;
            private double crMargin = CR_MARGIN;
            private boolean shuffleTokens;
            private String initWord;
            private long seed = SEED;

            public Builder concepts(List<String> v) { concepts = v; return this; }
            public Builder tokens(int v) { tokens = v; return this; }
            public Builder epochs(int v) { epochs = v; return this; }
            public Builder batchSize(int v) { batchSize = v; return this; }
            public Builder examplesNum(int v) { examplesNum = v; return this; }
            public Builder musicLen(int v) { musicLen = v; return this; }
            public Builder lr(double v) { lr = v; return this; }
            public Builder lrStepEpochs(int v) { lrStepEpochs = v; return this; }
            public Builder lrGamma(double v) { lrGamma = v; return this; }
            public Builder gradAmplify(double v) { gradAmplify = v; return this; }
            public Builder entropyAlpha(double v) { entropyAlpha = v; return this; }
            public Builder orthoAlpha(double v) { orthoAlpha = v; return this; }
            public Builder crAlpha(double v) { crAlpha = v; return this; }
            public Builder crMargin(double v) { crMargin = v; return this; }
            public Builder shuffleTokens(boolean v) { shuffleTokens = v; return this; }
            public Builder initWord(String v) { initWord = v; return this; }
            public Builder seed(long v) { seed = v; return this; }

            public Settings build() {
                return new Settings(concepts, tokens, epochs, batchSize, examplesNum, musicLen, lr, lrStepEpochs, lrGamma, gradAmplify,
                        entropyAlpha, orthoAlpha, crAlpha, crMargin, shuffleTokens, initWord, seed);
            }
        }
    }

    /** The frozen base: the model, its tokenizer, its id as the user named it, and {@link LearnedConcepts#baseModelHash}. */
    public record Base(MusicGen model, PromptTokenizer tokenizer, String id, String hash) {
        /** Where and in which dtype the model computes (its decoder's, which T5 shares). */
        public Compute compute() {
            return model.decoder().compute();
        }
    }

    /** Prompt templates, one {@code %s} each for the concept. */
    public record Templates(List<String> train, List<String> valid) {
        public Templates {
            for (String t : train) ConceptPrompts.requireSlot(t, "prompt template");
            for (String t : valid) ConceptPrompts.requireSlot(t, "prompt template");
            if (train.isEmpty() || valid.isEmpty()) throw new BadInputException("prompt templates: need at least one for training and one for validation");
        }
    }

    /** Where a run writes: the concepts file and the run folder (checkpoint, metrics.jsonl). */
    public record Outputs(Path conceptsFile, Path runDir) {
    }

    /**
     * {@code epoch} here and in {@link EpochMetrics}: the epoch's number counted from 1, as everywhere a user sees one.
     * {@code conceptCrossEntropy}: per concept in the batch, the cross-entropy of its rows alone.
     */
    public record StepMetrics(long step, int epoch, double loss, double crossEntropy, Map<String, Double> conceptCrossEntropy,
                              double orthogonality, double margin, double lr) {
    }

    /** {@code secondsLeft}: the steps still to train at this session's mean step time (validation and evaluation not counted). */
    public record EpochMetrics(int epoch, long step, double trainCrossEntropy, double validCrossEntropy, double secondsLeft) {
    }

    /**
     * Evaluation during training: scores the given concepts (rows as they are after an epoch), FAD per concept under
     * {@code "fad"} (lower is better) plus any other metrics, per concept.
     */
    @FunctionalInterface
    public interface Evaluation {
        Map<String, Map<String, Double>> evaluate(LearnedConcepts concepts, int epochsDone) throws IOException;
    }

    /**
     * Evaluate after every {@code every}-th epoch; stop when no concept's FAD improved for {@code patience}
     * evaluations (0 = never stop early). {@code config} is stored in the checkpoint, for the launcher to resume with.
     */
    public record EvalSettings(int every, int patience, Map<String, String> config, Evaluation evaluation) {
        public EvalSettings {
            if (every < 1) throw new BadInputException("--eval-every " + every + ": must be at least 1 to evaluate");
            if (patience < 0) throw new BadInputException("--patience " + patience + ": must be 0 (off) or more");
            config = Map.copyOf(config);
        }
    }

    public interface Listener {
        default void onStep(StepMetrics metrics, int stepInEpoch, int stepsInEpoch) {
        }

        default void onEpoch(EpochMetrics metrics) {
        }

        /** After an evaluation: per concept its metrics, the concepts that improved, and evaluations since any did. */
        default void onEval(int epochsDone, Map<String, Map<String, Double>> metrics, List<String> improved, int stale) {
        }
    }

    private final Base base;
    private final TrainingData data;
    private final Templates templates;
    private final Settings settings;
    private final Outputs outputs;
    private final MetricsLog log;
    private final Checkpoint checkpoint;
    private final ConceptPrompts prompts;
    private final Tensor learned;
    private final Adam adam;
    private int epoch;
    private int stepInEpoch;
    private long step;
    private double epochCeSum;
    private int epochCeCount;
    private EpochMetrics lastEpoch;
    private volatile boolean stopRequested;
    /** A new run, whose folder {@link #run} makes: a run refused while it is being set up leaves nothing behind. */
    private boolean fresh;
    private EvalSettings eval;
    private Map<String, String> storedEvalConfig = Map.of();
    private BestRows best = new BestRows();

    private Trainer(Base base, TrainingData data, Templates templates, Settings settings, Outputs outputs, Tensor learned, Adam adam) {
        this.base = base;
        this.data = data;
        this.templates = templates;
        this.settings = settings;
        this.outputs = outputs;
        this.log = new MetricsLog(outputs.runDir(), java.time.Clock.systemUTC());
        this.checkpoint = new Checkpoint(outputs, base, data.location(), base.compute().dtypeName());
        if (settings.concepts().isEmpty()) throw new BadInputException("--concepts: name at least one concept");
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (String c : settings.concepts()) {
            if (!data.concepts().contains(c)) {
                throw new BadInputException("--concepts " + c + ": not in dataset " + data.name() + " (it has " + data.concepts() + ")");
            }
            if (data.train().stream().noneMatch(e -> e.concept().equals(c))) {
                throw new BadInputException("concept " + c + ": dataset " + data.name() + " has no training fragments for it");
            }
            counts.put(c, settings.tokens());
        }
        this.prompts = new ConceptPrompts(base.tokenizer(), counts);
        // before any step, not when the first batch happens to draw the template
        for (String t : templates.train()) prompts.requireKnown(t, "training prompt template '" + t + "'");
        for (String t : templates.valid()) prompts.requireKnown(t, "validation prompt template '" + t + "'");
        this.learned = learned;
        this.adam = adam;
    }

    /** A new run; its run folder must not hold a checkpoint yet. Call outside any PointerScope. */
    public static Trainer start(Base base, TrainingData data, Templates templates, Settings settings, Outputs outputs) {
        if (Checkpoint.exists(outputs.runDir())) {
            throw new BadInputException("run folder " + outputs.runDir() + " already holds a run: continue it with --resume, or choose another --run");
        }
        int rows = settings.concepts().size() * settings.tokens();
        Tensor learned = settings.initWord() == null
                ? TextualInversion.initFromMean(base.model(), rows, INIT_SIGMA, settings.seed())
                : TextualInversion.initFromWord(base.model(), base.tokenizer(), settings.initWord(), rows, INIT_SIGMA, settings.seed());
        Trainer t = new Trainer(base, data, templates, settings, outputs, learned, Adam.standard(learned));
        t.fresh = true;
        return t;
    }

    /**
     * What a run's checkpoint says about it, from the file's header alone: the base model and dataset it was
     * trained on (the dataset null in checkpoints from before it was recorded), the epochs it has finished, its
     * settings and the dtype it computed in ({@link ai.musicgenti.core.Compute#dtypeName}; null in checkpoints from
     * before it was recorded). A launcher resumes from these without being told them again.
     */
    public record RunInfo(String baseModel, String dataset, int epochsDone, Settings settings, String dtype) {
    }

    public static RunInfo describe(Path runDir) {
        return Checkpoint.describe(runDir);
    }

    /**
     * Continues the run in {@code outputs.runDir()} from its checkpoint with the settings it was started with;
     * {@code epochs}, when not null, replaces the number of epochs (to train further). Call outside any PointerScope.
     */
    public static Trainer resume(Base base, TrainingData data, Templates templates, Outputs outputs, Integer epochs) {
        Checkpoint.Loaded saved = Checkpoint.load(outputs.runDir(), base);
        Settings settings = saved.settings();
        if (epochs != null) settings = settings.withEpochs(epochs);
        Tensor learned = saved.learned(base.compute().device());
        Trainer t = new Trainer(base, data, templates, settings, outputs, learned, saved.adam(learned));
        Checkpoint.Position at = saved.position();
        t.epoch = at.epoch();
        t.stepInEpoch = at.stepInEpoch();
        t.step = at.step();
        t.epochCeSum = at.epochCeSum();
        t.epochCeCount = at.epochCeCount();
        t.storedEvalConfig = saved.evalConfig();
        t.best = saved.best(learned.device());
        t.log.dropAfter(t.step);
        return t;
    }

    /** Asks the loop to stop after the current step; it saves before {@link #run} returns. Safe from any thread. */
    public void requestStop() {
        stopRequested = true;
    }

    public Settings settings() {
        return settings;
    }

    /** Turns evaluation during training on (before {@link #run}). */
    public void evaluateWith(EvalSettings settings) {
        this.eval = settings;
    }

    /** The evaluation settings a resumed run was last saved with (empty when it did not evaluate). */
    public Map<String, String> storedEvalConfig() {
        return storedEvalConfig;
    }

    /** Epochs finished so far. */
    public int epoch() {
        return epoch;
    }

    /** {@code <run>.best.safetensors} beside the concepts file: per concept the rows of its lowest-FAD epoch. */
    public static Path bestFile(Path conceptsFile) {
        return BestRows.file(conceptsFile);
    }

    /** The learned rows [concepts·tokens, d_model] F32, concepts in {@link Settings#concepts()} order. */
    public Tensor learned() {
        return learned;
    }

    public long step() {
        return step;
    }

    /** Trains until the last epoch ends or a stop is requested; either way everything is saved. */
    public void run(Listener listener) throws IOException {
        if (fresh) {
            log.clear();
            fresh = false;
        }
        writeConfig();
        long sessionStart = System.nanoTime();
        long sessionSteps = 0;
        // a run killed mid-save leaves temporary files beside whole ones; other runs may share the concepts folder
        AtomicFiles.deleteLeftovers(outputs.runDir());
        AtomicFiles.deleteLeftoversOf(outputs.conceptsFile());
        AtomicFiles.deleteLeftoversOf(bestFile(outputs.conceptsFile()));
        while (epoch < settings.epochs()) {
            List<List<TrainingData.Example>> plan = EpochPlan.batches(settings, data, epoch);
            for (; stepInEpoch < plan.size(); stepInEpoch++) {
                if (stopRequested) {
                    save(null);
                    return;
                }
                StepMetrics m = trainStep(plan.get(stepInEpoch));
                sessionSteps++;
                epochCeSum += m.crossEntropy();
                epochCeCount++;
                log.append(Map.of("type", "step", "step", m.step(), "epoch", m.epoch(), "loss", m.loss(), "ce", m.crossEntropy(),
                        "concept_ce", new java.util.TreeMap<>(m.conceptCrossEntropy()), "ortho", m.orthogonality(), "margin", m.margin(), "lr", m.lr()));
                listener.onStep(m, stepInEpoch + 1, plan.size());
            }
            double validCe = validationCrossEntropy();
            double secondsPerStep = sessionSteps == 0 ? Double.NaN : (System.nanoTime() - sessionStart) / 1e9 / sessionSteps;
            lastEpoch = new EpochMetrics(epoch + 1, step, epochCeSum / Math.max(1, epochCeCount), validCe,
                    (long) (settings.epochs() - epoch - 1) * plan.size() * secondsPerStep);
            Map<String, Object> line = new LinkedHashMap<>(epochLine(lastEpoch));
            if (Double.isFinite(lastEpoch.secondsLeft())) line.put("seconds_left", lastEpoch.secondsLeft());
            log.append(line);
            listener.onEpoch(lastEpoch);
            epoch++;
            stepInEpoch = 0;
            epochCeSum = 0;
            epochCeCount = 0;
            boolean stop = eval != null && epoch % eval.every() == 0 && evaluate(listener);
            save(lastEpoch);
            if (stop) return;
        }
    }

    /** Evaluates the rows as they are, keeps each concept's best rows; true when training should stop early. */
    private boolean evaluate(Listener listener) throws IOException {
        LearnedConcepts current = LearnedConcepts.of(prompts.concepts(), learned,
                new LearnedConcepts.Info(base.id(), base.hash(), epoch, step, "{}"));
        Map<String, Map<String, Double>> metrics = eval.evaluation().evaluate(current, epoch);
        List<String> improved = best.update(prompts.concepts(), learned, metrics, epoch);
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("type", "eval");
        line.put("epoch", epoch);
        line.put("step", step);
        line.put("concepts", new java.util.TreeMap<>(metrics));
        line.put("improved", improved);
        line.put("best_fad", new java.util.TreeMap<>(best.fad()));
        line.put("stale", best.stale());
        // the settings that produced the numbers (CLAP checkpoint, windowing), as the checkpoint stores them
        line.put("eval_config", new java.util.TreeMap<>(eval.config()));
        log.append(line);
        if (!improved.isEmpty()) best.save(outputs.conceptsFile(), prompts.concepts(), base, epoch, step);
        listener.onEval(epoch, metrics, improved, best.stale());
        return eval.patience() > 0 && best.stale() >= eval.patience();
    }

    private StepMetrics trainStep(List<TrainingData.Example> batch) {
        SplittableRandom random = new SplittableRandom(Seeds.derive(settings.seed(), step));
        double lr = settings.lrAt(epoch);
        // the backward runs on this thread too, in the same phase
        try (PointerScope scope = new PointerScope(); CpuThreads.Phase threads = CpuThreads.forSequences(base.compute())) {
            List<String> texts = new ArrayList<>();
            for (TrainingData.Example e : batch) {
                texts.add(ConceptPrompts.fill(templates.train().get(random.nextInt(templates.train().size())), e.concept()));
            }
            Windows w = windows(batch, random);
            ConceptPrompts.Batch tokens = prompts.batch(texts, settings.shuffleTokens() ? random : null);
            TextualInversion.Terms terms = TextualInversion.loss(base.model(), learned, tokens, w.codes(), w.padding(),
                    present(batch), settings.alphas());
            terms.total().backward();
            adam.step(lr, settings.gradAmplify());
            step++;
            return new StepMetrics(step, epoch + 1, terms.total().item_double(), terms.crossEntropy().item_double(),
                    conceptCrossEntropy(batch, terms.codebook()), terms.orthogonality().item_double(), terms.margin().item_double(), lr);
        }
    }

    /** Each concept's own cross-entropy over its rows of the batch, in {@link Settings#concepts()} order. */
    private Map<String, Double> conceptCrossEntropy(List<TrainingData.Example> batch, CodebookLoss.Result ce) {
        float[] sums = Tensors.toFloats(ce.rowNllSum()), counts = Tensors.toFloats(ce.rowCount());
        int k = (int) ce.rowNllSum().size(1);
        Map<String, Double> out = new LinkedHashMap<>();
        for (String c : settings.concepts()) {
            List<Integer> rows = new ArrayList<>();
            for (int b = 0; b < batch.size(); b++) if (batch.get(b).concept().equals(c)) rows.add(b);
            if (!rows.isEmpty()) out.put(c, CodebookLoss.Result.lossOf(sums, counts, k, rows));
        }
        return out;
    }

    private List<ConceptPrompts.Concept> present(List<TrainingData.Example> batch) {
        return prompts.concepts().stream().filter(c -> batch.stream().anyMatch(e -> e.concept().equals(c.name()))).toList();
    }

    /** codes [B,K,T] and padding [B,T] (null when every frame is real). */
    private record Windows(Tensor codes, Tensor padding) {
    }

    /**
     * One window per fragment, never beyond its end: {@code musicLen} frames at a random start (random == null: at
     * the start, for validation), or the whole fragment when it is shorter, right-padded with the padding masked.
     */
    private Windows windows(List<TrainingData.Example> batch, SplittableRandom random) {
        int k = (int) batch.get(0).codes().size(0);
        int frames = (int) Math.min(settings.musicLen(), batch.stream().mapToLong(e -> e.codes().size(1)).max().orElseThrow());
        long[] codes = new long[batch.size() * k * frames];
        long[] real = new long[batch.size() * frames];
        boolean padded = false;
        for (int b = 0; b < batch.size(); b++) {
            Tensor c = batch.get(b).codes();
            int length = (int) Math.min(frames, c.size(1));
            int start = random == null || c.size(1) <= length ? 0 : random.nextInt((int) c.size(1) - length + 1);
            long[] window = Tensors.toLongs(c.narrow(1, start, length));
            for (int q = 0; q < k; q++) System.arraycopy(window, q * length, codes, (b * k + q) * frames, length);
            java.util.Arrays.fill(real, b * frames, b * frames + length, 1L);
            padded |= length < frames;
        }
        return new Windows(Tensors.longs(codes, batch.size(), k, frames), padded ? Tensors.longs(real, batch.size(), frames) : null);
    }

    /**
     * Mean codebook cross-entropy over the validation fragments (NaN without any), each at its first window with
     * a fixed template, so epochs compare on identical inputs.
     */
    public double validationCrossEntropy() {
        List<TrainingData.Example> valid = data.valid().stream().filter(e -> settings.concepts().contains(e.concept())).toList();
        if (valid.isEmpty()) return Double.NaN;
        double sum = 0;
        NoGradGuard noGrad = new NoGradGuard();
        try {
            for (int i = 0; i < valid.size(); i += settings.batchSize()) {
                List<TrainingData.Example> batch = valid.subList(i, Math.min(valid.size(), i + settings.batchSize()));
                try (PointerScope scope = new PointerScope()) {
                    List<String> texts = new ArrayList<>();
                    for (int j = 0; j < batch.size(); j++) {
                        texts.add(ConceptPrompts.fill(templates.valid().get((i + j) % templates.valid().size()), batch.get(j).concept()));
                    }
                    Windows w = windows(batch, null);
                    sum += batch.size() * TextualInversion.crossEntropy(base.model(), learned, prompts.batch(texts, null),
                            w.codes(), w.padding()).loss().item_double();
                }
            }
        } finally {
            noGrad.close();
        }
        return sum / valid.size();
    }

    private static Map<String, Object> epochLine(EpochMetrics m) {
        return Map.of("type", "epoch", "epoch", m.epoch(), "step", m.step(), "train_ce", m.trainCrossEntropy(), "valid_ce", m.validCrossEntropy());
    }

    /**
     * {@code config.json} in the run folder: the run's settings, base model, dataset, files and evaluation settings,
     * readable without opening the checkpoint; rewritten whenever the run (re)starts, since a resume may add epochs.
     */
    private void writeConfig() throws IOException {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("run", outputs.runDir().getFileName().toString());
        config.put("base_model", base.id());
        config.put("base_model_hash", base.hash());
        config.put("dataset", data.location());
        config.put("dtype", base.compute().dtypeName());
        config.put("concepts_file", outputs.conceptsFile().toAbsolutePath().normalize().toString());
        config.put("settings", settings);
        Map<String, String> evalConfig = eval != null ? eval.config() : storedEvalConfig;
        config.put("eval", evalConfig.isEmpty() ? null : new java.util.TreeMap<>(evalConfig));
        Files.createDirectories(outputs.runDir());
        AtomicFiles.writeBytes(outputs.runDir().resolve(CONFIG), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(config));
    }

    /** {@code config.json} of a run folder. */
    public static Path configFile(Path runDir) {
        return runDir.resolve(CONFIG);
    }

    /** The concepts file (with the metrics of the last finished epoch), then the checkpoint, each written atomically. */
    private void save(EpochMetrics metrics) throws IOException {
        EpochMetrics shown = metrics != null ? metrics : lastEpoch;
        String metricsJson = JSON.writeValueAsString(shown == null ? Map.of() : new java.util.TreeMap<>(epochLine(shown)));
        LearnedConcepts.save(outputs.conceptsFile(), prompts.concepts(), learned,
                new LearnedConcepts.Info(base.id(), base.hash(), epoch, step, metricsJson));
        Map<String, String> evalConfig = eval != null ? eval.config() : storedEvalConfig;
        checkpoint.save(settings, new Checkpoint.Position(epoch, stepInEpoch, step, epochCeSum, epochCeCount), learned, adam, evalConfig, best);
    }

}
