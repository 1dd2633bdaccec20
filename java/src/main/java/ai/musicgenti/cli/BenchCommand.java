package ai.musicgenti.cli;

import ai.musicgenti.audio.ClapFeatures;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.CpuFeatures;
import ai.musicgenti.core.AtomicFiles;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.core.Dtype;
import ai.musicgenti.eval.ClapEmbedder;
import ai.musicgenti.eval.ClapWindows;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.core.Weights;
import ai.musicgenti.generation.CodeSampler;
import org.bytedeco.pytorch.global.torch.ScalarType;
import ai.musicgenti.models.ClapAudioEncoder;
import ai.musicgenti.models.EnCodec;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.concepts.ConceptPrompts;
import ai.musicgenti.inversion.Adam;
import ai.musicgenti.inversion.TextualInversion;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import ai.musicgenti.hub.HubClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Throughput of the real model shapes with random weights (nothing to download): decode steps per second with
 * classifier-free guidance, the time of one textual-inversion step (forward and backward through T5 and the decoder
 * into the learned embeddings) and EnCodec's encoding speed; {@code --json} writes the figures for scripts.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure decode steps/s (with guidance), textual-inversion training steps/s and EnCodec encoding speed, on a randomly initialised model of a real MusicGen shape (no download) or on --model.",
        subcommands = {BenchCommand.Generate.class, BenchCommand.Train.class, BenchCommand.Encode.class, BenchCommand.Eval.class})
final class BenchCommand implements Callable<Integer> {
    /** A subcommand that runs some of the model parts of {@link #call}. */
    abstract static class Part implements Callable<Integer> {
        @ParentCommand
        BenchCommand bench;

        private final boolean decode, train, encode;

        Part(boolean decode, boolean train, boolean encode) {
            this.decode = decode;
            this.train = train;
            this.encode = encode;
        }

        @Override
        public Integer call() throws IOException {
            return bench.run(decode, train, encode);
        }
    }

    @Command(name = "generate", mixinStandardHelpOptions = true, description = "Decode steps/s with guidance and the real-time factor.")
    static final class Generate extends Part {
        Generate() {
            super(true, false, false);
        }
    }

    @Command(name = "train", mixinStandardHelpOptions = true,
            description = "Textual-inversion training steps (forward and backward through T5 and the decoder, Adam on the learned rows): steps/s and peak memory.")
    static final class Train extends Part {
        Train() {
            super(false, true, false);
        }
    }

    @Command(name = "encode", mixinStandardHelpOptions = true,
            description = "EnCodec encoding of a 10 s clip to codes, as prepare runs it: times real time.")
    static final class Encode extends Part {
        Encode() {
            super(false, false, true);
        }
    }

    @Command(name = "eval", mixinStandardHelpOptions = true,
            description = "CLAP embedding throughput, as eval and fad use it: seconds of audio embedded per second (10 s windows, cache off),"
                    + " on random weights of the " + ClapEmbedder.DEFAULT_CLAP + " shape (no download) or on --clap.")
    static final class Eval implements Callable<Integer> {
        /** The bundled config.json and preprocessor_config.json of {@link ClapEmbedder#DEFAULT_CLAP}. */
        static final String CLAP_SHAPE = "/shapes/clap-larger-music.json", CLAP_PREPROCESSOR = "/shapes/clap-larger-music-preprocessor.json";

        @ParentCommand
        BenchCommand bench;

        @Option(names = "--clap", description = "CLAP checkpoint to benchmark: hub id or local folder (default: random weights of the "
                + ClapEmbedder.DEFAULT_CLAP + " shape, no download).")
        String clap;

        @Option(names = "--clips", defaultValue = "4", description = "Timed clips (default: ${DEFAULT-VALUE}).")
        int clips;

        @Option(names = "--seconds", defaultValue = "30", description = "Seconds per clip (default: ${DEFAULT-VALUE}).")
        double seconds;

        @Override
        public Integer call() throws IOException {
            if (clips < 1 || !(seconds >= 1)) throw new BadInputException("--clips must be at least 1 and --seconds at least 1");
            CpuThreads.configure(bench.threads);
            Compute compute = Compute.choose(bench.device, "f32");
            Path clapDir = clap == null ? null : HubClient.fromEnvironment().resolveModel(clap, new ProgressBar());
            Path tmp = Files.createTempDirectory("musicgen-ti-bench-eval");
            try {
                java.util.Random rng = new java.util.Random(0);
                int rate = 48000;
                List<Path> files = new java.util.ArrayList<>();
                for (int i = 0; i <= clips; i++) {
                    float[] x = new float[(int) Math.round(seconds * rate)];
                    for (int n = 0; n < x.length; n++) x[n] = (float) (0.1 * rng.nextGaussian());
                    Path f = tmp.resolve("clip" + i + ".wav");
                    ai.musicgenti.audio.Wav.write(f, new float[][]{x}, rate, ai.musicgenti.audio.Wav.Format.FLOAT32);
                    files.add(f);
                }
                long t0 = System.nanoTime();
                try (ClapEmbedder embedder = clapDir != null ? ClapEmbedder.load(clapDir, ClapWindows.SINGLE, compute, tmp.resolve("cache"))
                        : randomClap(compute, tmp.resolve("cache"))) {
                    System.out.printf(Locale.ROOT, "clap       %s, %s, %d cores (%s in %.1f s)%n",
                            clap != null ? clap + " weights" : "random weights of the " + ClapEmbedder.DEFAULT_CLAP + " shape",
                            compute, CpuThreads.cores(),
                            clap != null ? "loaded" : "built", seconds(t0));
                    int windows = 0;
                    double s;
                    try (CpuThreads.Phase threads = embedder.threads()) { // as fad and eval hold it
                        embedder.embed(files.get(0)); // warm-up, untimed
                        long t1 = System.nanoTime();
                        for (Path f : files.subList(1, files.size())) windows += embedder.embed(f).length;
                        s = seconds(t1);
                    }
                    System.out.printf(Locale.ROOT, "eval       %d clips x %.1f s (%d windows of 10 s): %.1f audio s embedded per s, %.2f windows/s, %.2f s per clip%n",
                            clips, seconds, windows, clips * seconds / s, windows / s, s / clips);
                }
            } finally {
                try (var walk = Files.walk(tmp)) {
                    for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
                }
            }
            return 0;
        }

        /** The audio tower and extractor of the bundled shape on seeded random weights; embeddings cached in {@code cache}. */
        static ClapEmbedder randomClap(Compute compute, Path cache) throws IOException {
            torch.manual_seed(0);
            return ClapEmbedder.create(ClapFeatures.Config.fromJson(resource(CLAP_PREPROCESSOR)),
                    ClapAudioEncoder.Config.fromJson(resource(CLAP_SHAPE)), Weights.random(compute), ClapWindows.SINGLE, cache);
        }
    }

    @Option(scope = CommandLine.ScopeType.INHERIT, names = "--model",
            description = "Benchmark this model's real weights (hub id or local folder) instead of a random --shape.")
    String model;

    @Option(scope = CommandLine.ScopeType.INHERIT, names = "--shape", defaultValue = "small",
            description = "Model shape: small, medium, large, or the path of a MusicGen config.json (default: ${DEFAULT-VALUE}).")
    String shape;

    @Option(scope = CommandLine.ScopeType.INHERIT, names = "--steps", defaultValue = "50", description = "Timed decode steps (50 = one second of audio; default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(scope = CommandLine.ScopeType.INHERIT, names = "--warmup", defaultValue = "5", description = "Untimed decode steps first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(scope = CommandLine.ScopeType.INHERIT, names = "--batch", defaultValue = "1", description = "Prompts decoded together; guidance doubles the rows (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(scope = CommandLine.ScopeType.INHERIT, names = "--text-tokens", defaultValue = "12", description = "Prompt length in tokens (default: ${DEFAULT-VALUE}).")
    int textTokens;

    @Option(scope = CommandLine.ScopeType.INHERIT, names = "--window", defaultValue = "250", description = "Frames in each training window (250 = 5 s; 0 skips training; default: ${DEFAULT-VALUE}).")
    int window;

    @Option(scope = CommandLine.ScopeType.INHERIT, names = "--tokens", defaultValue = "10", description = "Learned tokens in each prompt (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(scope = CommandLine.ScopeType.INHERIT, names = "--train-steps", defaultValue = "2", description = "Timed training steps (after one untimed; default: ${DEFAULT-VALUE}).")
    int trainSteps;

    @Option(scope = CommandLine.ScopeType.INHERIT, names = "--threads", defaultValue = "0", description = "CPU cores to use (0 = OMP_NUM_THREADS when set, else all; default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(scope = CommandLine.ScopeType.INHERIT, names = "--device", defaultValue = "auto", description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(scope = CommandLine.ScopeType.INHERIT, names = "--dtype", defaultValue = "auto", description = "auto (f32 on CPU, bf16 on CUDA), f32, f16, bf16, or on the CPU f16w (f32 activations, f16 packed decoder weights) (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(scope = CommandLine.ScopeType.INHERIT, names = "--json", description = "Also write the figures to this JSON file.")
    Path json;

    @Override
    public Integer call() throws IOException {
        return run(true, window > 0, true);
    }

    int run(boolean decode, boolean ti, boolean encode) throws IOException {
        CpuThreads.configure(threads);
        // decoding alone loads the model as generate does, its projection weights packed for oneDNN; with the
        // training step in the same process they stay plain, as train needs them
        Compute compute = decode && !ti ? Compute.choose(device, dtype).forInference() : Compute.choose(device, dtype);
        torch.manual_seed(0);
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("model", model != null ? model + " weights" : shape + " shape, random weights");
        figures.put("device", compute.device().str().getString());
        figures.put("dtype", compute.dtypeName());
        figures.put("packed_weights", compute.packedWeights());
        figures.put("threads", CpuThreads.cores());
        figures.put("cpu", cpuModel());
        // the allocator setting, and with it where the weights live, changes EnCodec's speed severalfold and the
        // training step's by a fifth (README, "Build choices"), so both go with the figures
        figures.put("glibc_tunables", Objects.requireNonNullElse(System.getenv("GLIBC_TUNABLES"), ""));
        String weightsAt = model == null ? "random" : Weights.resident() ? "resident" : "mapped";
        figures.put("weights", weightsAt);
        long t0 = System.nanoTime();
        try (ModelFolder folder = model == null ? null
                : ModelFolder.open(HubClient.fromEnvironment().resolveModel(model, new ProgressBar()))) {
            MusicGen.Config config = MusicGen.Config.fromJson(folder != null ? folder.config() : shapeConfig());
            Weights weights = folder != null ? folder.weights(compute) : Weights.random(compute);
            // encoding alone builds EnCodec alone, as prepare does: T5 and the decoder would only add load and memory
            MusicGen net = decode || ti ? new MusicGen(config, weights) : null;
            EnCodec codec = net != null ? net.audioEncoder() : MusicGen.audioEncoder(config, weights);
            System.out.printf(Locale.ROOT, "model      %s%s, %s%s, %d cores (%sbuilt in %.1f s)%n", figures.get("model"),
                    model == null ? "" : weightsAt.equals("resident") ? " read into memory" : " mapped", compute,
                    compute.packedWeights() ? " (projections packed for oneDNN)" : "", CpuThreads.cores(),
                    net == null ? "EnCodec only, " : "", seconds(t0));
            if (decode) decode(net, compute, figures);
            if (ti && compute.halfWeights()) {
                System.out.println("train      skipped: --dtype f16w is for generation (its packed weights have no gradients)");
            } else if (ti) {
                trainSteps(net, compute, figures);
            }
            if (encode) encode(codec, compute, figures);
        }
        figures.put("peak_rss_bytes", peakResidentBytes());
        if (compute.isCuda()) figures.putAll(gpuPeaks(compute));
        System.out.printf(Locale.ROOT, "memory     peak resident %.2f GB (weights, activations and the JVM)%n",
                ((Number) figures.get("peak_rss_bytes")).longValue() / 1e9);
        if (json != null) {
            AtomicFiles.writeBytes(json, new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(figures));
        }
        return 0;
    }

    private JsonNode shapeConfig() throws IOException {
        Path file = Path.of(shape);
        if (Files.isRegularFile(file)) return ModelFolder.readJson(file, true);
        JsonNode config = resource("/shapes/musicgen-" + shape.toLowerCase(Locale.ROOT) + ".json");
        if (config == null) {
            throw new BadInputException("--shape " + shape + ": neither small, medium, large nor a config.json file; use one of those");
        }
        return config;
    }

    /** A bundled JSON file, null if there is none of that name. */
    private static JsonNode resource(String name) throws IOException {
        try (InputStream in = BenchCommand.class.getResourceAsStream(name)) {
            return in == null ? null : new ObjectMapper().readTree(in);
        }
    }

    private void decode(MusicGen model, Compute compute, Map<String, Object> figures) {
        Tensor ids = torch.randint(2, model.config().text().vocabSize(), new long[]{batch, textTokens}, compute.longs());
        Tensor mask = torch.ones_like(ids);
        Tensor states = model.condition(ids, mask);
        CodeSampler.Settings warm = CodeSampler.Settings.sampling(Math.max(warmup, model.config().decoder().numCodebooks()), 3.0, 250, 1.0, 1.0, 1);
        CodeSampler.generate(model.decoder(), states, mask, warm, null);
        CodeSampler.Settings timed = CodeSampler.Settings.sampling(steps, 3.0, 250, 1.0, 1.0, 1);
        long before = Pointer.physicalBytes();
        long t0 = System.nanoTime();
        CodeSampler.generate(model.decoder(), states, mask, timed, null);
        double s = seconds(t0);
        double stepsPerSecond = steps / s;
        double frameRate = model.audioEncoder().frameRate();
        System.out.printf(Locale.ROOT, "decode     %d steps, batch %d with guidance (%d rows), top-k 250: %.2f steps/s, %.1f ms/step, real-time factor %.3f (audio s per wall s, x%d prompts)%n",
                steps, batch, 2 * batch, stepsPerSecond, 1000 * s / steps, stepsPerSecond / frameRate, batch);
        System.out.printf(Locale.ROOT, "memory     resident %+.1f MB over the timed decode%n", (Pointer.physicalBytes() - before) / 1e6);
        figures.put("decode_batch", batch);
        figures.put("decode_ms_per_step", 1000 * s / steps);
    }

    /** The training step as {@code train} runs it: the full loss with its regularisers, backward, Adam. */
    private void trainSteps(MusicGen model, Compute compute, Map<String, Object> figures) {
        String slow = CpuFeatures.slowBf16(compute);
        if (slow != null) System.err.println(slow);
        int k = model.config().decoder().numCodebooks();
        long vocab = model.config().decoder().vocabSize();
        int length = textTokens + tokens;
        Tensor ids = torch.randint(2, model.config().text().vocabSize(), new long[]{batch, length}, compute.longs());
        long[] at = new long[batch * length];
        java.util.Arrays.fill(at, -1);
        for (int b = 0; b < batch; b++) for (int i = 0; i < tokens; i++) at[b * length + textTokens / 2 + i] = i;
        ConceptPrompts.Batch prompts = new ConceptPrompts.Batch(ids, torch.ones_like(ids), Tensors.longs(at, batch, length));
        List<ConceptPrompts.Concept> concepts = List.of(new ConceptPrompts.Concept("bench", tokens, 0));
        Tensor learned = torch.randn(tokens, model.config().text().dModel()).to(compute.device(), ScalarType.Float).requires_grad_(true);
        Adam adam = Adam.standard(learned);
        Tensor codes = torch.randint(0, vocab, new long[]{batch, k, window}, compute.longs());
        TextualInversion.Alphas alphas = new TextualInversion.Alphas(1.0, 0.01, 0.1, 1.5);
        double total = 0;
        float loss = 0;
        for (int i = 0; i <= trainSteps; i++) {
            long t0 = System.nanoTime();
            try (PointerScope scope = new PointerScope(); CpuThreads.Phase threads = CpuThreads.forSequences(compute)) {
                Tensor l = TextualInversion.loss(model, learned, prompts, codes, null, concepts, alphas).total();
                l.backward();
                adam.step(0.1, 10);
                loss = l.item_float();
            }
            if (i > 0) total += seconds(t0);
        }
        double perStep = total / Math.max(1, trainSteps);
        System.out.printf(Locale.ROOT, "train      batch %d x %d frames (%.1f s of audio), %d learned tokens: %.3f steps/s, %.2f s/step (loss %.3f)%n",
                batch, window, window / (double) model.audioEncoder().frameRate(), tokens, 1 / perStep, perStep, loss);
        figures.put("train_batch", batch);
        figures.put("train_frames", window);
        figures.put("train_s_per_step", perStep);
    }

    /**
     * EnCodec encoding of a 10 s clip of noise, as prepare encodes fragments (in one libtorch phase): one untimed
     * run, then the best of two.
     */
    private void encode(EnCodec codec, Compute compute, Map<String, Object> figures) {
        double clipSeconds = 10;
        int rate = codec.samplingRate();
        Tensor clip = torch.randn(1, 1, (long) (clipSeconds * rate)).mul(Tensors.scalar(0.1)).to(compute.device(), compute.dtype());
        double best = Double.MAX_VALUE;
        try (CpuThreads.Phase threads = CpuThreads.libtorch()) {
            for (int i = 0; i < 3; i++) {
                long t0 = System.nanoTime();
                try (PointerScope scope = new PointerScope()) {
                    codec.encode(clip).cpu();
                }
                if (i > 0) best = Math.min(best, seconds(t0));
            }
        }
        System.out.printf(Locale.ROOT, "encode     EnCodec, %.0f s clip to codes: %.2f s, %.1fx real time%n", clipSeconds, best, clipSeconds / best);
        figures.put("encode_x_realtime", clipSeconds / best);
    }

    /** The process's high-water mark of resident memory, as Linux reports it; -1 elsewhere. */
    static long peakResidentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return -1;
    }

    /** The CUDA caching allocator's peaks on the compute device. */
    private static Map<String, Object> gpuPeaks(Compute compute) {
        Map<String, Object> peaks = new LinkedHashMap<>();
        try {
            var stats = torch.getDeviceStats((byte) Math.max(0, compute.device().index()));
            peaks.put("peak_gpu_bytes", stats.reserved_bytes().peak());
            peaks.put("peak_gpu_allocated_bytes", stats.allocated_bytes().peak());
        } catch (RuntimeException | LinkageError e) {
            peaks.put("peak_gpu_bytes", null);
        }
        return peaks;
    }

    /** The CPU's model name as /proc/cpuinfo gives it. */
    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (IOException e) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
