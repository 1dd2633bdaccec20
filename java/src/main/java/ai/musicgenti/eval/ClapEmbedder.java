package ai.musicgenti.eval;

import ai.musicgenti.audio.AudioDecoder;
import ai.musicgenti.audio.ClapFeatures;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.hub.HubClient;
import ai.musicgenti.hub.ProgressListener;
import ai.musicgenti.models.ClapAudioEncoder;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * CLAP audio embeddings of audio files, the way the FAD tools take them: the file decoded to mono at CLAP's rate
 * (48 kHz) and cut into consecutive 10 s windows (the extractor's input length), one embedding per window; a file or
 * last piece shorter than a window is repeat-padded by the extractor, and a last piece under 1 s is dropped unless it
 * is all there is. Embeddings are cached per file content, so a reference set is embedded once.
 */
public final class ClapEmbedder implements AutoCloseable {
    private static final double MIN_WINDOW_SECONDS = 1.0;

    private final ModelFolder folder;
    private final ClapFeatures features;
    private final ClapAudioEncoder encoder;
    private final Path cacheDir;

    private ClapEmbedder(ModelFolder folder, ClapFeatures features, ClapAudioEncoder encoder, Path cacheDir) {
        this.folder = folder;
        this.features = features;
        this.encoder = encoder;
        this.cacheDir = cacheDir;
    }

    /** Where embeddings are cached unless a command says otherwise. */
    public static Path defaultCache() {
        return Path.of(System.getProperty("user.home"), ".cache", "musicgen-ti", "embeddings");
    }

    /** A CLAP checkpoint by hub id or folder (downloaded when needed); {@code cache} null = {@link #defaultCache()}. */
    public static ClapEmbedder open(String clap, Compute compute, Path cache, ProgressListener progress) {
        Path dir = HubClient.fromEnvironment().resolveModel(clap, progress);
        return load(dir, compute, cache != null ? cache : defaultCache());
    }

    /** A CLAP checkpoint folder (config.json, preprocessor_config.json, weights); embeddings cached under {@code cache}. */
    public static ClapEmbedder load(Path dir, Compute compute, Path cache) {
        ModelFolder folder = ModelFolder.open(dir);
        try {
            ClapFeatures features = new ClapFeatures(ClapFeatures.Config.fromJson(
                    ModelFolder.readJson(dir.resolve("preprocessor_config.json"), true)), 0);
            ClapAudioEncoder encoder = new ClapAudioEncoder(ClapAudioEncoder.Config.fromJson(folder.config()), folder.weights(compute));
            // the weights' identity keys the cache: another checkpoint never reads these embeddings
            String model = sha256(Files.newInputStream(firstWeights(dir))).substring(0, 16);
            return new ClapEmbedder(folder, features, encoder, cache.resolve("clap-" + model));
        } catch (IOException | RuntimeException e) {
            folder.close();
            if (e instanceof BadInputException b) throw b;
            throw new BadInputException(dir + ": cannot load the CLAP model (" + e.getMessage() + ")", e);
        }
    }

    /** One embedding per window [windows, dim], from the cache when this file's content was embedded before. */
    public float[][] embed(Path audio) throws IOException {
        String hash = sha256(Files.newInputStream(audio));
        Path cached = cacheDir.resolve(hash + ".safetensors");
        if (Files.exists(cached)) {
            Tensor t = Safetensors.readAll(cached).get("embeddings");
            if (t != null) return rows(t);
        }
        AudioDecoder.Audio decoded = AudioDecoder.decode(audio, features.config().samplingRate(), true);
        float[] wave = decoded.channels()[0];
        int window = features.config().maxSamples();
        int min = (int) (MIN_WINDOW_SECONDS * features.config().samplingRate());
        List<float[]> windows = new ArrayList<>();
        for (int start = 0; start < wave.length; start += window) {
            int end = Math.min(wave.length, start + window);
            if (end - start >= min || windows.isEmpty() && start == 0) windows.add(Arrays.copyOfRange(wave, start, end));
        }
        float[][] out;
        try (PointerScope scope = new PointerScope()) {
            Tensor embeds = encoder.forward(features.features(windows, null).inputFeatures()).embeds();
            out = rows(embeds);
            Safetensors.write(cached, Map.of("embeddings", Tensors.floats(flatten(out), out.length, out[0].length)),
                    Map.of("source", audio.getFileName().toString(), "windows_seconds", Double.toString(window / (double) features.config().samplingRate())));
        }
        return out;
    }

    @Override
    public void close() {
        folder.close();
    }

    private static float[][] rows(Tensor t) {
        float[] flat = Tensors.toFloats(t);
        int n = (int) t.size(0), d = (int) t.size(1);
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) out[i] = Arrays.copyOfRange(flat, i * d, (i + 1) * d);
        return out;
    }

    private static float[] flatten(float[][] rows) {
        float[] out = new float[rows.length * rows[0].length];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, out, i * rows[0].length, rows[0].length);
        return out;
    }

    private static Path firstWeights(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".safetensors") && !p.getFileName().toString().equals("io.safetensors"))
                    .sorted().findFirst().orElseThrow(() -> new BadInputException(dir + ": no .safetensors weights"));
        }
    }

    static String sha256(InputStream in) throws IOException {
        try (DigestInputStream d = new DigestInputStream(in, MessageDigest.getInstance("SHA-256"))) {
            d.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(d.getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }
}
