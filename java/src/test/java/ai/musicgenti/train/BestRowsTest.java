package ai.musicgenti.train;

import ai.musicgenti.concepts.ConceptPrompts;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.data.FiniteJson;
import com.fasterxml.jackson.databind.JsonNode;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Per concept the lowest FAD, the epoch of it (as the trainer numbers epochs: from 1) and its rows. */
class BestRowsTest {
    private static final List<ConceptPrompts.Concept> CONCEPTS = List.of(new ConceptPrompts.Concept("x", 1, 0), new ConceptPrompts.Concept("y", 2, 1));

    /** Rows [3, 2], every value {@code epoch}: which epoch's rows were kept shows in the values. */
    private static Tensor rowsOfEpoch(int epoch) {
        return Tensors.floats(new float[]{epoch, epoch, epoch, epoch, epoch, epoch}, 3, 2);
    }

    private static Map<String, Map<String, Double>> fad(double x, double y) {
        return Map.of("x", Map.of("fad", x, "kncc", 0.5), "y", Map.of("fad", y));
    }

    @Test
    void keepsEachConceptsLowestFadWithItsEpochAndRows() {
        BestRows best = new BestRows();
        assertEquals(List.of("x", "y"), best.update(CONCEPTS, rowsOfEpoch(1), fad(5, 2), 1));
        assertEquals(List.of("x"), best.update(CONCEPTS, rowsOfEpoch(2), fad(4, 7), 2));
        // a FAD that could not be computed is no improvement, and a tie is none either
        assertEquals(List.of("y"), best.update(CONCEPTS, rowsOfEpoch(3), Map.of("x", Map.of("fad", Double.NaN), "y", Map.of("fad", 1.0)), 3));
        assertEquals(List.of(), best.update(CONCEPTS, rowsOfEpoch(4), fad(4, 1), 4));
        assertEquals(List.of(), best.update(CONCEPTS, rowsOfEpoch(5), Map.of(), 5));
        assertEquals(Map.of("x", 4.0, "y", 1.0), best.fad());
        assertEquals(Map.of("x", 2, "y", 3), best.epochs());
        assertEquals(2, best.stale());
        assertArrayEquals(new float[]{2, 2, 3, 3, 3, 3}, Tensors.toFloats(best.rows()));
        assertEquals(List.of("x"), best.update(CONCEPTS, rowsOfEpoch(6), fad(3, 9), 6));
        assertEquals(0, best.stale(), "an improvement resets the count");
    }

    @Test
    void beforeAnyImprovementTheRowsAreThoseOfTheFirstEvaluation() {
        BestRows best = new BestRows();
        assertEquals(List.of(), best.update(CONCEPTS, rowsOfEpoch(1), Map.of(), 1));
        assertEquals(1, best.stale());
        assertArrayEquals(new float[]{1, 1, 1, 1, 1, 1}, Tensors.toFloats(best.rows()));
    }

    @Test
    void writesAConceptsFileBesideTheRunsWithBestFadAndEpoch(@TempDir Path dir) throws Exception {
        Path concepts = dir.resolve("models/ds/r.safetensors");
        assertEquals(dir.resolve("models/ds/r.best.safetensors"), BestRows.file(concepts));
        BestRows best = new BestRows();
        best.update(CONCEPTS, rowsOfEpoch(1), fad(5, 2), 1);
        best.update(CONCEPTS, rowsOfEpoch(2), fad(4, 3), 2);
        best.save(concepts, CONCEPTS, new Trainer.Base(null, null, "m", "h"), 2, 8);
        try (Safetensors st = Safetensors.open(BestRows.file(concepts))) {
            assertEquals("2", st.metadata().get("epoch"));
            assertEquals("8", st.metadata().get("step"));
            assertEquals("{\"best_epoch\":{\"x\":2,\"y\":1},\"best_fad\":{\"x\":4.0,\"y\":2.0}}", st.metadata().get("metrics"));
            JsonNode metrics = FiniteJson.mapper().readTree(st.metadata().get("metrics"));
            assertEquals(2, metrics.path("best_epoch").path("x").asInt());
            assertArrayEquals(new float[]{2, 2}, Tensors.toFloats(st.tensor("x")));
            assertArrayEquals(new float[]{1, 1, 1, 1}, Tensors.toFloats(st.tensor("y")));
        }
    }
}
