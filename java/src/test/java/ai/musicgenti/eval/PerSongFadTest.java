package ai.musicgenti.eval;

import ai.musicgenti.metrics.Frechet;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-song FAD in fadtk windowing (fad --per-song) against {@code scripts/reference/fadtk.py}: per song, fadtk's
 * window count for its length, and its windows' FAD against the reference statistics as fadtk's score_individual
 * computes it (numpy, scipy's sqrtm as cross-check; versions in per_song.json's made_by); a one-window song has none.
 */
class PerSongFadTest {
    @Test
    void perSongFadMatchesTheNumpyReference() throws Exception {
        JsonNode ref;
        ByteBuffer blob;
        try (InputStream json = PerSongFadTest.class.getResourceAsStream("/reference/fadtk/per_song.json");
             InputStream f32 = PerSongFadTest.class.getResourceAsStream("/reference/fadtk/per_song.f32")) {
            ref = new ObjectMapper().readTree(json);
            blob = ByteBuffer.wrap(f32.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
        }
        int dim = ref.path("dim").asInt(), rate = ref.path("sample_rate").asInt(), window = ref.path("window").asInt();
        Frechet.Reference reference = new Frechet.Reference(Frechet.stats(rows(blob, ref.path("reference_rows").asInt(), dim)));
        Map<String, float[][]> songs = new LinkedHashMap<>();
        for (JsonNode song : ref.path("songs")) {
            int windows = ClapWindows.FADTK.cut(new float[song.path("samples").asInt()], rate, window).size();
            assertEquals(song.path("windows").asInt(), windows, song.path("name").asText() + ": fadtk's window count");
            songs.put(song.path("name").asText(), rows(blob, windows, dim));
        }
        Frechet.PerSong perSong = Frechet.perSong(reference, songs);
        List<String> ranked = new ArrayList<>();
        for (Frechet.SongScore s : perSong.scores()) ranked.add(s.song());
        List<String> expectedRank = new ArrayList<>();
        ref.path("ranked").forEach(n -> expectedRank.add(n.asText()));
        assertEquals(expectedRank, ranked, "ranked by |FAD| as score_individual sorts");
        for (JsonNode song : ref.path("songs")) {
            String name = song.path("name").asText();
            if (song.path("fad").isNull()) {
                assertTrue(perSong.skipped().get(name).startsWith("1 row, a song's FAD needs at least 2"), name + ": " + perSong.skipped());
                continue;
            }
            double fad = perSong.scores().stream().filter(s -> s.song().equals(name)).findFirst().orElseThrow().fad();
            // fadtk keeps the rounding noise of the eigenvalues beyond a short song's rank, which we drop (see Frechet)
            assertEquals(song.path("fad").asDouble(), fad, 1e-7 * Math.abs(fad), name);
        }
        assertEquals(1, perSong.skipped().size(), perSong.skipped().toString());
    }

    private static float[][] rows(ByteBuffer blob, int n, int dim) {
        float[][] out = new float[n][dim];
        for (float[] row : out) for (int j = 0; j < dim; j++) row[j] = blob.getFloat();
        return out;
    }
}
