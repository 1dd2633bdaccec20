package ai.musicgenti.core;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpuFeaturesTest {
    @Test
    void nativeBf16ComesFromTheFlagsLine() {
        assertTrue(CpuFeatures.nativeBf16("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n"));
        assertTrue(CpuFeatures.nativeBf16("flags\t\t: fpu avx2 amx_bf16 amx_tile\n"));
        assertFalse(CpuFeatures.nativeBf16("flags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_fp16\n"), "VNNI or FP16 is not BF16");
        assertFalse(CpuFeatures.nativeBf16("flags\t\t: fpu sse2 avx2 fma\nbugs\t\t: avx512_bf16\n"), "only the flags line counts");
        assertTrue(CpuFeatures.nativeBf16(null), "unknown: no warning");
        assertTrue(CpuFeatures.nativeBf16("Processor\t: ARMv8\nFeatures\t: fp asimd bf16\n"), "no flags line: cannot be told");
    }

    @Test
    void transparentHugePageModeIsTheBracketedWord() {
        assertEquals("madvise", CpuFeatures.thpMode("always [madvise] never\n"));
        assertEquals("never", CpuFeatures.thpMode("always madvise [never]\n"));
        assertNull(CpuFeatures.thpMode(null));
        assertNull(CpuFeatures.thpMode("garbage"));
    }
}
