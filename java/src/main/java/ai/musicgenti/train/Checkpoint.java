package ai.musicgenti.train;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.data.FiniteJson;
import ai.musicgenti.inversion.Adam;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A run's {@code checkpoint.safetensors}, written atomically (whole or not at all) after every epoch and when a run
 * stops: the learned rows, Adam's moments and step count, where the loop stands, the settings, the evaluation settings
 * and the {@link BestRows} — everything {@link Trainer#resume} needs to continue bit for bit. It holds no generator
 * state: all randomness derives from (seed, epoch) and (seed, step).
 */
final class Checkpoint {
    private static final ObjectMapper JSON = FiniteJson.mapper();
    private static final String FILE = "checkpoint.safetensors";

    /**
     * Where the loop stands: epochs finished, steps taken in the current epoch and in all, and the current epoch's
     * cross-entropy so far (its mean goes to the epoch line).
     */
    record Position(int epoch, int stepInEpoch, long step, double epochCeSum, int epochCeCount) {
    }

    /**
     * What stays the same over a run's checkpoints: where it writes, its base model, its dataset (null: none) and the
     * dtype it computes in ({@link ai.musicgenti.core.Compute#dtypeName}): a run continues bit for bit only in it.
     */
    private final Trainer.Outputs outputs;
    private final Trainer.Base base;
    private final String dataset;
    private final String dtype;

    Checkpoint(Trainer.Outputs outputs, Trainer.Base base, String dataset, String dtype) {
        this.outputs = outputs;
        this.base = base;
        this.dataset = dataset;
        this.dtype = dtype;
    }

    static boolean exists(Path runDir) {
        return Files.exists(runDir.resolve(FILE));
    }

    /** Writes the checkpoint; {@code evalConfig} empty when the run never evaluated. */
    void save(Trainer.Settings settings, Position position, Tensor learned, Adam adam, Map<String, String> evalConfig, BestRows best)
            throws IOException {
        // metadata keys in this order: the file's bytes stay those of every earlier version
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("settings", JSON.writeValueAsString(settings));
        meta.put("epoch", Integer.toString(position.epoch()));
        meta.put("step_in_epoch", Integer.toString(position.stepInEpoch()));
        meta.put("step", Long.toString(position.step()));
        meta.put("adam_steps", Long.toString(adam.steps()));
        meta.put("lr", Double.toString(settings.lrAt(position.epoch())));
        meta.put("epoch_ce_sum", Double.toString(position.epochCeSum()));
        meta.put("epoch_ce_count", Integer.toString(position.epochCeCount()));
        meta.put("rng", "derived: epoch plan from (seed, epoch), step draws from (seed, step)");
        meta.put("base_model", base.id());
        meta.put("base_model_hash", base.hash());
        meta.put("concepts_file", outputs.conceptsFile().toAbsolutePath().normalize().toString());
        if (dataset != null) meta.put("dataset", dataset);
        if (!evalConfig.isEmpty()) meta.put("eval_config", JSON.writeValueAsString(new TreeMap<>(evalConfig)));
        meta.put("dtype", dtype);
        Map<String, Tensor> tensors = new LinkedHashMap<>(Map.of("learned", learned, "adam.m", adam.m(), "adam.v", adam.v()));
        if (best.rows() != null) {
            meta.put("eval_best_fad", JSON.writeValueAsString(best.fad()));
            meta.put("eval_best_epoch", JSON.writeValueAsString(best.epochs()));
            meta.put("eval_stale", Integer.toString(best.stale()));
            tensors.put("best", best.rows());
        }
        Safetensors.write(outputs.runDir().resolve(FILE), tensors, meta);
    }

    /**
     * The run's base model and dataset, epochs finished, settings and the dtype it computed in (null in checkpoints
     * older than that key), from the checkpoint's header alone.
     */
    static Trainer.RunInfo describe(Path runDir) {
        Path file = existing(runDir);
        try (Safetensors st = Safetensors.open(file)) {
            Map<String, String> meta = st.metadata();
            return new Trainer.RunInfo(meta.get("base_model"), meta.get("dataset"), Integer.parseInt(meta.get("epoch")), settings(file, meta),
                    meta.get("dtype"));
        }
    }

    /** Reads the run's checkpoint for resuming; it must have been trained on {@code base}. */
    static Loaded load(Path runDir, Trainer.Base base) {
        Path file = existing(runDir);
        Safetensors.Contents contents = Safetensors.load(file);
        Map<String, String> meta = contents.metadata();
        if (!base.hash().equals(meta.get("base_model_hash"))) {
            throw new BadInputException("--resume: the run was trained on " + meta.get("base_model") + ", not on this model; use --model "
                    + meta.get("base_model"));
        }
        return new Loaded(file, meta, contents.tensors(), settings(file, meta));
    }

    /** A checkpoint read back; each part is parsed when asked for, in the order {@link Trainer#resume} needs them. */
    static final class Loaded {
        private final Path file;
        private final Map<String, String> meta;
        private final Map<String, Tensor> tensors;
        private final Trainer.Settings settings;

        private Loaded(Path file, Map<String, String> meta, Map<String, Tensor> tensors, Trainer.Settings settings) {
            this.file = file;
            this.meta = meta;
            this.tensors = tensors;
            this.settings = settings;
        }

        Trainer.Settings settings() {
            return settings;
        }

        /** The learned rows on {@code device}, F32, ready for gradients. */
        Tensor learned(Device device) {
            return tensors.get("learned").to(device, torch.ScalarType.Float).requires_grad_(true);
        }

        /** Adam over {@code learned} with its stored moments and step count. */
        Adam adam(Tensor learned) {
            return new Adam(learned, 0.9, 0.999, 1e-8, tensors.get("adam.m"), tensors.get("adam.v"), Long.parseLong(meta.get("adam_steps")));
        }

        Position position() {
            return new Position(Integer.parseInt(meta.get("epoch")), Integer.parseInt(meta.get("step_in_epoch")),
                    Long.parseLong(meta.get("step")), Double.parseDouble(meta.get("epoch_ce_sum")), Integer.parseInt(meta.get("epoch_ce_count")));
        }

        /** The evaluation settings the run was last saved with; empty when it did not evaluate. */
        Map<String, String> evalConfig() {
            if (!meta.containsKey("eval_config")) return Map.of();
            return parse(() -> JSON.readValue(meta.get("eval_config"), new TypeReference<Map<String, String>>() { }));
        }

        /** The best rows on {@code device}; empty when the run has not evaluated yet. */
        BestRows best(Device device) {
            Tensor stored = tensors.get("best");
            Tensor rows = stored == null ? null : stored.to(device, torch.ScalarType.Float);
            if (!meta.containsKey("eval_best_fad")) return new BestRows(Map.of(), Map.of(), 0, rows);
            return parse(() -> new BestRows(
                    JSON.readValue(meta.get("eval_best_fad"), new TypeReference<LinkedHashMap<String, Double>>() { }),
                    JSON.readValue(meta.get("eval_best_epoch"), new TypeReference<LinkedHashMap<String, Integer>>() { }),
                    Integer.parseInt(meta.get("eval_stale")), rows));
        }

        private interface Json<T> {
            T read() throws JsonProcessingException;
        }

        private static <T> T parse(Json<T> read) {
            try {
                return read.read();
            } catch (JsonProcessingException e) {
                throw new BadInputException("checkpoint: unreadable evaluation state (" + e.getOriginalMessage() + "); the checkpoint is damaged");
            }
        }
    }

    private static Path existing(Path runDir) {
        Path file = runDir.resolve(FILE);
        if (!Files.exists(file)) throw new BadInputException("--resume: " + file + " not found; start the run without --resume");
        return file;
    }

    private static Trainer.Settings settings(Path file, Map<String, String> meta) {
        try {
            return JSON.readValue(meta.get("settings"), Trainer.Settings.class);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new BadInputException(file + ": unreadable settings (" + e.getMessage() + "); the checkpoint is damaged");
        }
    }
}
