package ai.musicgenti.core;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OpsTest {
    @Test
    void linearEqualsTorchLinearOnEitherSideOfTheRowThreshold() {
        torch.manual_seed(7);
        Tensor w = torch.randn(24, 16);
        for (long[] shape : new long[][]{{16}, {1, 16}, {2, 1, 16}, {2, 2, 16}, {3, 2, 16}, {8, 16}}) {
            Tensor x = torch.randn(shape).requires_grad_(true);
            Tensor mine = Ops.linear(x, w), ref = torch.linear(x, w);
            assertArrayEquals(ref.shape(), mine.shape());
            assertTrue(torch.allclose(ref, mine, 1e-5, 1e-6, false), java.util.Arrays.toString(shape));
            mine.sum().backward();
            assertTrue(x.grad().defined(), "gradient flows through the matrix-vector path");
        }
    }
}
