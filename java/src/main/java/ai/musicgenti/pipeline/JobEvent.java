package ai.musicgenti.pipeline;

import ai.musicgenti.train.Trainer;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** What a job reports while it runs; see {@link JobListener}. */
public sealed interface JobEvent {
    /** A job enters a stage ("load", "generate", "train", "evaluate", ...); {@code detail} is a one-line summary for people. */
    record Stage(String name, String detail) implements JobEvent {
    }

    /** {@code done} of {@code total} units of a stage (generation steps, clips of a concept). */
    record Progress(String stage, long done, long total) implements JobEvent {
        public double fraction() {
            return total <= 0 ? 1.0 : (double) done / total;
        }
    }

    /** Text a part of the job writes for people (the evaluator's lines, with their {@code \r} redraws), as it comes. */
    record Log(String text) implements JobEvent {
    }

    /** Preparation: within {@code concept}, clips done of all, and new fragments written so far. */
    record PrepareProgress(String concept, int clipsDone, int clips, int newFragments) implements JobEvent {
    }

    /** One training step; {@code stepsPerSecond} over this session of the run (a resumed run starts counting anew). */
    record TrainStep(Trainer.StepMetrics metrics, int stepInEpoch, int stepsInEpoch, double stepsPerSecond) implements JobEvent {
    }

    /** An epoch ended (validated); its metrics hold the estimated seconds left. */
    record EpochEnd(Trainer.EpochMetrics metrics) implements JobEvent {
    }

    /** An evaluation during training: per concept its metrics, those that improved, evaluations since any did. */
    record EvalDone(int epochsDone, Map<String, Map<String, Double>> metrics, List<String> improved, int stale) implements JobEvent {
    }

    /** A file the job wrote (whole): {@code kind} is "wav", "codes", "concepts", "best", "checkpoint", "eval", "config". */
    record FileWritten(Path file, String kind) implements JobEvent {
    }
}
