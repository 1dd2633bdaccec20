package ai.musicgenti.core;

import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CodesFileTest {
    @TempDir
    Path tmp;

    @Test
    void roundTripsAsI16OnDiskAndLongInMemory() throws Exception {
        long[] codes = {0, 1, 2047, 5, 32767, 9};
        Path file = tmp.resolve("a.codes.safetensors");
        CodesFile.write(file, codes, 2, 3, Map.of("source", "x.wav"));
        try (Safetensors st = Safetensors.open(file)) {
            assertEquals(Dtype.I16, st.entry(CodesFile.TENSOR).dtype());
            assertEquals("x.wav", st.metadata().get("source"));
        }
        Tensor t = CodesFile.read(file);
        assertArrayEquals(new long[]{2, 3}, t.shape());
        assertEquals(Dtype.I64, Dtype.of(t.scalar_type()));
        assertArrayEquals(codes, Tensors.toLongs(t));
    }

    @Test
    void refusesCodesThatDoNotFit() {
        assertThrows(IllegalArgumentException.class, () -> CodesFile.write(tmp.resolve("b"), new long[]{1, 2, 3}, 2, 2, Map.of()));
        assertThrows(IllegalArgumentException.class, () -> CodesFile.write(tmp.resolve("c"), new long[]{40_000}, 1, 1, Map.of()));
    }

    @Test
    void floatTensorIsNotCodes() throws Exception {
        Path file = tmp.resolve("f.safetensors");
        Safetensors.write(file, Map.of(CodesFile.TENSOR, Tensors.floats(new float[]{1, 2}, 1, 2)), Map.of());
        assertThrows(BadInputException.class, () -> CodesFile.read(file));
    }
}
