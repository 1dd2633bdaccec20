package ai.musicgenti.eval;

import ai.musicgenti.audio.ClapFeatures;
import ai.musicgenti.audio.Wav;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Weights;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.models.ClapAudioEncoder;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ClapEmbedder#create} on random weights of the tiny golden CLAP's config (what {@code bench eval} does with the real shape). */
class ClapEmbedderTest {

    @Test
    void randomWeightsGiveFiniteUnitNormEmbeddingsRepeatablyForASeed(@TempDir Path dir) throws Exception {
        Path golden = Golden.firstOfKind("clap_audio").dir();
        ClapFeatures.Config features = ClapFeatures.Config.fromJson(ModelFolder.readJson(golden.resolve("preprocessor_config.json"), true));
        ClapAudioEncoder.Config encoder = ClapAudioEncoder.Config.fromJson(ModelFolder.readJson(golden.resolve("config.json"), true));
        Random rng = new Random(1);
        float[] x = new float[15 * features.samplingRate()]; // one full 10 s window and a 5 s rest
        for (int n = 0; n < x.length; n++) x[n] = (float) (0.1 * rng.nextGaussian());
        Path wav = dir.resolve("noise.wav");
        Wav.write(wav, new float[][]{x}, features.samplingRate(), Wav.Format.FLOAT32);

        float[][][] runs = new float[2][][];
        for (int run = 0; run < 2; run++) {
            torch.manual_seed(0);
            try (ClapEmbedder embedder = ClapEmbedder.create(features, encoder, Weights.random(Compute.cpu()), ClapWindows.SINGLE, dir.resolve("cache" + run))) {
                runs[run] = embedder.embed(wav);
            }
        }
        float[][] rows = runs[0];
        assertEquals(2, rows.length, "two windows");
        for (float[] row : rows) {
            assertEquals(encoder.projectionDim(), row.length);
            double sq = 0;
            for (float v : row) {
                assertTrue(Float.isFinite(v), "random weights must give finite embeddings (BatchNorm variances positive)");
                sq += v * v;
            }
            assertEquals(1.0, Math.sqrt(sq), 1e-4, "unit norm");
        }
        for (int i = 0; i < rows.length; i++) assertArrayEquals(rows[i], runs[1][i], "same seed, same weights, same embeddings");
    }
}
