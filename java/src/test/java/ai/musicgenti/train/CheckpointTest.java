package ai.musicgenti.train;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.inversion.Adam;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checkpoint alone, without a model: what it writes comes back exactly, and a resumed optimiser steps the same. */
class CheckpointTest {
    private static final Device CPU = new Device("cpu");
    /** The checkpoint reads and writes only the base model's id and hash. */
    private static final Trainer.Base BASE = new Trainer.Base(null, null, "some/model", "hash-a");
    private static final Trainer.Settings SETTINGS = Trainer.Settings.builder().concepts(List.of("x", "y")).tokens(2).epochs(7)
            .lr(0.05).lrStepEpochs(2).lrGamma(0.5).shuffleTokens(true).initWord("piano").seed(11).build();

    private static Tensor rows(float offset) {
        float[] v = new float[4 * 3];
        for (int i = 0; i < v.length; i++) v[i] = offset + (float) Math.sin(i * 1.7 + offset) / 3;
        return Tensors.floats(v, 4, 3);
    }

    private static Trainer.Outputs outputs(Path dir) {
        return new Trainer.Outputs(dir.resolve("models/ds/r.safetensors"), dir.resolve("runs/r"));
    }

    /** An optimiser some steps into a run: moments and step count that a fresh one would not have. */
    private static Adam trained(Tensor learned, int steps) {
        Adam adam = Adam.standard(learned);
        for (int i = 0; i < steps; i++) {
            learned.mul(rows(i)).sum().backward();
            adam.step(0.1, 10);
        }
        return adam;
    }

    @Test
    void roundTripRestoresRowsMomentsPositionAndBestRows(@TempDir Path dir) throws Exception {
        Tensor learned = rows(1).requires_grad_(true);
        Adam adam = trained(learned, 3);
        BestRows best = new BestRows();
        List<ai.musicgenti.concepts.ConceptPrompts.Concept> concepts = List.of(
                new ai.musicgenti.concepts.ConceptPrompts.Concept("x", 2, 0), new ai.musicgenti.concepts.ConceptPrompts.Concept("y", 2, 2));
        best.update(concepts, learned, Map.of("y", Map.of("fad", 2.5)), 1);
        best.update(concepts, learned, Map.of("x", Map.of("fad", 4.0)), 2);
        best.update(concepts, learned, Map.of("x", Map.of("fad", 5.0)), 3);
        Checkpoint.Position at = new Checkpoint.Position(2, 1, 9, 10.25, 3);
        new Checkpoint(outputs(dir), BASE, "/data/ds", "bf16").save(SETTINGS, at, learned, adam, Map.of("clap", "c.pt", "windows", "single"), best);

        assertTrue(Checkpoint.exists(dir.resolve("runs/r")));
        Checkpoint.Loaded saved = Checkpoint.load(dir.resolve("runs/r"), BASE);
        assertEquals(SETTINGS, saved.settings());
        assertEquals(at, saved.position());
        Tensor restored = saved.learned(CPU);
        assertTrue(restored.requires_grad());
        assertArrayEquals(Tensors.toFloats(learned.detach()), Tensors.toFloats(restored.detach()));
        Adam again = saved.adam(restored);
        assertEquals(3, again.steps());
        assertArrayEquals(Tensors.toFloats(adam.m()), Tensors.toFloats(again.m()));
        assertArrayEquals(Tensors.toFloats(adam.v()), Tensors.toFloats(again.v()));
        assertEquals(Map.of("clap", "c.pt", "windows", "single"), saved.evalConfig());
        BestRows back = saved.best(CPU);
        assertEquals(List.of("y", "x"), List.copyOf(back.fad().keySet()), "order in which concepts first improved");
        assertEquals(Map.of("x", 4.0, "y", 2.5), back.fad());
        assertEquals(Map.of("x", 2, "y", 1), back.epochs());
        assertEquals(1, back.stale());
        assertArrayEquals(Tensors.toFloats(best.rows()), Tensors.toFloats(back.rows()));

        // the resumed optimiser continues as the original one does, bit for bit (bias correction needs the step count)
        learned.mul(rows(5)).sum().backward();
        adam.step(0.1, 10);
        restored.mul(rows(5)).sum().backward();
        again.step(0.1, 10);
        assertArrayEquals(Tensors.toFloats(learned.detach()), Tensors.toFloats(restored.detach()));

        Trainer.RunInfo info = Checkpoint.describe(dir.resolve("runs/r"));
        assertEquals(new Trainer.RunInfo("some/model", "/data/ds", 2, SETTINGS, "bf16"), info);
    }

    @Test
    void aRunThatNeverEvaluatedHasNoBestRows(@TempDir Path dir) throws Exception {
        Tensor learned = rows(2).requires_grad_(true);
        new Checkpoint(outputs(dir), BASE, null, "f32").save(SETTINGS, new Checkpoint.Position(1, 0, 4, 0, 0), learned, trained(learned, 1),
                Map.of(), new BestRows());
        Checkpoint.Loaded saved = Checkpoint.load(dir.resolve("runs/r"), BASE);
        assertEquals(Map.of(), saved.evalConfig());
        BestRows best = saved.best(CPU);
        assertNull(best.rows());
        assertEquals(Map.of(), best.fad());
        assertEquals(0, best.stale());
        assertNull(Checkpoint.describe(dir.resolve("runs/r")).dataset());
    }

    @Test
    void refusesAnotherModelAndAMissingCheckpoint(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("runs/r");
        assertFalse(Checkpoint.exists(run));
        var missing = assertThrows(BadInputException.class, () -> Checkpoint.load(run, BASE));
        assertTrue(missing.getMessage().contains("not found; start the run without --resume"), missing.getMessage());
        Tensor learned = rows(3).requires_grad_(true);
        new Checkpoint(outputs(dir), BASE, null, "f32").save(SETTINGS, new Checkpoint.Position(0, 2, 2, 1, 2), learned, trained(learned, 2),
                Map.of(), new BestRows());
        var other = assertThrows(BadInputException.class, () -> Checkpoint.load(run, new Trainer.Base(null, null, "other", "hash-b")));
        assertEquals("--resume: the run was trained on some/model, not on this model; use --model some/model", other.getMessage());
    }
}
