package ai.musicgenti.cli;

import ai.musicgenti.hub.ProgressListener;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * One line per downloaded file on stderr, redrawn in place with {@code \r} at most ten times a second:
 * file name, percent, megabytes so far and total, and speed.
 */
public final class ProgressBar implements ProgressListener {
    private static final long REDRAW_NANOS = 100_000_000L;

    private final PrintStream out;
    private final LongSupplier nanoClock;
    private long total;
    private long resumedFrom;
    private long startNanos;
    private long lastDrawNanos;
    private long done;
    private int lastWidth;

    public ProgressBar() {
        this(System.err, System::nanoTime);
    }

    ProgressBar(PrintStream out, LongSupplier nanoClock) {
        this.out = out;
        this.nanoClock = nanoClock;
    }

    @Override
    public synchronized void onStart(String file, long totalBytes, long alreadyHave) {
        total = totalBytes;
        resumedFrom = alreadyHave;
        done = alreadyHave;
        startNanos = nanoClock.getAsLong();
        lastWidth = 0;
        draw(file, startNanos);
    }

    @Override
    public synchronized void onProgress(String file, long bytesDone) {
        done = bytesDone;
        long now = nanoClock.getAsLong();
        if (now - lastDrawNanos >= REDRAW_NANOS) draw(file, now);
    }

    @Override
    public synchronized void onDone(String file) {
        done = total;
        draw(file, nanoClock.getAsLong());
        out.println();
    }

    private void draw(String file, long now) {
        lastDrawNanos = now;
        double seconds = (now - startNanos) / 1e9;
        double speed = seconds > 0 ? (done - resumedFrom) / 1e6 / seconds : 0;
        int percent = total > 0 ? (int) (100 * done / total) : 100;
        String line = String.format(Locale.ROOT, "%s %3d%% %,.1f/%,.1f MB %,.1f MB/s", file, percent, done / 1e6, total / 1e6, speed);
        // pad over the tail of a longer previous line, which \r alone leaves on screen
        out.print("\r" + line + " ".repeat(Math.max(0, lastWidth - line.length())));
        out.flush();
        lastWidth = line.length();
    }
}
