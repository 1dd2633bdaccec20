package ai.musicgenti.eval;

import ai.musicgenti.audio.AudioDecoder;
import ai.musicgenti.audio.ClapFeatures;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Caches;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Weights;
import ai.musicgenti.hub.HubClient;
import ai.musicgenti.hub.ProgressListener;
import ai.musicgenti.models.ClapAudioEncoder;
import ai.musicgenti.models.ClapTextEncoder;
import ai.musicgenti.text.PromptTokenizer;
import org.bytedeco.javacpp.PointerScope;


import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * CLAP audio embeddings of audio files, the way the FAD tools take them: the file decoded to mono at CLAP's rate
 * (48 kHz) and cut into consecutive 10 s windows (the extractor's input length), one embedding per window; a file or
 * last piece shorter than a window is repeat-padded by the extractor, and a last piece under 1 s is dropped unless it
 * is all there is. Embeddings are cached per file content, so a reference set is embedded once.
 */
public final class ClapEmbedder extends AudioEmbedder {
    private static final double MIN_WINDOW_SECONDS = 1.0;

    private final ModelFolder folder;
    private final ClapFeatures features;
    private final ClapAudioEncoder encoder;
    private final Weights weights;
    // loaded on first use: FAD needs only the audio tower
    private ClapTextEncoder textEncoder;
    private PromptTokenizer tokenizer;

    /** @param folder the checkpoint the weights come from, closed with the embedder; null for weights without one */
    private ClapEmbedder(ModelFolder folder, ClapFeatures.Config features, ClapAudioEncoder.Config encoder, Weights weights, Path cacheDir) {
        super(cacheDir);
        this.folder = folder;
        this.features = new ClapFeatures(features, 0);
        this.encoder = new ClapAudioEncoder(encoder, weights);
        this.weights = weights;
    }

    /** The CLAP checkpoint fadtk's {@code clap-laion-music} corresponds to, in Hugging Face format. */
    public static final String DEFAULT_CLAP = "laion/larger_clap_music";

    /** Where embeddings are cached unless a command says otherwise. */
    public static Path defaultCache() {
        return Caches.root().resolve("embeddings");
    }

    /** A CLAP checkpoint by hub id or folder (downloaded when needed); {@code cache} null = {@link #defaultCache()}. */
    public static ClapEmbedder open(String clap, Compute compute, Path cache, ProgressListener progress) {
        Path dir = HubClient.fromEnvironment().namedBy("--clap").resolveModel(clap, progress);
        return load(dir, compute, cache != null ? cache : defaultCache());
    }

    /**
     * An embedder on weights that no checkpoint folder holds, e.g. {@link Weights#random} of a real shape for
     * benchmarks; embeddings cached in {@code cacheDir} itself.
     */
    public static ClapEmbedder create(ClapFeatures.Config features, ClapAudioEncoder.Config encoder, Weights weights, Path cacheDir) {
        return new ClapEmbedder(null, features, encoder, weights, cacheDir);
    }

    /** A CLAP checkpoint folder (config.json, preprocessor_config.json, weights); embeddings cached under {@code cache}. */
    public static ClapEmbedder load(Path dir, Compute compute, Path cache) {
        ModelFolder folder = ModelFolder.open(dir);
        try {
            ClapFeatures.Config features = ClapFeatures.Config.fromJson(
                    ModelFolder.readJson(dir.resolve("preprocessor_config.json"), true));
            return new ClapEmbedder(folder, features, ClapAudioEncoder.Config.fromJson(folder.config()), folder.weights(compute),
                    cache.resolve("clap-" + weightsKey(dir)));
        } catch (IOException | RuntimeException e) {
            folder.close();
            if (e instanceof BadInputException b) throw b;
            throw new BadInputException(dir + ": cannot load the CLAP model (" + e.getMessage() + ")", e);
        }
    }

    @Override
    public String describeRows() {
        return "one CLAP embedding per 10 s window (" + features.config().samplingRate() + " Hz mono; shorter pieces repeat-padded)";
    }

    @Override
    protected float[][] compute(Path audio) {
        AudioDecoder.Audio decoded = AudioDecoder.decode(audio, features.config().samplingRate(), true);
        float[] wave = decoded.channels()[0];
        int window = features.config().maxSamples();
        int min = (int) (MIN_WINDOW_SECONDS * features.config().samplingRate());
        List<float[]> windows = new ArrayList<>();
        for (int start = 0; start < wave.length; start += window) {
            int end = Math.min(wave.length, start + window);
            if (end - start >= min || windows.isEmpty() && start == 0) windows.add(Arrays.copyOfRange(wave, start, end));
        }
        try (PointerScope scope = new PointerScope()) {
            return rows(encoder.forward(features.features(windows, null).inputFeatures()).embeds());
        }
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
