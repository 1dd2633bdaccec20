package ai.musicgenti.audio;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.models.ClapAudioEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClapFeaturesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A small extractor (1 s clips at 8 kHz) so that the tests stay quick. */
    private static ClapFeatures small(String padding) throws Exception {
        JsonNode json = JSON.readTree("{\"sampling_rate\": 8000, \"max_length_s\": 1, \"hop_length\": 80,"
                + " \"fft_window_size\": 256, \"feature_size\": 16, \"frequency_min\": 50, \"frequency_max\": 4000,"
                + " \"truncation\": \"rand_trunc\", \"padding\": \"" + padding + "\"}");
        return new ClapFeatures(ClapFeatures.Config.fromJson(json), 7L);
    }

    private static float[] tone(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (0.3 * Math.sin(2 * Math.PI * 440 * i / 8000.0) + 0.01 * Math.sin(i * 0.37));
        return x;
    }

    @Test
    void repeatpadEqualsTheTiledWaveformZeroPadded() throws Exception {
        ClapFeatures f = small("repeatpad");
        float[] wave = tone(3000);
        float[] tiled = new float[8000];
        for (int i = 0; i < 6000; i++) tiled[i] = wave[i % 3000];
        try (PointerScope scope = new PointerScope()) {
            ClapFeatures.Clip a = f.features(wave, null), b = f.features(tiled, null);
            assertFalse(a.isLonger());
            assertArrayEquals(new long[]{1, 1, 101, 16}, a.inputFeatures().shape());
            assertArrayEquals(Tensors.toFloats(b.inputFeatures()), Tensors.toFloats(a.inputFeatures()));
        }
    }

    @Test
    void longInputsAreCroppedAtTheGivenOrASeededOffset() throws Exception {
        float[] wave = tone(9000);
        try (PointerScope scope = new PointerScope()) {
            ClapFeatures.Clip at = small("repeatpad").features(wave, 640L);
            assertTrue(at.isLonger());
            assertEquals(640, at.offset());
            float[] cropped = Arrays.copyOfRange(wave, 640, 640 + 8000);
            assertArrayEquals(Tensors.toFloats(small("repeatpad").features(cropped, null).inputFeatures()),
                    Tensors.toFloats(at.inputFeatures()));

            long drawn = small("repeatpad").features(wave, null).offset();
            assertEquals(drawn, small("repeatpad").features(wave, null).offset(), "same seed, same crop");
            assertTrue(drawn >= 0 && drawn <= 1000);
            assertThrows(BadInputException.class, () -> small("repeatpad").features(wave, 1001L));
        }
    }

    @Test
    void batchStacksClipsAndFlagsLongOnes() throws Exception {
        ClapFeatures f = small("repeatpad");
        try (PointerScope scope = new PointerScope()) {
            ClapFeatures.Batch batch = f.features(List.of(tone(2000), tone(8500)), Arrays.asList(null, 100L));
            assertArrayEquals(new long[]{2, 1, 101, 16}, batch.inputFeatures().shape());
            assertArrayEquals(new long[]{0, 1}, Tensors.toLongs(batch.isLonger()));
            assertThrows(BadInputException.class, () -> f.features(List.of(tone(10)), List.of()));
        }
    }

    @Test
    void fusionIsRejected() throws Exception {
        assertThrows(BadInputException.class, () -> ClapFeatures.Config.fromJson(JSON.readTree("{\"truncation\": \"fusion\"}")));
        assertThrows(BadInputException.class, () -> ClapFeatures.Config.fromJson(JSON.readTree("{}")),
                "the extractor's default truncation is fusion");
        BadInputException e = assertThrows(BadInputException.class,
                () -> ClapAudioEncoder.Config.fromJson(JSON.readTree("{\"audio_config\": {\"enable_fusion\": true}}")));
        assertTrue(e.getMessage().contains("fusion"), e.getMessage());
    }

    @Test
    void encoderConfigTakesProjectionFromTheClapConfig() throws Exception {
        ClapAudioEncoder.Config c = ClapAudioEncoder.Config.fromJson(JSON.readTree(
                "{\"projection_dim\": 32, \"audio_config\": {\"projection_dim\": 99}}"));
        assertEquals(32, c.projectionDim());
        assertEquals(768, c.hiddenSize());
        assertEquals(4, c.freqRatio());
        assertEquals(512, ClapAudioEncoder.Config.fromJson(JSON.readTree("{\"audio_config\": {}}")).projectionDim());
    }
}
