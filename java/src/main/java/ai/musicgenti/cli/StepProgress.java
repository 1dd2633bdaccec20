package ai.musicgenti.cli;

import java.io.PrintStream;
import java.util.Locale;

/** A one-line generation progress bar on stderr: step, steps/s and the time left, redrawn at most ten times a second. */
final class StepProgress {
    private static final long REDRAW_NANOS = 100_000_000L;
    private static final int WIDTH = 30;

    private final PrintStream out;
    private final long total;
    private final long start = System.nanoTime();
    private long lastDraw;

    StepProgress(PrintStream out, long total) {
        this.out = out;
        this.total = total;
    }

    /** {@code done} steps of the total are finished. */
    void update(long done) {
        long now = System.nanoTime();
        if (done < total && now - lastDraw < REDRAW_NANOS) return;
        lastDraw = now;
        double seconds = (now - start) / 1e9;
        double rate = done / Math.max(seconds, 1e-9);
        int filled = (int) (WIDTH * done / total);
        out.printf(Locale.ROOT, "\rgenerating [%s%s] %d/%d steps, %.1f steps/s, %.0f s left ",
                "#".repeat(filled), " ".repeat(WIDTH - filled), done, total, rate, (total - done) / rate);
        if (done == total) out.println();
        out.flush();
    }
}
