package ai.musicgenti.eval;

import ai.musicgenti.metrics.Frechet;
import ai.musicgenti.metrics.NearestNeighbours;
import ai.musicgenti.audio.AudioDecoder;
import ai.musicgenti.audio.Wav;
import ai.musicgenti.core.AtomicFiles;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.core.Seeds;
import ai.musicgenti.data.FiniteJson;
import ai.musicgenti.data.Fragment;
import ai.musicgenti.data.PreparedDataset;
import ai.musicgenti.generation.CodeSampler;
import ai.musicgenti.generation.MusicGeneration;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.concepts.ConceptPrompts;
import ai.musicgenti.text.PromptTokenizer;
import ai.musicgenti.concepts.LearnedConcepts;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Evaluates learned concepts the way the paper's tables do: for each concept, N clips generated from the validation
 * templates (the concept in place of {@code %s}, templates cycled, one seed), embedded with CLAP like the concept's own
 * fragments, then
 * <ul>
 * <li>FAD against all the concept's fragments (train and valid), and against a background set when one is given;</li>
 * <li>kNCC: generated vs validation fragments, neighbours among the training fragments (every pair: the generated
 * clips are not paired with validation clips);</li>
 * <li>kNCO: the fraction of validation fragments with a generated clip among their K nearest in train ∪ generated;</li>
 * <li>CLAP score: the mean cosine between the concept's text description (metadata_concepts.json) and each generated
 * clip, beside the same score of the concept's own fragments, which says how well the description fits at all;</li>
 * <li>optionally FAD∞ by fadtk's procedure ({@link Frechet#fadInf(Frechet.Reference, float[][], long)}, as {@code fad --inf}).</li>
 * </ul>
 * FAD and FAD∞ take every CLAP window of every clip as a row, as fadtk does (in fadtk windowing a 5 s clip gives 5
 * overlapping windows); the per-clip measures (kNCC, kNCO, CLAP score) take one embedding per clip
 * ({@link ClapEmbedder#clipEmbedding}), so that overlapping windows of one clip are not counted as neighbours of each
 * other or as separate clips. Reference and generated sets go through the same {@link ClapEmbedder}, so the same
 * rate and windowing. Another system's clips ({@code DIR/<concept>/*.wav}) get the same metrics beside the learned
 * concepts'. Used by {@code musicgen-ti eval} and by {@code train --eval-every}.
 */
public final class ConceptEvaluator {
    /** How kNCC, kNCO and the CLAP score see a clip, said in every report. */
    public static final String PER_CLIP = "kNCC, kNCO and the CLAP score use one embedding per clip or fragment: the mean of its CLAP"
            + " windows, scaled to unit length; FAD and FAD-inf use every window";
    private static final ObjectMapper JSON = FiniteJson.mapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** What to generate: clips per concept, their length in seconds, the sampling settings (seed included), K. */
    public record Settings(int clipsPerConcept, double seconds, CodeSampler.Settings generation, int k, int batch, boolean fadInf) {
        public Settings {
            if (clipsPerConcept < 2) throw new BadInputException("clips per concept: " + clipsPerConcept + ", need at least 2 for a covariance");
            if (!(seconds > 0)) throw new BadInputException("duration " + seconds + ": must be a positive number of seconds");
            if (k < 1) throw new BadInputException("--k " + k + ": must be at least 1");
            if (batch < 1) throw new BadInputException("batch " + batch + ": must be at least 1");
        }
    }

    /**
     * One system's metrics for one concept; NaN where a metric could not be computed (then see {@code warnings}).
     *
     * @param clips   clips scored (kNCC, kNCO and the CLAP score count these)
     * @param windows their CLAP windows (FAD's rows)
     * @param fadInf  FAD∞ with its fit, or null when not asked for or not computable
     */
    public record SystemResult(int clips, int windows, double fad, Frechet.FadInf fadInf, double fadBackground, double kncc, double knco,
                               int k, double clapScore, List<String> warnings) {
    }

    /**
     * A concept's reference (fragment counts, its description and the CLAP score of its own fragments, NaN without a
     * description) and each system's result, "musicgen-ti" first.
     */
    public record ConceptResult(String concept, int trainFragments, int validFragments, int referenceWindows,
                                String description, double referenceClapScore, Map<String, SystemResult> systems) {
    }

    private final MusicGen model;
    private final PromptTokenizer tokenizer;
    private final ClapEmbedder embedder;
    private final PreparedDataset dataset;
    private final List<String> templates;
    private final Settings settings;
    private final PrintStream log;
    private final Frechet.Reference background;
    private final Map<String, String> descriptions;
    private final Map<String, float[]> textEmbeddings = new LinkedHashMap<>();
    private IntFunction<CodeSampler.StepListener> stepProgress = steps -> null;
    /** Each fragment's windows by the fragments' ids: the same fragments are embedded once per evaluator. */
    private final Map<List<String>, List<float[][]>> referenceCache = new LinkedHashMap<>();

    /**
     * @param templates  validation templates with {@code %s}
     * @param background   statistics of a background set, or null
     * @param descriptions concept name to text description for the CLAP score; concepts without one get none
     * @param log          progress lines (stderr), or null
     */
    public ConceptEvaluator(MusicGen model, PromptTokenizer tokenizer, ClapEmbedder embedder, PreparedDataset dataset,
                            List<String> templates, Settings settings, Frechet.Stats background, Map<String, String> descriptions,
                            PrintStream log) {
        if (templates.isEmpty()) throw new BadInputException("validation templates: need at least one (with %s)");
        for (String t : templates) {
            ConceptPrompts.requireSlot(t, "prompt template");
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.embedder = embedder;
        this.dataset = dataset;
        this.templates = List.copyOf(templates);
        this.settings = settings;
        this.background = background == null ? null : new Frechet.Reference(background);
        this.descriptions = Map.copyOf(descriptions);
        // embedded now, so that a CLAP checkpoint without a text tower fails before any generation or training
        if (!descriptions.isEmpty()) {
            List<String> names = List.copyOf(descriptions.keySet());
            float[][] rows = embedder.embedTexts(names.stream().map(descriptions::get).toList());
            for (int i = 0; i < rows.length; i++) textEmbeddings.put(names.get(i), rows[i]);
        }
        this.log = log;
    }

    /** Reports each generation batch's decode steps (a progress bar): called with the batch's step count. */
    public ConceptEvaluator onGenerationSteps(IntFunction<CodeSampler.StepListener> progress) {
        this.stepProgress = progress;
        return this;
    }

    public Settings settings() {
        return settings;
    }

    /** Throws a one-line error when the dataset has no training fragment of {@code concept}. */
    public static void requireConcept(PreparedDataset dataset, String concept) {
        if (dataset.train().stream().noneMatch(f -> f.concept().equals(concept))) {
            throw new BadInputException("concept " + concept + ": the dataset " + dataset.dir() + " has no training fragments of it (it has "
                    + dataset.concepts() + "); give the dataset the concepts were learned on");
        }
    }

    /**
     * Evaluates every concept of {@code concepts} (and {@code other}'s clips of it, when given): generated clips are
     * written to {@code outDir/<concept>/<i>.wav}.
     *
     * @param other another system's clips by name: folders with a {@code <concept>/} folder of audio each; may be empty
     */
    public List<ConceptResult> evaluate(LearnedConcepts concepts, Path outDir, Map<String, Path> other) throws IOException {
        List<ConceptResult> results = new ArrayList<>();
        for (String concept : concepts.tokenCounts().keySet()) {
            requireConcept(dataset, concept);
            for (var o : other.entrySet()) otherClips(o.getValue(), concept);
        }
        for (String concept : concepts.tokenCounts().keySet()) {
            List<float[][]> trainClips = reference(concept, dataset.train());
            List<float[][]> validClips = reference(concept, dataset.valid());
            float[][] train = ClapEmbedder.clipEmbeddings(trainClips), valid = ClapEmbedder.clipEmbeddings(validClips);
            float[][] all = concat(windowsOf(trainClips), windowsOf(validClips));
            Frechet.Stats refStats = Frechet.stats(all);
            Frechet.Reference ref = new Frechet.Reference(refStats);
            String description = descriptions.get(concept);
            float[] text = textEmbeddings.get(concept);
            Map<String, SystemResult> systems = new LinkedHashMap<>();
            List<Path> generated = generate(concepts, concept, outDir.resolve(concept));
            systems.put("musicgen-ti", score(concept, "musicgen-ti", embedAll(embedder, generated, concept, log), settings.seconds(), ref,
                    refStats, train, valid, text));
            for (var o : other.entrySet()) {
                List<Path> clips = otherClips(o.getValue(), concept);
                double seconds = clips.stream().mapToDouble(f -> AudioDecoder.probe(f).durationSeconds()).average().orElse(0);
                systems.put(o.getKey(), score(concept, o.getKey(), embedAll(embedder, clips, concept, log), seconds, ref, refStats, train, valid, text));
            }
            results.add(new ConceptResult(concept, trainClips.size(), validClips.size(), all.length,
                    description, ClapEmbedder.score(text, concat(train, valid)), systems));
        }
        return results;
    }

    /**
     * @param genClips each of the system's clips as its CLAP windows
     * @param train    one embedding per training fragment ({@link ClapEmbedder#clipEmbedding})
     * @param valid    one embedding per validation fragment
     */
    private SystemResult score(String concept, String system, List<float[][]> genClips, double clipSeconds, Frechet.Reference ref,
                               Frechet.Stats refStats, float[][] train, float[][] valid, float[] text) {
        float[][] gen = windowsOf(genClips);
        float[][] genPerClip = ClapEmbedder.clipEmbeddings(genClips);
        List<String> warnings = new ArrayList<>();
        refStats.warning().ifPresent(w -> warnings.add("reference " + w));
        double fragmentSeconds = dataset.info().fragmentSeconds();
        if (Math.abs(clipSeconds - fragmentSeconds) > 0.1 * fragmentSeconds) {
            // windows are padded to 10 s (repeated or zeros), so different lengths give different windows
            warnings.add(String.format(Locale.ROOT, "clips last %.1f s on average but the reference fragments %.1f s: the CLAP windows"
                    + " differ in padding and count, so FAD also measures the length; compare clips of %.1f s", clipSeconds, fragmentSeconds,
                    fragmentSeconds));
        }
        double fad = Double.NaN, fadBackground = Double.NaN, kncc = Double.NaN, knco = Double.NaN;
        Frechet.FadInf fadInf = null;
        int k = Math.min(settings.k(), train.length);
        if (k < settings.k()) warnings.add("K lowered to " + k + ": only " + train.length + " training fragments");
        if (gen.length < 2) {
            warnings.add("only " + gen.length + " generated window(s): no covariance, no FAD");
        } else {
            Frechet.Stats g = Frechet.stats(gen);
            g.warning().ifPresent(w -> warnings.add("generated " + w));
            fad = ref.distanceTo(g);
            if (settings.fadInf()) {
                // fad --inf's procedure, so that the two commands' numbers mean the same
                fadInf = Frechet.fadInf(ref, gen, settings.generation().seed());
                if (fadInf.r2() < 0.5) warnings.add(String.format(Locale.ROOT, "FAD-inf fit is poor (r2 %.2f): generate more clips", fadInf.r2()));
            }
            if (background != null) {
                background.stats().warning().ifPresent(w -> warnings.add("background " + w));
                fadBackground = background.distanceTo(g);
            }
        }
        if (valid.length == 0) {
            warnings.add("no validation fragments: no kNCC or kNCO");
        } else if (genPerClip.length > 0) {
            kncc = NearestNeighbours.knccAllPairs(train, valid, genPerClip, k);
            knco = NearestNeighbours.knco(train, valid, genPerClip, k);
        }
        double clap = ClapEmbedder.score(text, genPerClip);
        if (text == null && !descriptions.isEmpty()) warnings.add("no description of " + concept + " in metadata_concepts.json: no CLAP score");
        if (log != null) {
            log.printf(Locale.ROOT, "%s / %s: fad %.4f%s%s, kncc %.3f, knco %.3f%s (%d clips, %d windows)%n", concept, system, fad,
                    fadInf != null ? String.format(Locale.ROOT, ", fad-inf %.4f (slope %.4f, r2 %.4f)", fadInf.score(), fadInf.slope(), fadInf.r2()) : "",
                    background != null ? String.format(Locale.ROOT, ", fad-background %.4f", fadBackground) : "", kncc, knco,
                    text != null ? String.format(Locale.ROOT, ", clap %.4f", clap) : "", genClips.size(), gen.length);
            // as fad does: a warning only in eval.json and eval.md goes unread
            for (String w : warnings) log.printf(Locale.ROOT, "warning: %s / %s: %s%n", concept, system, w);
        }
        return new SystemResult(genClips.size(), gen.length, fad, fadInf, fadBackground, kncc, knco, k, clap, warnings);
    }

    /** Generates the concept's clips in batches, from the validation templates cycled, and writes them as WAV. */
    private List<Path> generate(LearnedConcepts concepts, String concept, Path dir) throws IOException {
        Files.createDirectories(dir);
        int n = settings.clipsPerConcept();
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < n; i++) prompts.add(ConceptPrompts.fill(templates.get(i % templates.size()), concept));
        int rate = model.audioEncoder().samplingRate();
        int maxNew = CodeSampler.maxNewTokensFor(settings.seconds(), model.audioEncoder().frameRate(), model.config().decoder().numCodebooks());
        CodeSampler.Settings g = settings.generation();
        List<Path> files = new ArrayList<>();
        for (int start = 0; start < n; start += settings.batch()) {
            List<String> rows = prompts.subList(start, Math.min(n, start + settings.batch()));
            // each batch its own seed, derived from the given one and the batch's first clip
            CodeSampler.Settings s = new CodeSampler.Settings(maxNew, g.guidanceScale(), g.sample(), g.topK(), g.topP(), g.temperature(),
                    Seeds.derive(g.seed(), start));
            if (log != null) log.printf(Locale.ROOT, "generating %s: clips %d-%d of %d (%.1f s each)%n", concept, start + 1, start + rows.size(), n, settings.seconds());
            NoGradGuard noGrad = new NoGradGuard();
            try (PointerScope scope = new PointerScope()) {
                LearnedConcepts.Conditioning c = concepts.condition(model, tokenizer, rows);
                MusicGeneration.Music music = MusicGeneration.fromEmbeddings(model, c.inputsEmbeds(), c.attentionMask(), null, s,
                        stepProgress.apply(maxNew));
                for (int i = 0; i < rows.size(); i++) {
                    Path file = dir.resolve(String.format(Locale.ROOT, "%03d.wav", start + i));
                    Wav.write(file, music.audio(), i, rate, Wav.Options.DEFAULT);
                    files.add(file);
                }
            } finally {
                noGrad.close();
            }
        }
        return files;
    }

    /** The concept's fragments among {@code fragments}, each as its CLAP windows. */
    private List<float[][]> reference(String concept, List<Fragment> fragments) throws IOException {
        List<Fragment> own = fragments.stream().filter(f -> f.concept().equals(concept)).toList();
        List<String> key = own.stream().map(Fragment::id).toList();
        List<float[][]> cached = referenceCache.get(key);
        if (cached != null) return cached;
        List<float[][]> out = embedAll(embedder, own.stream().map(dataset::audio).toList(), concept + " fragments", log);
        referenceCache.put(key, out);
        return out;
    }

    /** Each file's windows, in order, in the embedder's thread phase; progress on {@code log} unless null. */
    private static List<float[][]> embedAll(AudioEmbedder embedder, List<Path> files, String what, PrintStream log) throws IOException {
        List<float[][]> clips = new ArrayList<>();
        int i = 0;
        try (CpuThreads.Phase threads = embedder.threads()) {
            for (Path f : files) {
                if (log != null) log.printf(Locale.ROOT, "\rembedding %s: %d/%d ", what, ++i, files.size());
                clips.add(embedder.embed(f));
            }
        }
        if (log != null && !files.isEmpty()) log.println();
        return List.copyOf(clips);
    }

    private static float[][] windowsOf(List<float[][]> clips) {
        return clips.stream().flatMap(Arrays::stream).toArray(float[][]::new);
    }

    private static float[][] concat(float[][] a, float[][] b) {
        float[][] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** The audio files of {@code root/<concept>/}, sorted; a one-line error when there are none. */
    public static List<Path> otherClips(Path root, String concept) throws IOException {
        Path dir = root.resolve(concept);
        if (!Files.isDirectory(dir)) throw new BadInputException("--other " + root + ": no folder " + concept + "/ of clips for concept " + concept);
        List<Path> files = AudioDecoder.audioFiles(dir);
        if (files.isEmpty()) throw new BadInputException("--other " + root + ": " + dir + " holds no audio files");
        return files;
    }

    /** Statistics of a background set: a statistics file saved by {@code fad --save-stats}, or a folder of audio. */
    public static Frechet.Stats background(Path source, ClapEmbedder embedder, String clapId, PrintStream log) throws IOException {
        if (Files.isRegularFile(source)) return Frechet.load(source, embedder.statsModel(clapId));
        if (!Files.isDirectory(source)) throw new BadInputException("--background " + source + ": neither a folder of audio nor a statistics file");
        List<Path> files = AudioDecoder.audioFiles(source);
        if (files.isEmpty()) throw new BadInputException("--background " + source + ": no audio files in it");
        return Frechet.stats(embedAll(embedder, files, "background", log));
    }

    /**
     * Which CLAP weights, windowing and per-clip rule produced this evaluator's numbers: part of every eval.json and
     * eval.md, since FADs of another checkpoint or windowing are not comparable.
     */
    public Map<String, Object> provenance() {
        ClapEmbedder.Checkpoint c = embedder.checkpoint();
        Map<String, Object> clap = new LinkedHashMap<>();
        clap.put("id", c.id());
        clap.put("weights_sha256", c.weightsSha256());
        clap.put("revision", c.revision());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("clap", clap);
        m.put("windows", embedder.windows().id());
        m.put("windowing", embedder.describeRows());
        m.put("per_clip", PER_CLIP);
        return m;
    }

    /** eval.json's content: the settings, {@link #provenance()} and, per concept, each system's metrics. */
    public Map<String, Object> report(List<ConceptResult> results, Map<String, Object> header) {
        Map<String, Object> root = new LinkedHashMap<>(header);
        root.putAll(provenance());
        Map<String, Object> perConcept = new LinkedHashMap<>();
        for (ConceptResult r : results) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("train_fragments", r.trainFragments());
            c.put("valid_fragments", r.validFragments());
            c.put("reference_windows", r.referenceWindows());
            c.put("description", r.description());
            c.put("reference_clap_score", r.referenceClapScore());
            Map<String, Object> systems = new LinkedHashMap<>();
            for (var e : r.systems().entrySet()) {
                SystemResult s = e.getValue();
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("clips", s.clips());
                m.put("windows", s.windows());
                m.put("fad", s.fad());
                m.put("fad_inf", s.fadInf() == null ? Double.NaN : s.fadInf().score());
                if (s.fadInf() != null) {
                    m.put("fad_inf_slope", s.fadInf().slope());
                    m.put("fad_inf_r2", s.fadInf().r2());
                    m.put("fad_inf_procedure", Frechet.infProcedure(s.windows(), settings.generation().seed()));
                }
                m.put("fad_background", s.fadBackground());
                m.put("kncc", s.kncc());
                m.put("knco", s.knco());
                m.put("clap_score", s.clapScore());
                m.put("k", s.k());
                m.put("warnings", s.warnings());
                systems.put(e.getKey(), m);
            }
            c.put("systems", systems);
            perConcept.put(r.concept(), c);
        }
        root.put("concepts", perConcept);
        return root;
    }

    /** eval.md: what produced the numbers, then one table row per concept and system. */
    public String markdown(List<ConceptResult> results, String intro) {
        ClapEmbedder.Checkpoint c = embedder.checkpoint();
        StringBuilder md = new StringBuilder("# Evaluation\n\n").append(intro).append("\n\n");
        md.append("CLAP checkpoint ").append(c.id()).append(c.revision() != null ? " (revision " + c.revision() + ")" : "")
                .append(c.weightsSha256() != null ? ", weights sha256 " + c.weightsSha256() : "").append("; windows ")
                .append(embedder.windows().id()).append(": ").append(embedder.describeRows()).append("; ").append(PER_CLIP).append(".\n\n");
        md.append("| concept | system | clips | windows | FAD (concept) | FAD∞ (concept) | FAD (background) | kNCC | kNCO | CLAP score |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        List<String> notes = new ArrayList<>();
        for (ConceptResult r : results) {
            for (var e : r.systems().entrySet()) {
                SystemResult s = e.getValue();
                md.append(String.format(Locale.ROOT, "| %s | %s | %d | %d | %s | %s | %s | %s | %s | %s |%n", r.concept(), e.getKey(), s.clips(),
                        s.windows(), fmt(s.fad()), s.fadInf() == null ? fmt(Double.NaN) : fmt(s.fadInf().score()), fmt(s.fadBackground()),
                        fmt(s.kncc()), fmt(s.knco()), fmt(s.clapScore())));
                for (String w : s.warnings()) notes.add(r.concept() + " / " + e.getKey() + ": " + w);
                if (s.fadInf() != null) {
                    notes.add(String.format(Locale.ROOT, "%s / %s: FAD∞ %.4f, slope %.4f, r2 %.4f (%s)", r.concept(), e.getKey(), s.fadInf().score(),
                            s.fadInf().slope(), s.fadInf().r2(), Frechet.infProcedure(s.windows(), settings.generation().seed())));
                }
            }
        }
        if (results.stream().anyMatch(r -> r.description() != null)) {
            md.append("\nCLAP score: mean cosine between the concept's description and each clip; for scale, the concept's own"
                    + " fragments score:\n\n| concept | description | CLAP score of its fragments |\n|---|---|---:|\n");
            for (ConceptResult r : results) {
                if (r.description() != null) {
                    md.append(String.format(Locale.ROOT, "| %s | %s | %s |%n", r.concept(), r.description().replace("|", "\\|"),
                            fmt(r.referenceClapScore())));
                }
            }
        }
        if (!notes.isEmpty()) {
            md.append("\nNotes and warnings:\n\n");
            for (String n : notes.stream().distinct().toList()) md.append("- ").append(n).append('\n');
        }
        return md.toString();
    }

    /** Writes eval.json and eval.md into {@code dir}, each atomically. */
    public void write(Path dir, List<ConceptResult> results, Map<String, Object> header) throws IOException {
        AtomicFiles.writeBytes(dir.resolve("eval.json"), JSON.writeValueAsBytes(report(results, header)));
        String intro = "Settings: " + header.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).reduce((a, b) -> a + ", " + b).orElse("");
        AtomicFiles.writeBytes(dir.resolve("eval.md"), markdown(results, intro).getBytes(StandardCharsets.UTF_8));
    }

    private static String fmt(double x) {
        return Double.isFinite(x) ? String.format(Locale.ROOT, "%.4f", x) : "–";
    }
}
