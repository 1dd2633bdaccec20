package ai.musicgenti.sweep;

import ai.musicgenti.core.AtomicFiles;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Caches;
import ai.musicgenti.data.FiniteJson;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A sweep on disk, {@code runs/sweeps/<id>/}: {@code sweep.yaml} (the spec as given), {@code sweep.json} (id,
 * dataset, model, trial count, Slurm job), {@code trials/trial-NNN.json} (each trial's parameters and state),
 * {@code runs/trial-NNN/} (each trial's ordinary run folder: checkpoint, metrics.jsonl, eval/),
 * {@code models/<dataset>/trial-NNN.safetensors} (its concepts files) and {@code logs/} (child processes' output).
 * Everything a trial needs is in the folder, so any machine that sees it can run any trial.
 */
public final class SweepFolder {
    public static final String SPEC = "sweep.yaml";
    /** The folder under a runs folder that sweeps go to by default: {@code runs/sweeps/<id>/}. */
    public static final String UNDER_RUNS = "sweeps";
    private static final String INFO = "sweep.json";
    private static final ObjectMapper JSON = FiniteJson.mapper();

    private final Path dir;
    private final ObjectNode info;
    private final SweepSpec spec;
    private final ParameterSpace space;

    private SweepFolder(Path dir, ObjectNode info, SweepSpec spec) {
        this.dir = dir;
        this.info = info;
        this.spec = spec;
        this.space = new ParameterSpace(spec, id());
    }

    /**
     * The id a sweep gets unless one is given: the file's name and a hash of its text, dataset and model, so running
     * the same command again continues the same sweep instead of starting a new one.
     */
    public static String defaultId(Path specFile, String specText, String dataset, String model) {
        String stem = specFile.getFileName().toString().replaceFirst("\\.ya?ml$", "").replaceAll("[^A-Za-z0-9._-]", "_");
        return stem + "-" + Caches.sha256((specText + "\n" + dataset + "\n" + model).getBytes(StandardCharsets.UTF_8)).substring(0, 8);
    }

    /**
     * Creates the sweep's folder, or opens it when it is the same sweep (same spec text, dataset and model). A spec
     * that does not parse is refused before anything is written.
     */
    public static SweepFolder create(Path dir, String id, String specText, String source, String dataset, String model) throws IOException {
        SweepSpec spec = SweepSpec.parse(specText, source);
        if (Files.exists(dir.resolve(INFO))) {
            SweepFolder existing = open(dir);
            if (!Files.readString(dir.resolve(SPEC)).equals(specText) || !existing.dataset().equals(dataset) || !existing.model().equals(model)) {
                throw new BadInputException(dir + ": holds sweep " + existing.id() + " with another spec, dataset or model; pass another --id");
            }
            return existing;
        }
        ObjectNode info = JSON.createObjectNode();
        info.put("id", id);
        info.put("source", source);
        info.put("dataset", dataset);
        info.put("model", model);
        info.put("method", spec.method().toString().toLowerCase(Locale.ROOT));
        info.put("metric", spec.metric().name());
        info.put("goal", spec.metric().goal().toString().toLowerCase(Locale.ROOT));
        info.put("trials", new ParameterSpace(spec, id).trials());
        info.put("created", java.time.Instant.now().toString());
        AtomicFiles.writeBytes(dir.resolve(SPEC), specText.getBytes(StandardCharsets.UTF_8));
        AtomicFiles.writeBytes(dir.resolve(INFO), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(info));
        return new SweepFolder(dir, info, spec);
    }

    /** Whether {@code dir} holds a sweep (its sweep.json), without reading it. */
    public static boolean isSweep(Path dir) {
        return Files.isRegularFile(dir.resolve(INFO));
    }

    public static SweepFolder open(Path dir) {
        Path file = dir.resolve(INFO);
        if (!Files.exists(file)) throw new BadInputException(dir + ": not a sweep folder (no " + INFO + "); give a folder under runs/sweeps/");
        try {
            JsonNode info = JSON.readTree(file.toFile());
            if (!(info instanceof ObjectNode o) || !o.hasNonNull("id")) throw new BadInputException(file + ": damaged (no id); start the sweep again");
            return new SweepFolder(dir, o, SweepSpec.read(dir.resolve(SPEC)));
        } catch (IOException e) {
            throw new BadInputException(file + ": unreadable (" + e.getMessage() + "); start the sweep again");
        }
    }

    public Path dir() {
        return dir;
    }

    public String id() {
        return info.get("id").asText();
    }

    public String dataset() {
        return info.get("dataset").asText();
    }

    public String model() {
        return info.get("model").asText();
    }

    public SweepSpec spec() {
        return spec;
    }

    public ParameterSpace space() {
        return space;
    }

    public int trials() {
        return space.trials();
    }

    public static String runName(int index) {
        return String.format(Locale.ROOT, "trial-%03d", index);
    }

    public Path runsDir() {
        return dir.resolve("runs");
    }

    public Path modelsDir() {
        return dir.resolve("models");
    }

    public Path runDir(int index) {
        return runsDir().resolve(runName(index));
    }

    public Path logFile(int index) {
        return dir.resolve("logs").resolve(runName(index) + ".log");
    }

    public Path slurmDir() {
        return dir.resolve("slurm");
    }

    /** The Slurm job the sweep was submitted as, or null. */
    public String slurmJob() {
        return info.hasNonNull("slurm_job") ? info.get("slurm_job").asText() : null;
    }

    public void recordSlurmJob(String jobId) throws IOException {
        info.put("slurm_job", jobId);
        AtomicFiles.writeBytes(dir.resolve(INFO), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(info));
    }

    public void checkIndex(int index) {
        if (index < 0 || index >= trials()) {
            throw new BadInputException("trial " + index + ": sweep " + id() + " has trials 0.." + (trials() - 1) + "; give one of them");
        }
    }

    /** Trial {@code index} as a trainer sees it, on train's default device. */
    public TrialSpec trial(int index) {
        checkIndex(index);
        Map<String, Object> parameters = new LinkedHashMap<>(space.trial(index));
        if (Leaderboard.needsEvaluation(spec.metric().name())) parameters.putIfAbsent("eval_every", 1L);
        return new TrialSpec(index, dataset(), model(), parameters, runDir(index), modelsDir(), null);
    }

    /** The trial's state file, or a pending state when it has never started. */
    public TrialState state(int index) {
        Path file = stateFile(index);
        if (!Files.exists(file)) return TrialState.pending(index, space.trial(index));
        try {
            return JSON.readValue(file.toFile(), TrialState.class);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": unreadable trial state", e);
        }
    }

    public void write(TrialState state) throws IOException {
        AtomicFiles.writeBytes(stateFile(state.index()), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(state));
    }

    private Path stateFile(int index) {
        return dir.resolve("trials").resolve(runName(index) + ".json");
    }
}
