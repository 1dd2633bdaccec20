package ai.musicgenti.core;

import ai.musicgenti.memory.NativeUsage;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OneDnnTest {
    /** Narrowing, square and widening projections, as fc2, the attention projections and fc1 / the LM heads are. */
    private static final long[][] OUT_IN = {{40, 96}, {64, 64}, {200, 64}, {48, 1000}};

    @Test
    void projectionsOfManyRowsGoThroughOneDnn() {
        Tensor w = torch.randn(64, 64);
        assertTrue(OneDnn.serves(torch.randn(2, 8, 64), w));
        assertTrue(!OneDnn.serves(torch.randn(2, 64), w), "a decode step's rows stay on BLAS");
        assertTrue(!OneDnn.serves(torch.randn(2, 8, 64).to(ScalarType.BFloat16), w.to(ScalarType.BFloat16)));
        assertTrue(!OneDnn.serves(torch.randn(2, 8, 64), w.t()), "a transposed view is not the [out, in] layout read in place");
    }

    /** Forward and the gradient into the input against float64, for every way the hook ties into autograd. */
    @Test
    void valuesAndInputGradientsMatchFloat64() {
        torch.manual_seed(11);
        for (long[] oi : OUT_IN) {
            long out = oi[0], in = oi[1];
            Tensor w = torch.randn(out, in).div(new Scalar(Math.sqrt(in)));
            Tensor bias = torch.randn(out);
            Tensor leaf = torch.randn(3, 37, in).requires_grad_(true);
            Tensor upstream = torch.randn(3, 37, out);
            // the input is made by an op, as in a model, and used twice, so the hooked gradient meets another one
            Tensor x = leaf.mul(new Scalar(1.5));
            Tensor y = OneDnn.linear(x, w, bias);
            y.mul(upstream).sum().add(x.sum()).backward();

            Tensor leaf64 = leaf.detach().to(ScalarType.Double).requires_grad_(true);
            Tensor x64 = leaf64.mul(new Scalar(1.5));
            Tensor y64 = torch.linear(x64, w.to(ScalarType.Double), new org.bytedeco.pytorch.TensorOptional(bias.to(ScalarType.Double)));
            y64.mul(upstream.to(ScalarType.Double)).sum().add(x64.sum()).backward();

            String shape = out + "x" + in;
            assertArrayEquals(y64.shape(), y.shape(), shape);
            assertTrue(relative(y, y64) < 2e-6, shape + ": values off by " + relative(y, y64));
            assertTrue(relative(leaf.grad(), leaf64.grad()) < 2e-6, shape + ": gradient off by " + relative(leaf.grad(), leaf64.grad()));
        }
    }

    /** Each shape's primitive is judged once before use; a sum off by 1% in an edge row is caught. */
    @Test
    void theParityCheckCatchesWrongSums() {
        torch.manual_seed(5);
        Tensor a = torch.randn(40, 64), w = torch.randn(48, 64);
        Tensor right = torch.mm(a, w.t());
        assertTrue(OneDnn.agrees(right, a, w, true));
        Tensor wrong = right.clone();
        wrong.select(0, 39).select(0, 47).add_(new Scalar(right.abs().max().item_double() * 0.01));
        assertFalse(OneDnn.agrees(wrong, a, w, true));
        Tensor g = torch.randn(40, 48);
        assertTrue(OneDnn.agrees(torch.mm(g, w), g, w, false));
        assertFalse(OneDnn.agrees(torch.mm(g, w).mul(new Scalar(1.01)), g, w, false));
    }

    @Test
    void withoutGradientsNoHookIsTied() {
        Tensor w = torch.randn(32, 64);
        Tensor x = torch.randn(20, 64).requires_grad_(true);
        try (org.bytedeco.pytorch.NoGradGuard noGrad = new org.bytedeco.pytorch.NoGradGuard()) {
            assertTrue(!OneDnn.linear(x, w, null).requires_grad());
        }
    }

    /** Hooks let go of themselves when the backward runs them: a thousand steps leave nothing behind. */
    @Test
    void thousandBackwardsDoNotGrow() {
        Tensor w = torch.randn(48, 32);
        Tensor leaf = torch.randn(24, 32).requires_grad_(true);
        NativeUsage before = null;
        for (int i = 0; i < 1000; i++) {
            if (i == 20) before = NativeUsage.now();
            try (PointerScope scope = new PointerScope()) {
                OneDnn.linear(leaf.mul(new Scalar(2.0)), w, null).sum().backward();
            }
        }
        assertEquals(0, OneDnn.pendingHooks());
        NativeUsage.now().assertNoGrowthSince(before, "1,000 backwards through oneDNN", 50);
    }

    private static double relative(Tensor a, Tensor ref) {
        Tensor r = ref.to(ScalarType.Double);
        return a.to(ScalarType.Double).sub(r).abs().max().item_double() / r.abs().max().item_double();
    }

    /** Packed for inference: the product of plain weights, for the decode step's rows and for any other count. */
    @Test
    void packedWeightsGiveThePlainProductForEveryRowCount() {
        torch.manual_seed(12);
        for (ScalarType type : new ScalarType[]{ScalarType.Float, ScalarType.BFloat16}) {
            boolean bf16 = type == ScalarType.BFloat16;
            for (long[] oi : OUT_IN) {
                long out = oi[0], in = oi[1];
                Tensor w = torch.randn(out, in).div(new Scalar(Math.sqrt(in))).to(type), bias = torch.randn(out).to(type);
                OneDnn.Packed packed = OneDnn.pack(w);
                assertTrue(OneDnn.packs(w));
                for (long rows : new long[]{1, 2, 5, 40}) {
                    Tensor x = torch.randn(1, rows, in).to(type);
                    Tensor got = packed.linear(x, bias), want = x.to(ScalarType.Double).matmul(w.to(ScalarType.Double).t()).add(bias.to(ScalarType.Double));
                    assertArrayEquals(new long[]{1, rows, out}, got.shape());
                    assertEquals(type.value, got.scalar_type().value);
                    double err = got.to(ScalarType.Double).sub(want).abs().max().item_double();
                    double scale = want.abs().max().item_double();
                    assertTrue(err <= (bf16 ? 1e-2 : 1e-5) * scale, type + " " + out + "x" + in + ", " + rows + " rows: " + err + " of " + scale);
                }
            }
        }
        Tensor needsGradient = torch.randn(2, 64).requires_grad_(true);
        OneDnn.Packed packed = OneDnn.pack(torch.randn(64, 64));
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> packed.linear(needsGradient, null));
        assertTrue(e.getMessage().contains("no gradients"), e.getMessage());
        assertFalse(OneDnn.packs(torch.randn(4, 4).to(ScalarType.Half)), "F16 is not packed");
    }
}
