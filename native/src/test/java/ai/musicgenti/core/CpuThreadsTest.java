package ai.musicgenti.core;

import org.bytedeco.openblas.presets.openblas_nolapack;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** One pool owns the cores at a time, and which one follows the dtype the model multiplies in. */
class CpuThreadsTest {
    @AfterEach
    void restore() {
        CpuThreads.configure(0);
    }

    @Test
    void sixteenBitModelsOnTheCpuGiveTheCoresToLibtorchAndF32OnesLeaveThemToOpenBlas() {
        CpuThreads.configure(2);
        assertOwner("blas");
        try (CpuThreads.Phase phase = CpuThreads.forCompute(new Compute(new Device("cpu"), ScalarType.BFloat16))) {
            assertOwner("libtorch");
            try (CpuThreads.Phase nested = CpuThreads.forCompute(new Compute(new Device("cpu"), ScalarType.Half))) {
                assertOwner("libtorch");
            }
            assertOwner("libtorch"); // the inner phase closing does not end the outer one
        }
        assertOwner("blas");
        for (Compute f32 : new Compute[]{Compute.cpu(), Compute.choose("cpu", "f16w")}) {
            try (CpuThreads.Phase phase = CpuThreads.forCompute(f32)) {
                assertOwner("blas");
            }
        }
    }

    private static void assertOwner(String pool) {
        boolean libtorch = pool.equals("libtorch");
        assertEquals(libtorch ? 2 : 1, torch.get_num_threads(), "libtorch's threads while " + pool + " owns the cores");
        assertEquals(libtorch ? 1 : 2, openblas_nolapack.blas_get_num_threads(), "OpenBLAS's threads while " + pool + " owns the cores");
    }
}
