package ai.musicgenti.pipeline;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.data.ConceptDescriptions;
import ai.musicgenti.data.PreparedDataset;
import ai.musicgenti.eval.ClapEmbedder;
import ai.musicgenti.eval.ClapWindows;
import ai.musicgenti.eval.ConceptEvaluator;
import ai.musicgenti.metrics.Frechet;
import ai.musicgenti.metrics.NearestNeighbours;
import ai.musicgenti.generation.CodeSampler;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.concepts.ConceptPrompts;
import ai.musicgenti.text.PromptTokenizer;
import ai.musicgenti.concepts.LearnedConcepts;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * FAD, kNCC and kNCO of learned concepts (and of other systems' clips) against the concepts' own fragments, on CLAP
 * embeddings; writes eval.json and eval.md.
 */
public final class EvalJob {
    public static final int PER_CONCEPT = 20;
    public static final long SEED = 0;
    public static final int K = NearestNeighbours.DEFAULT_K;
    public static final int BATCH = 4;

    /**
     * @param templateFile validation templates, or null for the bundled ones
     * @param duration     seconds per clip; null = the dataset's fragment length
     * @param background   a folder of audio or saved statistics for a second FAD, or null
     * @param other        other systems' clips, DIR/&lt;concept&gt;/*.wav
     * @param out          output folder; null = runs/&lt;first concepts file's name&gt;/eval
     * @param descriptions a metadata_concepts.json, "none", or null for the dataset's own
     * @param cache        embedding cache folder, or null for the default
     */
    public record Settings(ModelChoice model, List<Path> conceptFiles, Path dataset, int perConcept, String clap, ClapWindows windows, Path cache,
                           Path templateFile, Double duration, Path background, List<Path> other, Path out, long seed, int k,
                           int batch, String descriptions, boolean fadInf) {
        public Settings {
            conceptFiles = List.copyOf(conceptFiles);
            other = List.copyOf(other);
        }

        public static Builder builder() {
            return new Builder();
        }
    }

    /** Starts from the defaults of every front end; concepts files and dataset must be set. */
    public static final class Builder {
        private ModelChoice model = ModelChoice.defaults();
        private List<Path> conceptFiles = List.of();
        private Path dataset;
        private int perConcept = PER_CONCEPT;
        private String clap = ClapEmbedder.DEFAULT_CLAP;
        private ClapWindows windows = ClapWindows.parse(ClapWindows.DEFAULT);
        private Path cache;
        private Path templateFile;
        private Double duration;
        private Path background;
        private List<Path> other = List.of();
        private Path out;
        private long seed = SEED;
        private int k = K;
        private int batch = BATCH;
        private String descriptions;
        private boolean fadInf;

        public Builder model(ModelChoice v) { model = v; return this; }
        public Builder conceptFiles(List<Path> v) { conceptFiles = v; return this; }
        public Builder dataset(Path v) { dataset = v; return this; }
        public Builder perConcept(int v) { perConcept = v; return this; }
        public Builder clap(String v) { clap = v; return this; }
        public Builder windows(ClapWindows v) { windows = v; return this; }
        public Builder cache(Path v) { cache = v; return this; }
        public Builder templateFile(Path v) { templateFile = v; return this; }
        public Builder duration(Double v) { duration = v; return this; }
        public Builder background(Path v) { background = v; return this; }
        public Builder other(List<Path> v) { other = v; return this; }
        public Builder out(Path v) { out = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder k(int v) { k = v; return this; }
        public Builder batch(int v) { batch = v; return this; }
        public Builder descriptions(String v) { descriptions = v; return this; }
        public Builder fadInf(boolean v) { fadInf = v; return this; }

        public Settings build() {
            return new Settings(model, conceptFiles, dataset, perConcept, clap, windows, cache, templateFile, duration, background, other, out,
                    seed, k, batch, descriptions, fadInf);
        }
    }

    /** The results per concept and the two files written. */
    public record Result(List<ConceptEvaluator.ConceptResult> concepts, Path json, Path markdown) {
    }

    private final Settings s;

    public EvalJob(Settings settings) {
        this.s = settings;
    }

    /** Cancelled between generation steps: throws {@link CancelledException}; clips generated so far stay in the folder. */
    public Result run(JobListener listener, Cancellation cancellation) throws IOException {
        for (Path f : s.conceptFiles()) {
            if (!Files.isRegularFile(f)) throw new BadInputException("--concepts " + f + ": no such file; give a concepts file written by train");
        }
        for (Path o : s.other()) {
            if (!Files.isDirectory(o)) throw new BadInputException("--other " + o + ": not a folder of <concept>/ folders of clips");
        }
        List<String> templates = PromptTemplates.read(s.templateFile(), "--template-file", PromptTemplates.VALID);
        PreparedDataset data = PreparedDataset.open(s.dataset());
        Path folderPath = s.model().folder(listener.downloads());
        PrintStream log = LogStream.to(listener);
        try (ModelFolder folder = ModelFolder.open(folderPath); PromptTokenizer tokenizer = PromptTokenizer.load(folderPath)) {
            LearnedConcepts concepts = LearnedConcepts.loadAll(s.conceptFiles(), folder);
            ConceptPrompts named = concepts.prompts(tokenizer);
            for (String t : templates) named.requireKnown(t, "validation template '" + t + "'");
            Map<String, String> described = ConceptDescriptions.choose(s.descriptions(), "--descriptions", data);
            Map<String, Path> others = new LinkedHashMap<>();
            for (Path o : s.other()) {
                String name = o.toAbsolutePath().normalize().getFileName().toString();
                if (others.containsKey(name) || name.equals("musicgen-ti")) name = name + "-" + (others.size() + 1);
                others.put(name, o);
            }
            for (String c : concepts.tokenCounts().keySet()) {
                ConceptEvaluator.requireConcept(data, c);
                for (Path o : others.values()) ConceptEvaluator.otherClips(o, c);
            }
            CodeSampler.Settings generation = CodeSampler.Settings.fromGenerationConfig(folder.generationConfig(), s.seed());
            double seconds = s.duration() != null ? s.duration() : data.info().fragmentSeconds();
            ConceptEvaluator.Settings settings = new ConceptEvaluator.Settings(s.perConcept(), seconds, generation, s.k(), s.batch(), s.fadInf());
            String stem = s.conceptFiles().get(0).getFileName().toString().replaceAll("\\.safetensors$", "");
            Path outDir = s.out() != null ? s.out() : Path.of("runs", stem, "eval");
            Compute compute = s.model().compute().forInference();
            MusicGen model = MusicGen.load(folder, compute);
            try (ClapEmbedder embedder = ClapEmbedder.open(s.clap(), s.windows(), Compute.choose(s.model().device(), "f32"), s.cache(),
                    listener.downloads())) {
                Frechet.Stats bg = s.background() == null ? null : ConceptEvaluator.background(s.background(), embedder, s.clap(), log);
                ConceptEvaluator evaluator = new ConceptEvaluator(model, tokenizer, embedder, data, templates, settings, bg, described, log)
                        .onGenerationSteps(steps -> GenerateJob.steps(listener, cancellation, steps));
                listener.on(new JobEvent.Stage("evaluate", String.format(Locale.ROOT, "eval %s on %s: %d concept(s) x %d clip(s) of %.1f s, seed %d; %s",
                        stem, compute, concepts.tokenCounts().size(), s.perConcept(), seconds, s.seed(), embedder.describeRows())));
                List<ConceptEvaluator.ConceptResult> results = evaluator.evaluate(concepts, outDir, others);
                Map<String, Object> header = new LinkedHashMap<>();
                // absolute, so the record holds from any working directory
                header.put("concepts_files", s.conceptFiles().stream().map(EvalJob::absolute).toList());
                header.put("dataset", absolute(s.dataset()));
                header.put("model", s.model().id());
                header.put("per_concept", s.perConcept());
                header.put("duration", seconds);
                header.put("seed", s.seed());
                header.put("k", s.k());
                header.put("fad_inf", s.fadInf());
                header.put("descriptions", described.isEmpty() ? null
                        : absolute(s.descriptions() != null ? Path.of(s.descriptions()) : s.dataset().resolve(ConceptDescriptions.FILE)));
                if (s.background() != null) header.put("background", absolute(s.background()));
                header.put("other", others.entrySet().stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> absolute(e.getValue()),
                        (a, b) -> a, LinkedHashMap::new)));
                evaluator.write(outDir, results, header);
                Result result = new Result(results, outDir.resolve("eval.json"), outDir.resolve("eval.md"));
                listener.on(new JobEvent.FileWritten(result.json(), "eval"));
                listener.on(new JobEvent.FileWritten(result.markdown(), "eval"));
                return result;
            }
        }
    }

    private static String absolute(Path p) {
        return p.toAbsolutePath().normalize().toString();
    }
}
