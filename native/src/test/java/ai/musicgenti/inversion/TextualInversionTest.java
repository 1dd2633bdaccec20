package ai.musicgenti.inversion;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.golden.MusicGenGolden;
import ai.musicgenti.golden.GoldenCase;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.concepts.ConceptPrompts;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextualInversionTest {
    private static final ConceptPrompts.Concept TWO_TOKENS = new ConceptPrompts.Concept("ref", 2, 0);

    /** The training loss and its gradient equal the reference's {@code ti.loss} and {@code ti.grad_P}. */
    @Test
    void crossEntropyAndGradientMatchTheReference() throws Exception {
        GoldenCase c = Golden.firstOfKind("musicgen");
        try (ModelFolder folder = ModelFolder.open(c.dir())) {
            MusicGen model = MusicGen.load(folder, Compute.cpu());
            Tensor ids = c.io("ti.input_ids");
            ConceptPrompts.Batch batch = new ConceptPrompts.Batch(ids, c.io("ti.attention_mask"), MusicGenGolden.learnedRows(c.io("ti.placeholder_positions"), ids.size(1)));
            Tensor learned = c.io("ti.P").clone().requires_grad_(true);
            TextualInversion.Terms terms = TextualInversion.loss(model, learned, batch, c.io("ti.codes"), null,
                    List.of(TWO_TOKENS), TextualInversion.Alphas.crossEntropyOnly());
            terms.total().backward();

            double expected = Tensors.toDoubles(c.io("ti.loss"))[0];
            assertEquals(expected, terms.total().item_double(), 1e-5 * Math.abs(expected));
            float[] grad = Tensors.toFloats(learned.grad()), want = Tensors.toFloats(c.io("ti.grad_P"));
            double max = 0, err = 0;
            for (int i = 0; i < want.length; i++) {
                max = Math.max(max, Math.abs(want[i]));
                err = Math.max(err, Math.abs(grad[i] - want[i]));
            }
            assertTrue(max > 0 && err <= 1e-5 * max, "grad_P off by " + err + " (max " + max + ")");
            assertFalse(model.textEncoder().embeddingTable().grad().defined(), "the frozen table got a gradient");
        }
    }


    @Test
    void orthogonalityIsTheSquaredOffDiagonalOfTheUnitGram() {
        // unit rows (1,0), (1,1)/√2, (0,1): off-diagonal cosines 1/√2, 0, 1/√2, each counted twice → 2·(½ + 0 + ½) = 2
        Tensor learned = Tensors.floats(new float[]{1, 0, 3, 3, 0, 5}, 3, 2).requires_grad_(true);
        Tensor loss = TextualInversion.orthogonality(learned, List.of(new ConceptPrompts.Concept("a", 3, 0)));
        assertEquals(2.0, loss.item_double(), 1e-6);
        loss.backward();
        float[] g = Tensors.toFloats(learned.grad());
        // the middle row leans on both others: moving it along (1,-1) or (-1,1) does not help alone, its gradient is
        // radial-free (perpendicular to itself) and zero by symmetry
        assertEquals(0, g[2], 1e-6);
        assertEquals(0, g[3], 1e-6);
        assertTrue(g[1] > 0 && g[4] > 0, "the outer rows are pulled apart from the middle one: " + Arrays.toString(g));

        Tensor orthogonal = Tensors.floats(new float[]{2, 0, 0, 3}, 2, 2);
        assertEquals(0.0, TextualInversion.orthogonality(orthogonal, List.of(new ConceptPrompts.Concept("b", 2, 0))).item_double(), 1e-9);
    }

    @Test
    void marginComparesWholeBlocks() {
        ConceptPrompts.Concept a = new ConceptPrompts.Concept("a", 2, 0), b = new ConceptPrompts.Concept("b", 2, 2);
        // a's mean points along x, b's along y: distance √2
        Tensor apart = Tensors.floats(new float[]{1, 0, 1, 0, 0, 1, 0, 3}, 4, 2);
        assertEquals(1.5 - Math.sqrt(2), TextualInversion.margin(apart, List.of(a, b), 1.5).item_double(), 1e-6);
        assertEquals(0.0, TextualInversion.margin(apart, List.of(a, b), 1.0).item_double(), 1e-9);

        // every row of a differs from b's row at the same position, yet the blocks mean the same: full penalty
        Tensor swapped = Tensors.floats(new float[]{1, 0, 0, 1, 0, 1, 1, 0}, 4, 2).requires_grad_(true);
        Tensor loss = TextualInversion.margin(swapped, List.of(a, b), 1.5);
        assertEquals(1.5, loss.item_double(), 1e-5);

        Tensor near = Tensors.floats(new float[]{1, 0, 1, 0.2f, 1, 0.4f, 1, 0.6f}, 4, 2).requires_grad_(true);
        Tensor before = TextualInversion.margin(near, List.of(a, b), 1.5);
        before.backward();
        Tensor stepped = near.detach().sub(near.grad().mul(Tensors.scalar(0.1)));
        assertTrue(TextualInversion.margin(stepped, List.of(a, b), 1.5).item_double() < before.item_double(),
                "a gradient step pushes the concepts apart");
        assertEquals(0.0, TextualInversion.margin(near, List.of(a), 1.5).item_double(), 1e-9, "one concept has no pair");
    }

    @Test
    void adamMatchesTheClosedFormFirstSteps() {
        // with a constant gradient g, Adam's bias-corrected step is lr·g/(|g|+eps) = lr·sign(g) at every step
        Tensor p = Tensors.floats(new float[]{1, -2}, 2).requires_grad_(true);
        Adam adam = Adam.standard(p);
        for (int i = 0; i < 3; i++) {
            p.mul(Tensors.floats(new float[]{3, -0.5f}, 2)).sum().backward();
            adam.step(0.1, 10);
        }
        float[] v = Tensors.toFloats(p.detach());
        assertEquals(1 - 0.3, v[0], 1e-5);
        assertEquals(-2 + 0.3, v[1], 1e-5);
        assertEquals(3, adam.steps());
        assertEquals(0.0, Tensors.toFloats(p.grad())[0], 0.0, "the step leaves the gradient zeroed");
    }
}
