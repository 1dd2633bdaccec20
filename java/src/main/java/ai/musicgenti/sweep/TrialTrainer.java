package ai.musicgenti.sweep;

import ai.musicgenti.pipeline.Cancellation;

/**
 * Trains one trial: starts its run in {@code trial.runDir()}, or continues it from the checkpoint there, and returns
 * when it has finished its epochs (or stopped early by its patience). Failures are exceptions; a
 * {@link ai.musicgenti.core.BadInputException}'s message is kept as the trial's one-line error.
 */
public interface TrialTrainer {
    Outcome train(TrialSpec trial, Cancellation cancellation) throws Exception;

    enum Outcome { FINISHED, STOPPED }
}
