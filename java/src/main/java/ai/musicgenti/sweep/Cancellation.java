package ai.musicgenti.sweep;

/** Asked between pieces of work: true once the user wants the sweep to stop. */
@FunctionalInterface
public interface Cancellation {
    Cancellation NEVER = () -> false;

    boolean requested();
}
