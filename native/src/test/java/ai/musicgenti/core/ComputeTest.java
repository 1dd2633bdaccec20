package ai.musicgenti.core;

import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ComputeTest {
    @Test
    void choosesTheCpuPathsByName() {
        assertEquals(ScalarType.Float.value, Compute.choose("cpu", "f32").dtype().value);
        assertEquals(ScalarType.BFloat16.value, Compute.choose("CPU", "bf16").dtype().value);
        Compute f16w = Compute.choose("cpu", "f16w");
        assertTrue(f16w.halfWeights(), "f16w keeps F32 activations with packed F16 weights");
        assertEquals(ScalarType.Float.value, f16w.dtype().value);
        assertFalse(Compute.choose("auto", "auto").halfWeights());
    }

    @Test
    void generationPacksF32AndBf16ProjectionsOnTheCpuOnly() {
        assertTrue(Compute.choose("cpu", "f32").forInference().packedWeights());
        assertTrue(Compute.choose("cpu", "bf16").forInference().packedWeights());
        assertFalse(Compute.choose("cpu", "f16").forInference().packedWeights(), "oneDNN's F16 products are not packed");
        assertFalse(Compute.choose("cpu", "f16w").forInference().packedWeights(), "f16w keeps fbgemm's packing");
        assertFalse(Compute.choose("cpu", "f32").packedWeights(), "training gets plain weights");
        assertThrows(IllegalStateException.class, () -> Compute.choose("cpu", "f32").forInference().requireGradients());
        assertEquals("f32", Compute.choose("cpu", "f32").forInference().dtypeName());
    }

    @Test
    void refusesWhatIsNotADeviceOrDtypeInOneLineNamingTheFlag() {
        for (String device : new String[]{"tpu", "cuda:x", "cuda:", "cuda:123", "cpu0"}) {
            BadInputException e = assertThrows(BadInputException.class, () -> Compute.device(device), device);
            assertTrue(e.getMessage().startsWith("--device " + device + ": unknown device"), e.getMessage());
            assertThrows(BadInputException.class, () -> Compute.choose(device, "f32"), device);
        }
        BadInputException dtype = assertThrows(BadInputException.class, () -> Compute.choose("cpu", "f64"));
        assertTrue(dtype.getMessage().startsWith("--dtype f64: unknown dtype"), dtype.getMessage());
        if (!torch.cuda_is_available()) {
            BadInputException cuda = assertThrows(BadInputException.class, () -> Compute.device("cuda:0"));
            assertTrue(cuda.getMessage().contains("no CUDA device"), cuda.getMessage());
        }
    }
}
