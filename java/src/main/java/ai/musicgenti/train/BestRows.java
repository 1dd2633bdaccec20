package ai.musicgenti.train;

import ai.musicgenti.concepts.ConceptPrompts;
import ai.musicgenti.concepts.LearnedConcepts;
import ai.musicgenti.data.FiniteJson;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Each concept's best rows while training evaluates: its lowest FAD so far, the epoch that reached it, the rows of
 * that epoch, and how many evaluations in a row improved no concept (for early stopping). Epochs are counted from 1,
 * as everywhere: an evaluation after the n-th epoch belongs to epoch n. The {@link Checkpoint} stores this state so a
 * resumed run continues it.
 */
final class BestRows {
    private static final ObjectMapper JSON = FiniteJson.mapper();

    private final Map<String, Double> fad;
    private final Map<String, Integer> epoch;
    private int stale;
    /** [concepts·tokens, d_model] F32 like the learned rows; null until the first evaluation. */
    private Tensor rows;

    /** Nothing evaluated yet. */
    BestRows() {
        this(new LinkedHashMap<>(), new LinkedHashMap<>(), 0, null);
    }

    /** As a checkpoint stored it. */
    BestRows(Map<String, Double> fad, Map<String, Integer> epoch, int stale, Tensor rows) {
        this.fad = new LinkedHashMap<>(fad);
        this.epoch = new LinkedHashMap<>(epoch);
        this.stale = stale;
        this.rows = rows;
    }

    /** {@code <run>.best.safetensors} beside the concepts file. */
    static Path file(Path conceptsFile) {
        return conceptsFile.resolveSibling(conceptsFile.getFileName().toString().replaceAll("\\.safetensors$", "") + ".best.safetensors");
    }

    /**
     * Takes an evaluation of {@code learned} after {@code epochsDone} epochs: a concept whose {@code "fad"} is below
     * its best so far keeps these rows; a missing or non-finite FAD counts as no improvement. Returns the concepts
     * that improved, in {@code concepts} order.
     */
    List<String> update(List<ConceptPrompts.Concept> concepts, Tensor learned, Map<String, Map<String, Double>> metrics, int epochsDone) {
        if (rows == null) rows = learned.detach().to(torch.ScalarType.Float).clone();
        List<String> improved = new ArrayList<>();
        for (ConceptPrompts.Concept c : concepts) {
            Double value = metrics.getOrDefault(c.name(), Map.of()).get("fad");
            if (value == null || !Double.isFinite(value)) continue;
            Double before = fad.get(c.name());
            if (before == null || value < before) {
                fad.put(c.name(), value);
                epoch.put(c.name(), epochsDone);
                rows.narrow(0, c.firstRow(), c.tokens()).copy_(learned.detach().narrow(0, c.firstRow(), c.tokens()).to(torch.ScalarType.Float));
                improved.add(c.name());
            }
        }
        stale = improved.isEmpty() ? stale + 1 : 0;
        return improved;
    }

    /** Writes the best rows as a concepts file whose {@code metrics} hold each concept's best FAD and best epoch. */
    void save(Path conceptsFile, List<ConceptPrompts.Concept> concepts, Trainer.Base base, int epochsDone, long step) throws IOException {
        // keys sorted like every other metrics object: Map.of's order changes from one JVM to the next
        String metrics = JSON.writeValueAsString(new TreeMap<>(Map.of("best_fad", new TreeMap<>(fad), "best_epoch", new TreeMap<>(epoch))));
        LearnedConcepts.save(file(conceptsFile), concepts, rows, new LearnedConcepts.Info(base.id(), base.hash(), epochsDone, step, metrics));
    }

    /** Per concept its lowest FAD, in the order concepts first improved. */
    Map<String, Double> fad() {
        return fad;
    }

    /** Per concept the epoch of its lowest FAD, counted from 1. */
    Map<String, Integer> epochs() {
        return epoch;
    }

    /** Evaluations in a row that improved no concept. */
    int stale() {
        return stale;
    }

    /** The best rows, or null before the first evaluation. */
    Tensor rows() {
        return rows;
    }
}
