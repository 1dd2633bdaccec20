package ai.musicgenti.eval;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Tensors;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;

/**
 * Embeddings of audio files for FAD and the nearest-neighbour metrics, cached per file content: a reference set is
 * embedded once, and a cache folder belongs to one model (its weights' hash), so another model never reads it.
 */
public abstract class AudioEmbedder implements AutoCloseable {
    private final Path cacheDir;

    protected AudioEmbedder(Path cacheDir) {
        this.cacheDir = cacheDir;
    }

    /** The file's embeddings [rows, dim]: from the cache when this content was embedded before. */
    public final float[][] embed(Path audio) throws IOException {
        if (!Files.isRegularFile(audio)) throw new BadInputException(audio + ": no such audio file; check the path");
        Path cached = cacheDir.resolve(sha256(Files.newInputStream(audio)) + ".safetensors");
        if (Files.exists(cached)) {
            Tensor t = Safetensors.readAll(cached).get("embeddings");
            if (t != null) return rows(t);
        }
        float[][] out = compute(audio);
        Safetensors.write(cached, Map.of("embeddings", Tensors.floats(flatten(out), out.length, out[0].length)),
                Map.of("source", audio.getFileName().toString(), "rows", describeRows()));
        return out;
    }

    /** Frees the model; embedders hold native weights. */
    @Override
    public abstract void close();

    /** The embeddings of one file, one row per window or frame. */
    protected abstract float[][] compute(Path audio) throws IOException;

    /** What one row stands for (recorded in the cache, said in reports). */
    public abstract String describeRows();

    /**
     * A short key of a model's weights file, naming its cache folder. A hub download is a link to
     * {@code blobs/<sha256>} (checked at download), so its name is the key; other files are hashed.
     */
    protected static String weightsKey(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            Path weights = files.filter(p -> p.toString().endsWith(".safetensors") && !p.getFileName().toString().equals("io.safetensors"))
                    .sorted().findFirst().orElseThrow(() -> new BadInputException(dir + ": no .safetensors weights"));
            String blob = weights.toRealPath().getFileName().toString();
            String sha = blob.matches("[0-9a-f]{64}") ? blob : sha256(Files.newInputStream(weights));
            return sha.substring(0, 16);
        }
    }

    protected static float[][] rows(Tensor t) {
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

    static String sha256(InputStream in) throws IOException {
        try (DigestInputStream d = new DigestInputStream(in, MessageDigest.getInstance("SHA-256"))) {
            d.transferTo(OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(d.getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }
}
