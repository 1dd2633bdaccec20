package ai.musicgenti.core;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Weights read without a copy: same values as a copy, alive as long as a tensor uses them, unmapped once none does. */
class MappedMemoryTest {
    @TempDir
    Path dir;

    @Test
    void mappedTensorsHoldTheStoredValuesAndLetGoOnceUnused() throws Exception {
        Path file = dir.resolve("w.safetensors");
        Safetensors.write(file, Map.of("a", torch.randn(64, 32), "b", torch.randn(16)), Map.of());
        Safetensors.releaseUnusedMappings();
        int before = MappedMemory.live();
        Tensor a, copy;
        try (Safetensors st = Safetensors.open(file)) {
            copy = st.tensor("a");
            assertEquals(before, MappedMemory.live(), "a copy leaves no region behind");
            try (PointerScope scope = new PointerScope()) {
                a = Tensors.keep(st.mapped("a").t());
                st.mapped("b");
            }
        }
        // b's only view was freed with the scope; a's transposed view outlives the scope and the file
        assertEquals(1, Safetensors.releaseUnusedMappings());
        assertEquals(before + 1, MappedMemory.live());
        assertTrue(torch.equal(copy.t(), a), "the mapped bytes are the stored values");
        a.close();
        assertEquals(1, Safetensors.releaseUnusedMappings());
        assertEquals(before, MappedMemory.live());
    }

    @Test
    void aReleasablePartOutlivesTheCallersScopeUntilReleased() throws Exception {
        Path file = dir.resolve("part.safetensors");
        Safetensors.write(file, Map.of("w", torch.ones(8, 8)), Map.of());
        Safetensors.releaseUnusedMappings();
        int before = MappedMemory.live();
        try (WeightStore store = WeightStore.open(file)) {
            Weights w = new Weights(store, Compute.cpu());
            Releasable<Tensor> part = new Releasable<>(() -> w.get("w", 8, 8));
            try (PointerScope callers = new PointerScope()) {
                part.get();
            }
            Safetensors.releaseUnusedMappings();
            assertEquals(64.0, part.get().sum().item_double(), "the weights survive the scope that first needed them");
            assertEquals(before + 1, MappedMemory.live());
            part.release();
            assertEquals(before, MappedMemory.live(), "release unmaps them");
            assertEquals(64.0, part.get().sum().item_double(), "and the next use builds them again");
            part.release();
        }
    }
}
