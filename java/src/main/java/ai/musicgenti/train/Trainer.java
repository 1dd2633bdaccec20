package ai.musicgenti.train;

import ai.musicgenti.core.AtomicFiles;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.data.FiniteJson;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.text.ConceptPrompts;
import ai.musicgenti.text.PromptTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
 */
public final class Trainer {
    private static final ObjectMapper JSON = FiniteJson.mapper();
    private static final String CHECKPOINT = "checkpoint.safetensors";
    private static final String METRICS = "metrics.jsonl";
    private static final double INIT_SIGMA = 0.1;

    /** Every knob of a run; stored in the checkpoint so a resumed run continues with the same ones. */
    public record Settings(List<String> concepts, int tokens, int epochs, int batchSize, int examplesNum, int musicLen,
                           double lr, int lrStepEpochs, double lrGamma, double gradAmplify, double entropyAlpha,
                           double orthoAlpha, double crAlpha, double crMargin, boolean shuffleTokens, String initWord,
                           long seed) {
        public Settings {
            concepts = List.copyOf(concepts);
            if (concepts.isEmpty()) throw new BadInputException("--concepts: name at least one concept");
            if (tokens < 1) throw new BadInputException("--tokens " + tokens + ": must be at least 1");
            if (epochs < 1) throw new BadInputException("--epochs " + epochs + ": must be at least 1");
            if (batchSize < 1) throw new BadInputException("--batch-size " + batchSize + ": must be at least 1");
            if (examplesNum < 0) throw new BadInputException("--examples-num " + examplesNum + ": must be 0 (all) or more");
            if (musicLen < 1) throw new BadInputException("--music-len " + musicLen + ": must be at least 1 frame");
            if (!(lr > 0)) throw new BadInputException("--lr " + lr + ": must be positive");
            if (lrStepEpochs < 0) throw new BadInputException("--lr-step-epochs " + lrStepEpochs + ": must be 0 (constant) or more");
        }

        public Settings withEpochs(int epochs) {
            return new Settings(concepts, tokens, epochs, batchSize, examplesNum, musicLen, lr, lrStepEpochs, lrGamma,
                    gradAmplify, entropyAlpha, orthoAlpha, crAlpha, crMargin, shuffleTokens, initWord, seed);
        }

        /** The step schedule: the rate falls by {@code lrGamma} every {@code lrStepEpochs} epochs (0 = never). */
        public double lrAt(int epoch) {
            return lrStepEpochs == 0 ? lr : lr * Math.pow(lrGamma, epoch / lrStepEpochs);
        }

        TextualInversion.Alphas alphas() {
            return new TextualInversion.Alphas(entropyAlpha, orthoAlpha, crAlpha, crMargin);
        }
    }

    /** The frozen base: the model, its tokenizer, its id as the user named it, and {@link LearnedConcepts#baseModelHash}. */
    public record Base(MusicGen model, PromptTokenizer tokenizer, String id, String hash) {
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

    /** {@code epoch} here and in {@link EpochMetrics}: the epoch's number counted from 1, as everywhere a user sees one. */
    public record StepMetrics(long step, int epoch, double loss, double crossEntropy, double orthogonality, double margin, double lr) {
    }

    public record EpochMetrics(int epoch, long step, double trainCrossEntropy, double validCrossEntropy) {
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
    /** Best-per-concept state: its lowest FAD and the epoch of it, evaluations without improvement, the best rows. */
    private final Map<String, Double> bestFad = new LinkedHashMap<>();
    private final Map<String, Integer> bestEpoch = new LinkedHashMap<>();
    private int staleEvals;
    private Tensor best;

    private Trainer(Base base, TrainingData data, Templates templates, Settings settings, Outputs outputs, Tensor learned, Adam adam) {
        this.base = base;
        this.data = data;
        this.templates = templates;
        this.settings = settings;
        this.outputs = outputs;
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
        if (Files.exists(outputs.runDir().resolve(CHECKPOINT))) {
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
     * trained on (the dataset null in checkpoints from before it was recorded), the epochs it has finished and its
     * settings. A launcher resumes from these without being told them again.
     */
    public record RunInfo(String baseModel, String dataset, int epochsDone, Settings settings) {
    }

    public static RunInfo describe(Path runDir) {
        Path file = checkpoint(runDir);
        try (Safetensors st = Safetensors.open(file)) {
            Map<String, String> meta = st.metadata();
            return new RunInfo(meta.get("base_model"), meta.get("dataset"), Integer.parseInt(meta.get("epoch")), settings(file, meta));
        }
    }

    private static Path checkpoint(Path runDir) {
        Path file = runDir.resolve(CHECKPOINT);
        if (!Files.exists(file)) throw new BadInputException("--resume: " + file + " not found; start the run without --resume");
        return file;
    }

    private static Settings settings(Path file, Map<String, String> meta) {
        try {
            return JSON.readValue(meta.get("settings"), Settings.class);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new BadInputException(file + ": unreadable settings (" + e.getMessage() + "); the checkpoint is damaged");
        }
    }

    /**
     * Continues the run in {@code outputs.runDir()} from its checkpoint with the settings it was started with;
     * {@code epochs}, when not null, replaces the number of epochs (to train further). Call outside any PointerScope.
     */
    public static Trainer resume(Base base, TrainingData data, Templates templates, Outputs outputs, Integer epochs) {
        Path file = checkpoint(outputs.runDir());
        Safetensors.Contents checkpoint = Safetensors.load(file);
        Map<String, String> meta = checkpoint.metadata();
        Map<String, Tensor> tensors = checkpoint.tensors();
        if (!base.hash().equals(meta.get("base_model_hash"))) {
            throw new BadInputException("--resume: the run was trained on " + meta.get("base_model") + ", not on this model; use --model "
                    + meta.get("base_model"));
        }
        Settings settings = settings(file, meta);
        if (epochs != null) settings = settings.withEpochs(epochs);
        var device = base.model().decoder().compute().device();
        Tensor learned = tensors.get("learned").to(device, org.bytedeco.pytorch.global.torch.ScalarType.Float).requires_grad_(true);
        Adam adam = new Adam(learned, 0.9, 0.999, 1e-8, tensors.get("adam.m"), tensors.get("adam.v"), Long.parseLong(meta.get("adam_steps")));
        Trainer t = new Trainer(base, data, templates, settings, outputs, learned, adam);
        t.epoch = Integer.parseInt(meta.get("epoch"));
        t.stepInEpoch = Integer.parseInt(meta.get("step_in_epoch"));
        t.step = Long.parseLong(meta.get("step"));
        t.epochCeSum = Double.parseDouble(meta.get("epoch_ce_sum"));
        t.epochCeCount = Integer.parseInt(meta.get("epoch_ce_count"));
        t.restoreBest(meta, tensors.get("best"));
        t.dropMetricsAfter(t.step);
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
        return conceptsFile.resolveSibling(conceptsFile.getFileName().toString().replaceAll("\\.safetensors$", "") + ".best.safetensors");
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
            rewriteMetrics();
            fresh = false;
        }
        // a run killed mid-save leaves temporary files beside whole ones; other runs may share the concepts folder
        AtomicFiles.deleteLeftovers(outputs.runDir());
        AtomicFiles.deleteLeftoversOf(outputs.conceptsFile());
        AtomicFiles.deleteLeftoversOf(bestFile(outputs.conceptsFile()));
        while (epoch < settings.epochs()) {
            List<List<TrainingData.Example>> plan = plan(epoch);
            for (; stepInEpoch < plan.size(); stepInEpoch++) {
                if (stopRequested) {
                    save(null);
                    return;
                }
                StepMetrics m = trainStep(plan.get(stepInEpoch));
                epochCeSum += m.crossEntropy();
                epochCeCount++;
                appendMetrics(Map.of("type", "step", "step", m.step(), "epoch", m.epoch(), "loss", m.loss(), "ce", m.crossEntropy(),
                        "ortho", m.orthogonality(), "margin", m.margin(), "lr", m.lr()));
                listener.onStep(m, stepInEpoch + 1, plan.size());
            }
            lastEpoch = new EpochMetrics(epoch + 1, step, epochCeSum / Math.max(1, epochCeCount), validationCrossEntropy());
            appendMetrics(epochLine(lastEpoch));
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
        if (best == null) best = learned.detach().to(org.bytedeco.pytorch.global.torch.ScalarType.Float).clone();
        List<String> improved = new ArrayList<>();
        for (ConceptPrompts.Concept c : prompts.concepts()) {
            Double fad = metrics.getOrDefault(c.name(), Map.of()).get("fad");
            if (fad == null || !Double.isFinite(fad)) continue;
            Double before = bestFad.get(c.name());
            if (before == null || fad < before) {
                bestFad.put(c.name(), fad);
                bestEpoch.put(c.name(), epoch);
                best.narrow(0, c.firstRow(), c.tokens()).copy_(learned.detach().narrow(0, c.firstRow(), c.tokens()).to(org.bytedeco.pytorch.global.torch.ScalarType.Float));
                improved.add(c.name());
            }
        }
        staleEvals = improved.isEmpty() ? staleEvals + 1 : 0;
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("type", "eval");
        line.put("epoch", epoch);
        line.put("step", step);
        line.put("concepts", new java.util.TreeMap<>(metrics));
        line.put("improved", improved);
        line.put("best_fad", new java.util.TreeMap<>(bestFad));
        line.put("stale", staleEvals);
        // the settings that produced the numbers (CLAP checkpoint, windowing), as the checkpoint stores them
        line.put("eval_config", new java.util.TreeMap<>(eval.config()));
        appendMetrics(line);
        if (!improved.isEmpty()) {
            LearnedConcepts.save(bestFile(outputs.conceptsFile()), prompts.concepts(), best,
                    new LearnedConcepts.Info(base.id(), base.hash(), epoch, step, JSON.writeValueAsString(Map.of(
                            "best_fad", new java.util.TreeMap<>(bestFad), "best_epoch", new java.util.TreeMap<>(bestEpoch)))));
        }
        listener.onEval(epoch, metrics, improved, staleEvals);
        return eval.patience() > 0 && staleEvals >= eval.patience();
    }

    private void restoreBest(Map<String, String> meta, Tensor rows) {
        try {
            if (meta.containsKey("eval_config")) {
                storedEvalConfig = JSON.readValue(meta.get("eval_config"), new com.fasterxml.jackson.core.type.TypeReference<Map<String, String>>() { });
            }
            if (meta.containsKey("eval_best_fad")) {
                bestFad.putAll(JSON.readValue(meta.get("eval_best_fad"), new com.fasterxml.jackson.core.type.TypeReference<LinkedHashMap<String, Double>>() { }));
                bestEpoch.putAll(JSON.readValue(meta.get("eval_best_epoch"), new com.fasterxml.jackson.core.type.TypeReference<LinkedHashMap<String, Integer>>() { }));
                staleEvals = Integer.parseInt(meta.get("eval_stale"));
            }
        } catch (JsonProcessingException e) {
            throw new BadInputException("checkpoint: unreadable evaluation state (" + e.getOriginalMessage() + "); the checkpoint is damaged");
        }
        if (rows != null) best = rows.to(learned.device(), org.bytedeco.pytorch.global.torch.ScalarType.Float);
    }

    /**
     * The epoch's batches: per concept {@code examplesNum} fragments (0 = all it has), drawn from shuffled passes
     * over its fragments, interleaved round-robin across concepts so every batch mixes them.
     */
    private List<List<TrainingData.Example>> plan(int epochIndex) {
        SplittableRandom random = new SplittableRandom(settings.seed() ^ (0x5DEECE66DL * (epochIndex + 1)));
        List<List<TrainingData.Example>> perConcept = new ArrayList<>();
        for (String c : settings.concepts()) {
            List<TrainingData.Example> own = data.train().stream().filter(e -> e.concept().equals(c)).toList();
            int n = settings.examplesNum() > 0 ? settings.examplesNum() : own.size();
            List<TrainingData.Example> drawn = new ArrayList<>();
            while (drawn.size() < n) {
                List<TrainingData.Example> pass = new ArrayList<>(own);
                for (int i = pass.size() - 1; i > 0; i--) java.util.Collections.swap(pass, i, random.nextInt(i + 1));
                drawn.addAll(pass.subList(0, Math.min(pass.size(), n - drawn.size())));
            }
            perConcept.add(drawn);
        }
        List<TrainingData.Example> order = new ArrayList<>();
        for (int i = 0; order.size() < perConcept.stream().mapToInt(List::size).sum(); i++) {
            for (List<TrainingData.Example> own : perConcept) if (i < own.size()) order.add(own.get(i));
        }
        List<List<TrainingData.Example>> batches = new ArrayList<>();
        for (int i = 0; i < order.size(); i += settings.batchSize()) {
            batches.add(order.subList(i, Math.min(order.size(), i + settings.batchSize())));
        }
        return batches;
    }

    private StepMetrics trainStep(List<TrainingData.Example> batch) {
        SplittableRandom random = new SplittableRandom(settings.seed() + 0x9E3779B97F4A7C15L * (step + 1));
        double lr = settings.lrAt(epoch);
        try (PointerScope scope = new PointerScope()) {
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
                    terms.orthogonality().item_double(), terms.margin().item_double(), lr);
        }
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

    /** The concepts file (with the metrics of the last finished epoch), then the checkpoint, each written atomically. */
    private void save(EpochMetrics metrics) throws IOException {
        EpochMetrics shown = metrics != null ? metrics : lastEpoch;
        String metricsJson = JSON.writeValueAsString(shown == null ? Map.of() : new java.util.TreeMap<>(epochLine(shown)));
        LearnedConcepts.save(outputs.conceptsFile(), prompts.concepts(), learned,
                new LearnedConcepts.Info(base.id(), base.hash(), epoch, step, metricsJson));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("settings", JSON.writeValueAsString(settings));
        meta.put("epoch", Integer.toString(epoch));
        meta.put("step_in_epoch", Integer.toString(stepInEpoch));
        meta.put("step", Long.toString(step));
        meta.put("adam_steps", Long.toString(adam.steps()));
        meta.put("lr", Double.toString(settings.lrAt(epoch)));
        meta.put("epoch_ce_sum", Double.toString(epochCeSum));
        meta.put("epoch_ce_count", Integer.toString(epochCeCount));
        meta.put("rng", "derived: epoch plan from (seed, epoch), step draws from (seed, step)");
        meta.put("base_model", base.id());
        meta.put("base_model_hash", base.hash());
        meta.put("concepts_file", outputs.conceptsFile().toAbsolutePath().normalize().toString());
        if (data.location() != null) meta.put("dataset", data.location());
        Map<String, String> evalConfig = eval != null ? eval.config() : storedEvalConfig;
        if (!evalConfig.isEmpty()) meta.put("eval_config", JSON.writeValueAsString(new java.util.TreeMap<>(evalConfig)));
        Map<String, Tensor> tensors = new LinkedHashMap<>(Map.of("learned", learned, "adam.m", adam.m(), "adam.v", adam.v()));
        if (best != null) {
            meta.put("eval_best_fad", JSON.writeValueAsString(bestFad));
            meta.put("eval_best_epoch", JSON.writeValueAsString(bestEpoch));
            meta.put("eval_stale", Integer.toString(staleEvals));
            tensors.put("best", best);
        }
        Safetensors.write(outputs.runDir().resolve(CHECKPOINT), tensors, meta);
    }

    private void rewriteMetrics() {
        try {
            Files.createDirectories(outputs.runDir());
            Files.write(outputs.runDir().resolve(METRICS), new byte[0]);
        } catch (IOException e) {
            throw new BadInputException("run folder " + outputs.runDir() + ": cannot be written (" + e.getMessage() + ")");
        }
    }

    /** A run killed between a checkpoint and the next one logged steps it will redo: forget them. */
    private void dropMetricsAfter(long lastStep) {
        Path file = outputs.runDir().resolve(METRICS);
        try {
            if (!Files.exists(file)) return;
            List<String> kept = new ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank() || !line.endsWith("}")) continue; // a line cut short by a kill is redone anyway
                if (JSON.readTree(line).path("step").asLong(Long.MAX_VALUE) <= lastStep) kept.add(line);
            }
            ai.musicgenti.core.AtomicFiles.writeBytes(file, (String.join("\n", kept) + (kept.isEmpty() ? "" : "\n")).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void appendMetrics(Map<String, Object> line) throws IOException {
        Files.writeString(outputs.runDir().resolve(METRICS), JSON.writeValueAsString(new java.util.TreeMap<>(line)) + "\n",
                StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
