package ai.musicgenti.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ProgressBarTest {
    @Test
    void redrawsAtMostTenTimesASecond() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        long[] now = {0};
        ProgressBar bar = new ProgressBar(new PrintStream(bytes, true, StandardCharsets.UTF_8), () -> now[0]);

        bar.onStart("model.safetensors", 4_000_000, 1_000_000);
        for (int i = 1; i <= 30; i++) {
            now[0] = i * 10_000_000L; // every 10 ms: three tenths of a second in all
            bar.onProgress("model.safetensors", 1_000_000 + i * 100_000L);
        }
        bar.onDone("model.safetensors");

        String[] frames = bytes.toString(StandardCharsets.UTF_8).split("\r", -1);
        assertEquals(1 + 1 + 3 + 1, frames.length, "leading empty piece, the start, three redraws, the end");
        assertEquals("model.safetensors  25% 1.0/4.0 MB 0.0 MB/s", frames[1]);
        assertEquals("model.safetensors  50% 2.0/4.0 MB 10.0 MB/s", frames[2], "speed counts only this run's bytes");
        assertEquals("model.safetensors 100% 4.0/4.0 MB 10.0 MB/s" + System.lineSeparator(), frames[5]);
    }
}
