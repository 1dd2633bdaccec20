package ai.musicgenti.cli;

import ai.musicgenti.pipeline.JobEvent;

import java.io.PrintStream;
import java.util.Locale;

/** One progress line per concept on stderr (clips done of all, fragments written), redrawn at most ten times a second. */
final class PrepareProgress {
    private static final long REDRAW_NANOS = 100_000_000L;
    private static final int WIDTH = 30;

    private final PrintStream out;
    private String concept;
    private int total;
    private int done;
    private int fragments;
    private long lastDraw;

    PrepareProgress(PrintStream out) {
        this.out = out;
    }

    void on(JobEvent.PrepareProgress p) {
        if (!p.concept().equals(concept)) {
            finish();
            concept = p.concept();
            total = p.clips();
            done = p.clipsDone();
            fragments = p.newFragments();
            draw(true);
            return;
        }
        boolean clipDone = p.clipsDone() != done;
        done = p.clipsDone();
        fragments = p.newFragments();
        draw(clipDone && done == total);
    }

    /** Ends the current concept's line. */
    void finish() {
        if (concept == null) return;
        draw(true);
        out.println();
        concept = null;
    }

    private void draw(boolean force) {
        long now = System.nanoTime();
        if (!force && now - lastDraw < REDRAW_NANOS) return;
        lastDraw = now;
        int filled = total == 0 ? WIDTH : WIDTH * done / total;
        out.printf(Locale.ROOT, "\r%s [%s%s] %d/%d clips, %d new fragments ", concept, "#".repeat(filled), " ".repeat(WIDTH - filled),
                done, total, fragments);
        out.flush();
    }
}
