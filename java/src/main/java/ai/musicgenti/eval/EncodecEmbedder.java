package ai.musicgenti.eval;

import ai.musicgenti.audio.AudioDecoder;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.hub.HubClient;
import ai.musicgenti.hub.ProgressListener;
import ai.musicgenti.models.EnCodec;
import com.fasterxml.jackson.databind.JsonNode;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Path;

/**
 * EnCodec latents as embeddings (fadtk's {@code encodec-emb}): the continuous encoder output before quantisation,
 * one row per frame (50 per second for MusicGen's codec). A cheap FAD that needs no model beyond the one that
 * generates, and with many rows per clip its covariance is full rank even for small sets.
 */
public final class EncodecEmbedder extends AudioEmbedder {
    private final ModelFolder folder;
    private final EnCodec codec;

    private EncodecEmbedder(ModelFolder folder, EnCodec codec, Path cacheDir) {
        super(cacheDir);
        this.folder = folder;
        this.codec = codec;
    }

    /** The codec of a MusicGen checkpoint (its {@code audio_encoder}) or of a bare EnCodec one, by hub id or folder. */
    public static EncodecEmbedder open(String model, Compute compute, Path cache, ProgressListener progress) throws IOException {
        Path dir = HubClient.fromEnvironment().namedBy("--codec").resolveModel(model, progress);
        ModelFolder folder = ModelFolder.open(dir);
        try {
            JsonNode config = folder.config();
            boolean musicgen = config.path("audio_encoder").isObject();
            EnCodec codec = EnCodec.load(EnCodec.Config.fromJson(musicgen ? config.path("audio_encoder") : config),
                    musicgen ? folder.weights(compute).pp("audio_encoder") : folder.weights(compute));
            return new EncodecEmbedder(folder, codec, (cache != null ? cache : ClapEmbedder.defaultCache()).resolve("encodec-" + weightsKey(dir)));
        } catch (IOException | RuntimeException e) {
            folder.close();
            throw e instanceof BadInputException b ? b : new BadInputException(dir + ": cannot load its EnCodec (" + e.getMessage() + ")", e);
        }
    }

    @Override
    public String describeRows() {
        return "one EnCodec latent per frame (" + codec.frameRate() + " per second of " + codec.samplingRate() + " Hz mono)";
    }

    /** EnCodec is all convolutions. */
    @Override
    public CpuThreads.Phase threads() {
        return CpuThreads.libtorch();
    }

    @Override
    protected float[][] compute(Path audio) {
        float[] wave = AudioDecoder.decode(audio, codec.samplingRate(), true).channels()[0];
        try (PointerScope scope = new PointerScope()) {
            Tensor latent = codec.encodeLatent(Tensors.floats(wave, 1, 1, wave.length)); // [1, hidden, frames]
            return rows(latent.squeeze(0).t().contiguous());
        }
    }

    @Override
    public void close() {
        folder.close();
    }
}
