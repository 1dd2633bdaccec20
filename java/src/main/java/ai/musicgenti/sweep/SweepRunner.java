package ai.musicgenti.sweep;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.pipeline.Cancellation;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs a sweep's trials: one in this process ({@link #runTrial}), all of them one after another here, or N at once
 * as child processes, each its own {@code run-trial} so a crash takes down one trial only. Finished trials are
 * skipped and started ones continue from their checkpoints, so running a sweep again completes it.
 */
public final class SweepRunner {
    /** The command line that runs trial {@code index} (a number, or a shell variable such as $SLURM_ARRAY_TASK_ID) in a process of its own. */
    @FunctionalInterface
    public interface TrialCommand {
        List<String> of(String index, String device);
    }

    private final SweepFolder folder;
    private final PrintStream log;

    public SweepRunner(SweepFolder folder, PrintStream log) {
        this.folder = folder;
        this.log = log;
    }

    /** Trains trial {@code index} here unless it has finished; failures are recorded in its state and thrown. */
    public TrialState.State runTrial(int index, String device, TrialTrainer trainer, Cancellation cancellation) throws Exception {
        folder.checkIndex(index);
        TrialState state = folder.state(index);
        if (state.state() == TrialState.State.finished) {
            log.println(SweepFolder.runName(index) + ": finished already");
            return TrialState.State.finished;
        }
        TrialState running = state.started(device);
        folder.write(running);
        log.println(SweepFolder.runName(index) + (running.attempts() > 1 ? " (again)" : "") + ": " + describe(running.parameters()));
        try {
            TrialTrainer.Outcome outcome = trainer.train(folder.trial(index).withDevice(device), cancellation);
            TrialState.State end = outcome == TrialTrainer.Outcome.FINISHED ? TrialState.State.finished : TrialState.State.stopped;
            folder.write(running.ended(end, null));
            return end;
        } catch (BadInputException e) {
            folder.write(running.ended(TrialState.State.failed, e.getMessage()));
            throw e;
        } catch (Exception | Error e) {
            folder.write(running.ended(TrialState.State.failed, e.toString()));
            throw e;
        }
    }

    /** Every unfinished trial, one after another in this process; a failed trial is reported and the next one runs. */
    public void runAll(String device, TrialTrainer trainer, Cancellation cancellation) throws IOException {
        for (int i = 0; i < folder.trials() && !cancellation.isCancelled(); i++) {
            try {
                runTrial(i, device, trainer, cancellation);
            } catch (Exception e) {
                log.println(SweepFolder.runName(i) + " failed: " + e.getMessage());
            }
        }
    }

    /**
     * Every unfinished trial as a child process, {@code parallel} at once; worker k gets {@code devices[k % n]}
     * (none: the children's default). Each child's output goes to {@code logs/trial-NNN.log}. On cancellation the
     * children are asked to stop (SIGTERM: train saves its checkpoint first) and awaited.
     */
    public void runAllInChildren(int parallel, List<String> devices, TrialCommand command, Cancellation cancellation) throws InterruptedException {
        if (parallel < 1) throw new BadInputException("--parallel " + parallel + ": give 1 or more");
        BlockingQueue<String> slots = new ArrayBlockingQueue<>(parallel);
        for (int k = 0; k < parallel; k++) slots.add(devices.isEmpty() ? "" : devices.get(k % devices.size()));
        ExecutorService pool = Executors.newFixedThreadPool(parallel);
        try {
            for (int i = 0; i < folder.trials(); i++) {
                if (folder.state(i).state() == TrialState.State.finished) {
                    log.println(SweepFolder.runName(i) + ": finished already");
                    continue;
                }
                String slot = slots.take();
                if (cancellation.isCancelled()) break;
                int index = i;
                pool.execute(() -> {
                    try {
                        runChild(index, slot.isEmpty() ? null : slot, command, cancellation);
                    } catch (Exception e) {
                        log.println(SweepFolder.runName(index) + " failed: " + e.getMessage());
                    } finally {
                        slots.add(slot);
                    }
                });
            }
        } finally {
            pool.shutdown();
            while (!pool.awaitTermination(1, TimeUnit.SECONDS)) {
                // children stop on their own, or on the cancellation they poll
            }
        }
    }

    private void runChild(int index, String device, TrialCommand command, Cancellation cancellation) throws IOException, InterruptedException {
        String name = SweepFolder.runName(index);
        Files.createDirectories(folder.logFile(index).getParent());
        ProcessBuilder pb = new ProcessBuilder(command.of(Integer.toString(index), device)).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(folder.logFile(index).toFile()));
        log.println(name + " started" + (device != null ? " on " + device : "") + ": " + describe(folder.space().trial(index))
                + " (log: " + folder.logFile(index) + ")");
        Process child = pb.start();
        while (!child.waitFor(200, TimeUnit.MILLISECONDS)) {
            if (cancellation.isCancelled()) {
                child.destroy();
                child.waitFor();
            }
        }
        int code = child.exitValue();
        TrialState state = folder.state(index);
        if (state.state() == TrialState.State.running) {
            // killed before it could record how it ended
            folder.write(state.ended(TrialState.State.failed, "the trial's process ended with exit code " + code + " before recording a result"));
        }
        TrialState end = folder.state(index);
        log.println(name + " " + end.state() + (end.error() != null ? ": " + end.error() : "") + (code != 0 ? " (see " + folder.logFile(index) + ")" : ""));
    }

    /** "tokens=2 lr=0.1", in the sweep file's own names. */
    public String describe(Map<String, Object> parameters) {
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, Object> e : parameters.entrySet()) {
            parts.add(folder.spec().names().getOrDefault(e.getKey(), e.getKey()) + "=" + Leaderboard.format(e.getValue()));
        }
        return parts.stream().collect(Collectors.joining(" "));
    }
}
