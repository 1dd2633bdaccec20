package ai.musicgenti.eval;

import ai.musicgenti.audio.AudioDecoder;
import ai.musicgenti.audio.ClapFeatures;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Caches;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Weights;
import ai.musicgenti.hub.HubClient;
import ai.musicgenti.hub.ProgressListener;
import ai.musicgenti.models.ClapAudioEncoder;
import ai.musicgenti.models.ClapTextEncoder;
import ai.musicgenti.text.PromptTokenizer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;


import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * CLAP audio embeddings of audio files, the way the FAD tools take them: the file decoded to mono (channel mean) at
 * CLAP's rate (48 kHz) and cut into windows of the extractor's input length (10 s) as {@link ClapWindows} says, one
 * embedding per window. Embeddings are cached per file content and windowing, so a reference set is embedded once.
 */
public final class ClapEmbedder extends AudioEmbedder {
    // fadtk mode gives a 3-minute song 180 windows: embedding them in slices bounds the activations' memory
    private static final int WINDOWS_PER_BATCH = 16;

    private final ModelFolder folder;
    private final ClapFeatures features;
    private final ClapAudioEncoder encoder;
    private final Weights weights;
    private final ClapWindows windows;
    private final Checkpoint checkpoint;
    // loaded on first use: FAD needs only the audio tower
    private ClapTextEncoder textEncoder;
    private PromptTokenizer tokenizer;

    /** @param folder the checkpoint the weights come from, closed with the embedder; null for weights without one */
    private ClapEmbedder(ModelFolder folder, ClapFeatures.Config features, ClapAudioEncoder.Config encoder, Weights weights,
                         ClapWindows windows, Checkpoint checkpoint, Path cacheDir) {
        super(cacheDir);
        this.windows = windows;
        this.checkpoint = checkpoint;
        this.folder = folder;
        this.features = new ClapFeatures(features, 0);
        this.encoder = new ClapAudioEncoder(encoder, weights);
        this.weights = weights;
    }

    /**
     * Which CLAP weights produced the embeddings, for reports: the hub id or the folder's real path, the SHA-256 of its
     * weights file, and the hub commit when the folder is a hub snapshot (null otherwise).
     */
    public record Checkpoint(String id, String weightsSha256, String revision) {
    }

    /** Its windows go through the tower as batches of many rows, whose F32 projections run in oneDNN on libtorch's pool. */
    @Override
    public CpuThreads.Phase threads() {
        return CpuThreads.forSequences(weights.compute());
    }

    /** The CLAP checkpoint fadtk's {@code clap-laion-music} corresponds to, in Hugging Face format. */
    public static final String DEFAULT_CLAP = "laion/larger_clap_music";

    /** Where embeddings are cached unless a command says otherwise. */
    public static Path defaultCache() {
        return Caches.root().resolve("embeddings");
    }

    /** A CLAP checkpoint by hub id or folder (downloaded when needed); {@code cache} null = {@link #defaultCache()}. */
    public static ClapEmbedder open(String clap, ClapWindows windows, Compute compute, Path cache, ProgressListener progress) {
        Path dir = HubClient.fromEnvironment().namedBy("--clap").resolveModel(clap, progress);
        return load(dir, HubClient.canonicalId(clap), windows, compute, cache != null ? cache : defaultCache());
    }

    /**
     * An embedder on weights that no checkpoint folder holds, e.g. {@link Weights#random} of a real shape for
     * benchmarks; embeddings cached in {@code cacheDir} itself.
     */
    public static ClapEmbedder create(ClapFeatures.Config features, ClapAudioEncoder.Config encoder, Weights weights,
                                      ClapWindows windows, Path cacheDir) {
        return new ClapEmbedder(null, features, encoder, weights, windows, new Checkpoint("(weights without a checkpoint)", null, null), cacheDir);
    }

    /** A CLAP checkpoint folder (config.json, preprocessor_config.json, weights); embeddings cached under {@code cache}. */
    public static ClapEmbedder load(Path dir, ClapWindows windows, Compute compute, Path cache) {
        return load(dir, HubClient.canonicalId(dir.toString()), windows, compute, cache);
    }

    private static ClapEmbedder load(Path dir, String id, ClapWindows windows, Compute compute, Path cache) {
        ModelFolder folder = ModelFolder.open(dir);
        try {
            ClapFeatures.Config features = ClapFeatures.Config.fromJson(
                    ModelFolder.readJson(dir.resolve("preprocessor_config.json"), true));
            String sha = weightsSha256(dir);
            Path parent = dir.toAbsolutePath().getParent();
            // a hub snapshot is snapshots/<commit>/: the commit is the revision, known without asking the hub
            String revision = parent != null && parent.getFileName() != null && parent.getFileName().toString().equals("snapshots")
                    ? dir.getFileName().toString() : null;
            return new ClapEmbedder(folder, features, ClapAudioEncoder.Config.fromJson(folder.config()), folder.weights(compute),
                    windows, new Checkpoint(id, sha, revision), cache.resolve("clap-" + windows.id() + "-" + sha.substring(0, 16)));
        } catch (IOException | RuntimeException e) {
            folder.close();
            if (e instanceof BadInputException b) throw b;
            throw new BadInputException(dir + ": cannot load the CLAP model (" + e.getMessage() + ")", e);
        }
    }

    /** The weights the embeddings come from. */
    public Checkpoint checkpoint() {
        return checkpoint;
    }

    @Override
    public String describeRows() {
        return windows.describe(features.config().samplingRate(), features.config().maxSamples());
    }

    /**
     * The embedding model named in saved FAD statistics: the checkpoint and the windowing, since a reference cut one
     * way is no reference for clips cut the other.
     */
    public String statsModel(String clapId) {
        return clapId + " (" + windows.id() + " windows)";
    }

    /** How this embedder cuts files into windows. */
    public ClapWindows windows() {
        return windows;
    }

    @Override
    protected float[][] compute(Path audio) {
        AudioDecoder.Audio decoded = AudioDecoder.decode(audio, features.config().samplingRate(), true);
        List<float[]> cut = windows.cut(decoded.channels()[0], features.config().samplingRate(), features.config().maxSamples());
        if (cut.isEmpty()) throw new BadInputException(audio + ": no audio samples to embed; check the file");
        List<float[]> out = new ArrayList<>(cut.size());
        for (int from = 0; from < cut.size(); from += WINDOWS_PER_BATCH) {
            try (PointerScope scope = new PointerScope()) {
                Tensor embeds = encoder.forward(features.features(cut.subList(from, Math.min(cut.size(), from + WINDOWS_PER_BATCH)), null)
                        .inputFeatures()).embeds();
                // fadtk stores its embeddings as float16 and computes its statistics from those
                out.addAll(Arrays.asList(rows(windows == ClapWindows.FADTK ? embeds.to(ScalarType.Half) : embeds)));
            }
        }
        return out.toArray(float[][]::new);
    }

    /**
     * Unit-norm CLAP text embeddings, one row per text, in the space of the audio rows of {@link #embed}: the dot
     * product of the two is the CLAP text–audio score. Texts longer than the model's positions are cut, keeping the
     * end token, as HF's processor does with truncation.
     */
    public float[][] embedTexts(List<String> texts) {
        if (textEncoder == null) {
            if (folder == null) throw new BadInputException("these CLAP weights come with no checkpoint folder, so no text tokenizer: load a CLAP checkpoint");
            Path tokenizerFile = folder.dir().resolve("tokenizer.json");
            if (!Files.isRegularFile(tokenizerFile)) {
                throw new BadInputException(folder.dir() + " has no tokenizer.json for the CLAP text tower; give a complete CLAP"
                        + " checkpoint (e.g. " + DEFAULT_CLAP + ") or leave out the concept descriptions");
            }
            textEncoder = new ClapTextEncoder(ClapTextEncoder.Config.fromJson(folder.config()), weights);
            tokenizer = PromptTokenizer.load(tokenizerFile);
        }
        try (PointerScope scope = new PointerScope()) {
            PromptTokenizer.Batch batch = tokenizer.encode(texts, textEncoder.config().maxTokens());
            return rows(textEncoder.forward(batch.inputIds(), batch.attentionMask()).embeds());
        }
    }

    /**
     * One embedding for a whole clip, for the measures that count clips rather than windows (nearest-neighbour
     * classification, the CLAP text score): the mean of its window rows scaled back to unit length. It covers all of
     * a clip's audio (in fadtk windowing a 5 s clip has 5 overlapping windows; a 30 s clip in single windowing 3),
     * needs no second pass through the model, and is the window itself when there is only one, so per-clip measures
     * of short clips in single windowing are what they were when every window counted. Unit length, because CLAP's
     * rows are and the text score is a dot product.
     */
    public static float[] clipEmbedding(float[][] windows) {
        if (windows.length == 0) throw new BadInputException("a clip with no CLAP windows has no embedding");
        int d = windows[0].length;
        double[] sum = new double[d];
        for (float[] w : windows) {
            for (int i = 0; i < d; i++) sum[i] += w[i];
        }
        double norm = 0;
        for (double x : sum) norm += x * x;
        norm = Math.sqrt(norm);
        if (norm == 0) throw new BadInputException("a clip's CLAP windows average to zero: it has no direction to compare");
        float[] out = new float[d];
        for (int i = 0; i < d; i++) out[i] = (float) (sum[i] / norm);
        return out;
    }

    /** {@link #clipEmbedding} of each clip's windows, in order. */
    public static float[][] clipEmbeddings(List<float[][]> clips) {
        return clips.stream().map(ClapEmbedder::clipEmbedding).toArray(float[][]::new);
    }

    /**
     * The CLAP text–audio score: the mean cosine of a text row of {@link #embedTexts} with audio rows of {@link #embed}
     * (all unit-norm, so a dot product); NaN without a text or audio.
     */
    public static double score(float[] text, float[][] audio) {
        if (text == null || audio.length == 0) return Double.NaN;
        double sum = 0;
        for (float[] a : audio) {
            double dot = 0;
            for (int i = 0; i < text.length; i++) dot += (double) text[i] * a[i];
            sum += dot;
        }
        return sum / audio.length;
    }

    @Override
    public void close() {
        if (tokenizer != null) tokenizer.close();
        if (folder != null) folder.close();
    }
}
