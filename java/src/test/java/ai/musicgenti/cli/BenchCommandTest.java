package ai.musicgenti.cli;

import ai.musicgenti.audio.ClapFeatures;
import ai.musicgenti.core.Weights;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.models.ClapAudioEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code bench eval} without a checkpoint (the bundled laion/larger_clap_music shape on random weights), {@code bench encode}. */
class BenchCommandTest {

    @Test
    void bundledClapShapeIsHtsatBaseAsLargerClapMusic() throws Exception {
        ClapAudioEncoder.Config audio = ClapAudioEncoder.Config.fromJson(resource(BenchCommand.Eval.CLAP_SHAPE));
        assertEquals(128, audio.patchEmbedsHiddenSize());
        assertArrayEquals(new int[]{2, 2, 12, 2}, audio.depths());
        assertArrayEquals(new int[]{4, 8, 16, 32}, audio.numAttentionHeads());
        assertEquals(1024, audio.hiddenSize());
        assertEquals(512, audio.projectionDim());
        assertEquals(8, audio.windowSize());
        assertEquals(256, audio.specSize());
        assertEquals(64, audio.numMelBins());
        assertFalse(audio.enableFusion());

        ClapFeatures.Config features = ClapFeatures.Config.fromJson(resource(BenchCommand.Eval.CLAP_PREPROCESSOR));
        assertEquals(48000, features.samplingRate());
        assertEquals(480000, features.maxSamples());
        assertEquals(480, features.hopLength());
        assertEquals(64, features.featureSize());
        assertEquals("rand_trunc", features.truncation());
        assertEquals("repeatpad", features.padding());
    }

    @Test
    void benchEvalRunsOnRandomWeightsOfTheRealShapeWithoutDownloading() {
        Cli.Run r = Cli.run("bench", "eval", "--clips", "1", "--seconds", "1", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("random weights of the laion/larger_clap_music shape"), r.out());
        assertTrue(r.out().matches("(?s).*eval +1 clips x 1\\.0 s \\(1 windows of 10 s\\): [0-9.]+ audio s embedded per s.*"), r.out());
    }

    @Test
    void benchEncodeBuildsEnCodecAloneAndWritesItsFigures(@TempDir Path tmp) throws Exception {
        Path json = tmp.resolve("bench.json");
        Cli.Run r = Cli.run("bench", "encode", "--model", Golden.firstOfKind("musicgen_generate").dir().toString(),
                "--device", "cpu", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("EnCodec only, built in"), r.out());
        assertTrue(r.out().matches("(?s).*encode +EnCodec, 10 s clip to codes: [0-9.]+ s, [0-9.]+x real time.*"), r.out());
        assertFalse(r.out().contains("decode ") || r.out().contains("train "), "only the encode part ran: " + r.out());
        JsonNode figures = new ObjectMapper().readTree(json.toFile());
        assertTrue(figures.path("encode_x_realtime").asDouble() > 0, figures.toString());
        assertEquals(Weights.resident() ? "resident" : "mapped", figures.path("weights").asText());
        assertTrue(figures.has("glibc_tunables") && figures.path("peak_rss_bytes").asLong() > 0, figures.toString());
    }

    private static JsonNode resource(String name) throws Exception {
        try (InputStream in = BenchCommand.class.getResourceAsStream(name)) {
            assertTrue(in != null, name + " is bundled");
            return new ObjectMapper().readTree(in);
        }
    }
}
