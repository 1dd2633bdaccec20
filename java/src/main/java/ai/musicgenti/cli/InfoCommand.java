package ai.musicgenti.cli;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.WeightStore;
import ai.musicgenti.models.MusicGen;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** What a model is and where its files are, read from its configs and safetensors headers (no weights loaded). */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = {"Show a model's configuration, parameter counts, dtypes, files and where they are cached.",
                "With a concepts file (.safetensors from train): its concepts, tokens, base model, epoch and metrics."})
final class InfoCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Parameters(index = "0", arity = "0..1", paramLabel = "CONCEPTS_FILE", description = "A concepts file to describe instead of a model.")
    Path conceptsFile;

    @Override
    public Integer call() throws IOException {
        if (conceptsFile != null) {
            describeConcepts(conceptsFile);
            return 0;
        }
        Path dir = modelOptions.choice().folder(new ProgressBar());
        try (ModelFolder folder = ModelFolder.open(dir)) {
            MusicGen.Config c = MusicGen.Config.fromJson(folder.config());
            var d = c.decoder();
            var t = c.text();
            var a = c.audio();
            System.out.printf(Locale.ROOT, "model      %s%n", modelOptions.model);
            System.out.printf(Locale.ROOT, "folder     %s%n", dir.toAbsolutePath().normalize());
            System.out.printf(Locale.ROOT, "decoder    %d layers, width %d, %d heads, ffn %d, %d codebooks x %d codes, max %d positions%n",
                    d.numHiddenLayers(), d.hiddenSize(), d.numAttentionHeads(), d.ffnDim(), d.numCodebooks(), d.vocabSize(), d.maxPositionEmbeddings());
            System.out.printf(Locale.ROOT, "text       T5 encoder, %d layers, width %d, %d heads, vocab %d, %s%n",
                    t.numLayers(), t.dModel(), t.numHeads(), t.vocabSize(), t.feedForwardProj());
            System.out.printf(Locale.ROOT, "audio      EnCodec %d Hz, %d frames/s, %d codebooks%n", a.samplingRate(), a.frameRate(), a.codebooksForBandwidth(a.targetBandwidths()[0]));
            var gc = folder.generationConfig();
            if (!gc.isMissingNode()) System.out.printf(Locale.ROOT, "generation %s%n", gc);
            printParameters(folder.store());
            printFiles(dir);
        }
        return 0;
    }

    /** From the header alone: no model is needed to read what a concepts file holds. */
    private static void describeConcepts(Path file) {
        if (!Files.isRegularFile(file)) throw new BadInputException(file + ": no such file; give a concepts file written by train");
        try (Safetensors st = Safetensors.open(file)) {
            Map<String, String> meta = st.metadata();
            if (!meta.containsKey("concepts") || !meta.containsKey("tokens")) {
                throw new BadInputException(file + ": no 'concepts' metadata; this is not a concepts file written by musicgen-ti train");
            }
            System.out.printf(Locale.ROOT, "concepts   %s%n", meta.get("concepts"));
            System.out.printf(Locale.ROOT, "tokens     %s%n", meta.get("tokens"));
            for (var e : new TreeMap<>(st.entries()).entrySet()) {
                String name = e.getKey();
                long[] shape = e.getValue().shape();
                System.out.printf(Locale.ROOT, "           %-16s %d x %d%n", name, shape[0], shape.length > 1 ? shape[1] : 1);
            }
            System.out.printf(Locale.ROOT, "base model %s (sha256 of its T5 embeddings %s)%n", meta.getOrDefault("base_model", "?"),
                    meta.getOrDefault("base_model_hash", "?"));
            System.out.printf(Locale.ROOT, "width      %s%n", meta.getOrDefault("d_model", "?"));
            System.out.printf(Locale.ROOT, "epoch      %s (step %s)%n", meta.getOrDefault("epoch", "?"), meta.getOrDefault("step", "?"));
            System.out.printf(Locale.ROOT, "metrics    %s%n", meta.getOrDefault("metrics", "{}"));
        }
    }

    private static void printParameters(WeightStore store) {
        Map<String, long[]> byPart = new TreeMap<>();
        Map<String, Long> dtypes = new TreeMap<>();
        for (String name : store.names()) {
            Safetensors.Entry e = store.entry(name);
            String part = name.contains(".") ? name.substring(0, name.indexOf('.')) : name;
            byPart.computeIfAbsent(part, p -> new long[1])[0] += e.numel();
            dtypes.merge(e.dtype().name(), e.numel(), Long::sum);
        }
        long total = byPart.values().stream().mapToLong(v -> v[0]).sum();
        System.out.printf(Locale.ROOT, "parameters %,d in all (tied copies counted once per stored name)%n", total);
        byPart.forEach((part, n) -> System.out.printf(Locale.ROOT, "           %-16s %,d%n", part, n[0]));
        System.out.printf(Locale.ROOT, "dtypes     %s%n", dtypes);
    }

    private static void printFiles(Path dir) throws IOException {
        System.out.println("files");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.sorted().toList();
        }
        for (Path f : files) {
            Path real = f.toRealPath();
            String where = real.equals(f.toAbsolutePath().normalize()) ? "" : "  -> " + real;
            System.out.printf(Locale.ROOT, "           %-32s %,12d bytes%s%n", f.getFileName(), Files.size(real), where);
        }
    }
}
