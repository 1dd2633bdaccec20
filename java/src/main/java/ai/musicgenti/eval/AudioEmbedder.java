package ai.musicgenti.eval;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Caches;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Tensors;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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
        Path cached = cacheDir.resolve(Caches.sha256(audio) + ".safetensors");
        if (Files.exists(cached)) {
            Tensor t = Safetensors.readAll(cached).get("embeddings");
            if (t != null) return rows(t);
        }
        float[][] out = compute(audio);
        Safetensors.write(cached, Map.of("embeddings", Tensors.floats(flatten(out), out.length, out[0].length)),
                Map.of("source", audio.getFileName().toString(), "rows", describeRows()));
        return out;
    }

    /**
     * The thread phase ({@link CpuThreads}) its model's work wants, to hold around many {@link #embed} calls: one
     * hand-over of the cores for the whole set instead of two per file. The default is the BLAS phase (no change).
     */
    public CpuThreads.Phase threads() {
        return () -> { };
    }

    /** Frees the model; embedders hold native weights. */
    @Override
    public abstract void close();

    /** The embeddings of one file, one row per window or frame. */
    protected abstract float[][] compute(Path audio) throws IOException;

    /** What one row stands for (recorded in the cache, said in reports). */
    public abstract String describeRows();

    /** A short key of a model's weights file ({@link #weightsSha256}), naming its cache folder. */
    protected static String weightsKey(Path dir) throws IOException {
        return weightsSha256(dir).substring(0, 16);
    }

    /**
     * The SHA-256 of a model's weights file (its safetensors, else its pytorch_model.bin). A hub download is a link
     * to {@code blobs/<sha256>}, so its name is the hash; other files are read.
     */
    protected static String weightsSha256(Path dir) throws IOException {
        Path weights;
        try (var files = Files.list(dir)) {
            weights = files.filter(p -> p.toString().endsWith(".safetensors") && !p.getFileName().toString().equals("io.safetensors"))
                    .sorted().findFirst().orElse(dir.resolve("pytorch_model.bin"));
        }
        if (!Files.exists(weights)) throw new BadInputException(dir + ": no .safetensors weights and no pytorch_model.bin");
        return Caches.contentSha256(weights);
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
}
