package ai.musicgenti.core;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        long aData, bData;
        try (Safetensors st = Safetensors.open(file)) {
            copy = st.tensor("a");
            assertEquals(before, MappedMemory.live(), "a copy leaves no region behind");
            try (PointerScope scope = new PointerScope()) {
                a = Tensors.keep(st.mapped("a").t());
                bData = st.mapped("b").data_ptr().address();
            }
            aData = a.data_ptr().address();
        }
        // b's only view was freed with the scope; a's transposed view outlives the scope and the file. Asked of these
        // two regions, not counted: other tests' regions become unused whenever the garbage collector frees their views
        Safetensors.releaseUnusedMappings();
        assertFalse(MappedMemory.maps(bData), "b is unmapped");
        assertTrue(MappedMemory.maps(aData), "a is still mapped");
        assertTrue(torch.equal(copy.t(), a), "the mapped bytes are the stored values");
        a.close();
        Safetensors.releaseUnusedMappings();
        assertFalse(MappedMemory.maps(aData), "a is unmapped once its last view is closed");
    }

    @Test
    void aReleasablePartOutlivesTheCallersScopeUntilReleased() throws Exception {
        Path file = dir.resolve("part.safetensors");
        Safetensors.write(file, Map.of("w", torch.ones(8, 8)), Map.of());
        try (WeightStore store = WeightStore.open(file)) {
            Weights w = new Weights(store, Compute.cpu());
            Releasable<Tensor> part = new Releasable<>(() -> w.get("w", 8, 8));
            try (PointerScope callers = new PointerScope()) {
                part.get();
            }
            Safetensors.releaseUnusedMappings();
            assertEquals(64.0, part.get().sum().item_double(), "the weights survive the scope that first needed them");
            long address = part.get().data_ptr().address();
            assertTrue(MappedMemory.maps(address), "read in place, from the mapping");
            part.release();
            assertFalse(MappedMemory.maps(address), "release unmaps them");
            assertEquals(64.0, part.get().sum().item_double(), "and the next use builds them again");
            part.release();
        }
    }
}
