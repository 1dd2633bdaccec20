package ai.musicgenti.pipeline;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Asks a running job to stop, from any thread (an HTTP handler, a shutdown hook). Jobs look at it between steps,
 * fragments or windows: a training job then saves a resumable checkpoint and returns; other jobs throw
 * {@link CancelledException}.
 */
public final class Cancellation {
    private volatile boolean cancelled;
    private final List<Runnable> callbacks = new CopyOnWriteArrayList<>();

    /** A token nobody cancels, for callers that never stop a job early. */
    public static Cancellation none() {
        return new Cancellation();
    }

    public void cancel() {
        cancelled = true;
        for (Runnable r : callbacks) r.run();
    }

    public boolean isCancelled() {
        return cancelled;
    }

    /** Runs {@code action} on {@link #cancel} (at once when already cancelled): lets a job forward the request to its loop. */
    public void onCancel(Runnable action) {
        callbacks.add(action);
        if (cancelled) action.run();
    }

    /** Throws {@link CancelledException} once cancelled. */
    public void check() {
        if (cancelled) throw new CancelledException();
    }
}
