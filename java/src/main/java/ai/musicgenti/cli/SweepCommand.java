package ai.musicgenti.cli;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.hub.HubClient;
import ai.musicgenti.pipeline.Cancellation;
import ai.musicgenti.sweep.Leaderboard;
import ai.musicgenti.sweep.Slurm;
import ai.musicgenti.sweep.SweepFolder;
import ai.musicgenti.sweep.SweepRunner;
import ai.musicgenti.sweep.SweepSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** Hyper-parameter sweeps from W&B-style YAML: every trial here, N at once as child processes, or as a Slurm job array. */
@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = {"Run a hyper-parameter sweep (W&B YAML: method grid|random, metric, parameters) of train runs into runs/sweeps/<id>/.",
                "Running the same command again continues the sweep: finished trials are skipped, interrupted ones resume."},
        subcommands = {SweepCommand.Status.class, SweepCommand.RunTrial.class})
final class SweepCommand implements Callable<Integer> {
    // not required to picocli: a required parent argument would be demanded before 'status' and 'run-trial' too
    @Parameters(index = "0", arity = "0..1", paramLabel = "SWEEP.yaml", description = "The sweep definition (see configs/sweeps/).")
    Path specFile;

    @Option(names = "--dataset", description = "The folder prepare wrote; every trial trains on it (required).")
    Path dataset;

    @Option(names = "--model", defaultValue = "facebook/musicgen-small", description = "Hub repo id or local model folder (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--sweeps", defaultValue = "runs/" + SweepFolder.UNDER_RUNS, description = "Sweeps go to <sweeps>/<id>/ (default: ${DEFAULT-VALUE}).")
    Path sweeps;

    @Option(names = "--id", description = "The sweep's id (default: the file's name and a hash of its text, dataset and model).")
    String id;

    @Option(names = "--parallel", description = "Trials at once, each a child process (default: 1 in this process; the number of --devices when given).")
    Integer parallel;

    @Option(names = "--devices", split = ",", paramLabel = "DEVICE", description = "Devices handed to the trials in turn, e.g. cuda:0,cuda:1.")
    List<String> devices = new ArrayList<>();

    @Option(names = "--slurm", description = "Submit the sweep as one Slurm job array (a task per trial) instead of running it here.")
    boolean slurm;

    @Option(names = "--partition", description = "With --slurm: the partition.")
    String partition;

    @Option(names = "--time", description = "With --slurm: the time limit of each trial (e.g. 04:00:00).")
    String time;

    @Option(names = "--gpus-per-task", description = "With --slurm: GPUs per trial.")
    Integer gpusPerTask;

    @Option(names = "--sbatch", paramLabel = "OPTIONS", description = "With --slurm: further sbatch options, e.g. \"--mem=32G --account=lab\".")
    String sbatch;

    @Override
    public Integer call() throws Exception {
        if (specFile == null) throw new BadInputException("sweep: give a sweep YAML file (see configs/sweeps/), or 'sweep status DIR'");
        if (dataset == null) throw new BadInputException("--dataset: missing; give the folder prepare wrote (e.g. --dataset data/input/my-ds)");
        if (!slurm && (partition != null || time != null || gpusPerTask != null || sbatch != null)) {
            throw new BadInputException("--partition, --time, --gpus-per-task and --sbatch go with --slurm; add --slurm or drop them");
        }
        if (slurm && (parallel != null || !devices.isEmpty())) {
            throw new BadInputException("--parallel and --devices are for runs here; with --slurm ask for GPUs with --gpus-per-task");
        }
        if (!Files.isDirectory(dataset)) throw new BadInputException("--dataset " + dataset + ": not a folder; give the folder prepare wrote");
        String text;
        try {
            text = Files.readString(specFile);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new BadInputException(specFile + ": not found; give a sweep YAML file (see configs/sweeps/)");
        }
        String datasetPath = dataset.toRealPath().toString(), modelId = HubClient.canonicalId(model);
        String sweepId = id != null ? id : SweepFolder.defaultId(specFile, text, datasetPath, modelId);
        if (!sweepId.matches("[A-Za-z0-9._-]+")) throw new BadInputException("--id " + sweepId + ": use only A-Z, a-z, 0-9, '.', '_' and '-'");
        SweepFolder folder = SweepFolder.create(sweeps.resolve(sweepId), sweepId, text, specFile.toString(), datasetPath, modelId);
        SweepSpec spec = folder.spec();
        spec.notes().forEach(n -> System.err.println("note: " + specFile + ": " + n));
        System.err.printf("sweep %s: %d trial(s) (%s), %s %sd, in %s%n", folder.id(), folder.trials(), spec.method().toString().toLowerCase(),
                spec.metric().name(), spec.metric().goal().toString().toLowerCase(), folder.dir());
        if (slurm) {
            String job = new Slurm(partition, time, gpusPerTask, Slurm.splitOptions(sbatch)).submit(folder, childCommand(folder.dir()));
            System.out.println(job);
            System.err.println("submitted as Slurm job " + job + "; see musicgen-ti sweep status " + folder.dir());
            return 0;
        }
        SweepRunner runner = new SweepRunner(folder, System.err);
        int n = parallel != null ? parallel : Math.max(1, devices.size());
        if (parallel == null && devices.size() <= 1) {
            runner.runAll(devices.isEmpty() ? null : devices.get(0), new TrainCommandTrainer(), Cancellation.none());
        } else {
            // Ctrl-C: the children are asked to stop (each saves its checkpoint) and awaited before this JVM ends
            Cancellation stop = new Cancellation();
            CtrlC.cancels(stop, c -> {
                runner.runAllInChildren(n, devices, childCommand(folder.dir()), c);
                return null;
            });
            if (stop.isCancelled()) return 130;
        }
        System.out.print(Leaderboard.of(folder, Map.of()).table());
        return 0;
    }

    /** This launcher again, in a process of its own, running one trial: the same JVM, memory and stack options, and class path. */
    static SweepRunner.TrialCommand childCommand(Path sweepDir) {
        String dir = sweepDir.toAbsolutePath().toString();
        List<String> jvm = ManagementFactory.getRuntimeMXBean().getInputArguments().stream().filter(a -> a.startsWith("-X")).toList();
        return (index, device) -> {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            cmd.addAll(jvm);
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "sweep", "run-trial", dir, index));
            if (device != null) cmd.addAll(List.of("--device", device));
            return cmd;
        };
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "The sweep's leaderboard: trials sorted by its metric, with their parameters and state.")
    static final class Status implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "SWEEP_DIR", description = "The sweep's folder, runs/sweeps/<id>.")
        Path dir;

        @Option(names = "--csv", description = "As CSV.")
        boolean csv;

        @Option(names = "--json", description = "As JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            if (csv && json) throw new BadInputException("--csv and --json: choose one");
            SweepFolder folder = SweepFolder.open(dir);
            Map<Integer, String> scheduler = folder.slurmJob() == null ? Map.of() : Slurm.states(folder.slurmJob());
            Leaderboard board = Leaderboard.of(folder, scheduler);
            System.out.print(csv ? board.csv() : json ? board.json() : board.table());
            if (folder.slurmJob() != null && !csv && !json) System.out.println("Slurm job " + folder.slurmJob());
            return 0;
        }
    }

    @Command(name = "run-trial", mixinStandardHelpOptions = true,
            description = "Train one trial of a sweep (what --parallel and --slurm run); resumes it when started before, does nothing when finished.")
    static final class RunTrial implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "SWEEP_DIR", description = "The sweep's folder, runs/sweeps/<id>.")
        Path dir;

        @Parameters(index = "1", paramLabel = "INDEX", description = "The trial, from 0.")
        int index;

        @Option(names = "--device", description = "The device to train on (default: train's).")
        String device;

        @Override
        public Integer call() throws Exception {
            SweepFolder folder = SweepFolder.open(dir);
            new SweepRunner(folder, System.err).runTrial(index, device, new TrainCommandTrainer(), Cancellation.none());
            return 0;
        }
    }
}
