package ai.musicgenti.cli;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.data.ConceptDescriptions;
import ai.musicgenti.data.PreparedDataset;
import ai.musicgenti.eval.ClapEmbedder;
import ai.musicgenti.eval.ClapWindows;
import ai.musicgenti.eval.ConceptEvaluator;
import ai.musicgenti.eval.Frechet;
import ai.musicgenti.generate.Generator;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.text.ConceptPrompts;
import ai.musicgenti.text.PromptTokenizer;
import ai.musicgenti.train.LearnedConcepts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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

    @Option(names = "--per-concept", defaultValue = "20", description = "Clips generated per concept (default: ${DEFAULT-VALUE}).")
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

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--k", defaultValue = "5", description = "Neighbours for kNCC and kNCO (default: ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--batch", defaultValue = "4", description = "Clips generated together (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--descriptions", paramLabel = "FILE|none", description = "Concept descriptions for the CLAP text-audio score, as metadata_concepts.json"
            + " (default: the dataset's metadata_concepts.json when it has one; none = no CLAP score).")
    String descriptions;

    @Option(names = "--inf", description = "Also compute FAD-inf as fad --inf does (fadtk's score_inf: a line in 1/N, its intercept), with its slope and R2.")
    boolean inf;

    @Override
    public Integer call() throws IOException {
        for (Path f : conceptFiles) {
            if (!Files.isRegularFile(f)) throw new BadInputException("--concepts " + f + ": no such file; give a concepts file written by train");
        }
        for (Path o : other) {
            if (!Files.isDirectory(o)) throw new BadInputException("--other " + o + ": not a folder of <concept>/ folders of clips");
        }
        ClapWindows clapWindows = ClapWindows.parse(windows);
        List<String> templates = TrainCommand.templates(templateFile, "--template-file", "valid.txt");
        PreparedDataset data = PreparedDataset.open(dataset);
        Path folderPath = modelOptions.folder();
        try (ModelFolder folder = ModelFolder.open(folderPath); PromptTokenizer tokenizer = PromptTokenizer.load(folderPath)) {
            LearnedConcepts concepts = LearnedConcepts.loadAll(conceptFiles, folder);
            ConceptPrompts named = concepts.prompts(tokenizer);
            for (String t : templates) named.requireKnown(t, "validation template '" + t + "'");
            Map<String, String> described = ConceptDescriptions.choose(descriptions, "--descriptions", data);
            Map<String, Path> others = new LinkedHashMap<>();
            for (Path o : other) {
                String name = o.toAbsolutePath().normalize().getFileName().toString();
                if (others.containsKey(name) || name.equals("musicgen-ti")) name = name + "-" + (others.size() + 1);
                others.put(name, o);
            }
            for (String c : concepts.tokenCounts().keySet()) {
                ConceptEvaluator.requireConcept(data, c);
                for (Path o : others.values()) ConceptEvaluator.otherClips(o, c);
            }
            Generator.Settings generation = Generator.Settings.fromGenerationConfig(folder.generationConfig(), seed);
            double seconds = duration != null ? duration : data.info().fragmentSeconds();
            ConceptEvaluator.Settings settings = new ConceptEvaluator.Settings(perConcept, seconds, generation, k, batch, inf);
            String stem = conceptFiles.get(0).getFileName().toString().replaceAll("\\.safetensors$", "");
            Path outDir = out != null ? out : Path.of("runs", stem, "eval");
            Compute compute = modelOptions.compute();
            MusicGen model = MusicGen.load(folder, compute);
            try (ClapEmbedder embedder = ClapEmbedder.open(clap, clapWindows, Compute.choose(modelOptions.device, "f32"), cache, new ProgressBar())) {
                Frechet.Stats bg = background == null ? null : ConceptEvaluator.background(background, embedder, clap, System.err);
                ConceptEvaluator evaluator = new ConceptEvaluator(model, tokenizer, embedder, data, templates, settings, bg, described, System.err)
                        .onGenerationSteps(steps -> new StepProgress(System.err, steps));
                System.err.printf(Locale.ROOT, "eval %s on %s: %d concept(s) x %d clip(s) of %.1f s, seed %d; %s%n", stem, compute,
                        concepts.tokenCounts().size(), perConcept, seconds, seed, embedder.describeRows());
                List<ConceptEvaluator.ConceptResult> results = evaluator.evaluate(concepts, outDir, others);
                Map<String, Object> header = new LinkedHashMap<>();
                // absolute, so the record holds from any working directory
                header.put("concepts_files", conceptFiles.stream().map(EvalCommand::absolute).toList());
                header.put("dataset", absolute(dataset));
                header.put("model", modelOptions.id());
                header.put("per_concept", perConcept);
                header.put("duration", seconds);
                header.put("seed", seed);
                header.put("k", k);
                header.put("fad_inf", inf);
                header.put("descriptions", described.isEmpty() ? null
                        : absolute(descriptions != null ? Path.of(descriptions) : dataset.resolve(ConceptDescriptions.FILE)));
                if (background != null) header.put("background", absolute(background));
                header.put("other", others.entrySet().stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> absolute(e.getValue()),
                        (a, b) -> a, LinkedHashMap::new)));
                evaluator.write(outDir, results, header);
                System.out.println(outDir.resolve("eval.json"));
                System.out.println(outDir.resolve("eval.md"));
            }
        }
        return 0;
    }

    private static String absolute(Path p) {
        return p.toAbsolutePath().normalize().toString();
    }
}
