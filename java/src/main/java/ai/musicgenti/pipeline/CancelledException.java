package ai.musicgenti.pipeline;

/** A job stopped because its {@link Cancellation} was cancelled; it wrote no partial result. */
public final class CancelledException extends RuntimeException {
    public CancelledException() {
        super("cancelled");
    }
}
