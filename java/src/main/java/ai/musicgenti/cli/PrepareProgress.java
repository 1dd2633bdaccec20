package ai.musicgenti.cli;

import ai.musicgenti.data.DatasetPreparer;
import ai.musicgenti.data.Fragment;

import java.io.PrintStream;
import java.util.Locale;

/** One progress line per concept on stderr (clips done of all, fragments written), redrawn at most ten times a second. */
final class PrepareProgress implements DatasetPreparer.Listener {
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

    @Override
    public void conceptStarted(String name, int audioFiles) {
        finish();
        concept = name;
        total = audioFiles;
        done = 0;
        fragments = 0;
        draw(true);
    }

    @Override
    public void fileDone(String name, String source) {
        done++;
        draw(done == total);
    }

    @Override
    public void fragmentWritten(Fragment fragment) {
        fragments++;
        draw(false);
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
