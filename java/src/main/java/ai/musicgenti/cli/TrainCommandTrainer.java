package ai.musicgenti.cli;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.pipeline.Cancellation;
import ai.musicgenti.pipeline.TrainJob;
import ai.musicgenti.sweep.TrainParameters;
import ai.musicgenti.sweep.TrialSpec;
import ai.musicgenti.sweep.TrialTrainer;
import ai.musicgenti.train.Trainer;
import picocli.CommandLine;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The bridge from a sweep trial to training: the trial's parameters become train's flags (or {@code --resume} when its
 * run folder holds a checkpoint), so a trial accepts, checks and refuses exactly what {@code train} does, and the
 * settings they give run as the same {@link TrainJob}. A trial stops early on Ctrl-C, saving, as {@code train} does.
 */
final class TrainCommandTrainer implements TrialTrainer {
    @Override
    public Outcome train(TrialSpec trial, Cancellation cancellation) throws Exception {
        if (cancellation.isCancelled()) return Outcome.STOPPED;
        List<String> args = new ArrayList<>(List.of("--model", trial.model(), "--dataset", trial.dataset(),
                "--runs", trial.runDir().getParent().toString(), "--out", trial.modelsDir().toString()));
        if (trial.device() != null) args.addAll(List.of("--device", trial.device()));
        if (Files.exists(trial.runDir().resolve("checkpoint.safetensors"))) {
            Trainer.RunInfo run = Trainer.describe(trial.runDir());
            Object epochs = trial.parameters().get("epochs");
            int target = epochs != null ? ((Number) epochs).intValue() : run.settings().epochs();
            // killed after its last epoch was saved but before the sweep recorded it
            if (run.epochsDone() >= target) return Outcome.FINISHED;
            args.addAll(List.of("--resume", trial.runName()));
        } else {
            args.addAll(List.of("--run", trial.runName()));
            for (Map.Entry<String, Object> p : trial.parameters().entrySet()) args.addAll(flag(p.getKey(), p.getValue()));
        }
        TrainCommand command = new TrainCommand();
        CommandLine cli = new CommandLine(command);
        try {
            cli.parseArgs(args.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new BadInputException(trial.runName() + ": train refused its parameters: " + e.getMessage());
        }
        return TrainCommand.runStoppable(new TrainJob(command.settings())).cancelled() ? Outcome.STOPPED : Outcome.FINISHED;
    }

    /** A parameter as train's flag: booleans are switches, lists several values. */
    private static List<String> flag(String name, Object value) {
        String flag = TrainParameters.flag(name);
        if (value instanceof Boolean b) return b ? List.of(flag) : List.of();
        List<String> out = new ArrayList<>(List.of(flag));
        if (value instanceof List<?> list) list.forEach(v -> out.add(String.valueOf(v)));
        else out.add(String.valueOf(value));
        return out;
    }
}
