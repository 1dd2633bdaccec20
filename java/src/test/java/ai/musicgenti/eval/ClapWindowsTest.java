package ai.musicgenti.eval;

import ai.musicgenti.core.BadInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * fadtk windowing against values that {@code scripts/reference/fadtk.py} computed with numpy following fadtk's
 * CLAPLaionModel steps (src/test/resources/reference/fadtk/windows.json; the numpy version is in its made_by).
 */
class ClapWindowsTest {

    private static JsonNode reference() throws Exception {
        try (InputStream in = ClapWindowsTest.class.getResourceAsStream("/reference/fadtk/windows.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    /** The script's test signal: int16 / 32768 values, exact in float. */
    private static float[] signal(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) ((((long) i * 7919) % 65536 - 32768) / 32768.0);
        return x;
    }

    @Test
    void fadtkWindowsEverySecondZeroPaddedAsTheNumpyReference() throws Exception {
        JsonNode ref = reference();
        int rate = ref.path("sample_rate").asInt(), window = ref.path("window").asInt();
        assertEquals(5, ClapWindows.FADTK.cut(new float[5 * rate], rate, window).size(), "a 5 s clip gives 5 windows");
        for (JsonNode clip : ref.path("clips")) {
            int n = clip.path("samples").asInt();
            float[] wave = signal(n);
            List<float[]> windows = ClapWindows.FADTK.cut(wave, rate, window);
            assertEquals(clip.path("windows").size(), windows.size(), n + " samples");
            for (int w = 0; w < windows.size(); w++) {
                JsonNode expected = clip.path("windows").get(w);
                float[] got = windows.get(w);
                assertEquals(expected.path("length").asInt(), got.length, "every window is the extractor's full length");
                int valid = expected.path("valid").asInt();
                for (int i = valid; i < got.length; i++) assertEquals(0f, got[i], "zero padding past the clip's end");
                double sum = 0;
                for (float v : got) sum += v;
                assertEquals(expected.path("sum").asDouble(), sum, 1e-9, n + " samples, window " + w);
                assertEquals(ClapWindows.int16RoundTrip(new float[] {wave[expected.path("start").asInt()]})[0], got[0],
                        "window " + w + " starts at " + expected.path("start").asInt());
            }
        }
    }

    @Test
    void int16RoundTripClipsAndTruncatesAsFadtk() throws Exception {
        JsonNode rt = reference().path("round_trip");
        float[] in = new float[rt.path("in").size()];
        for (int i = 0; i < in.length; i++) in[i] = (float) rt.path("in").get(i).asDouble();
        float[] out = ClapWindows.int16RoundTrip(in);
        for (int i = 0; i < in.length; i++) assertEquals((float) rt.path("out").get(i).asDouble(), out[i], "input " + in[i]);
    }

    @Test
    void singleKeepsOneRepeatPaddedWindowPerFragment() {
        int rate = 48000, window = 480000;
        assertEquals(1, ClapWindows.SINGLE.cut(new float[5 * rate], rate, window).size());
        assertEquals(5 * rate, ClapWindows.SINGLE.cut(new float[5 * rate], rate, window).get(0).length, "left short: the extractor repeat-pads");
        assertEquals(1, ClapWindows.SINGLE.cut(new float[window + rate / 2], rate, window).size(), "a last piece under 1 s is dropped");
        assertEquals(2, ClapWindows.SINGLE.cut(new float[window + rate], rate, window).size());
    }

    @Test
    void anUnknownModeNamesTheFlag() {
        assertEquals(ClapWindows.FADTK, ClapWindows.parse("FADTK"));
        BadInputException e = assertThrows(BadInputException.class, () -> ClapWindows.parse("overlap"));
        assertTrue(e.getMessage().startsWith("--windows overlap: use fadtk"), e.getMessage());
    }
}
