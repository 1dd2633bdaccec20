package ai.musicgenti.core;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsEveryDtypeWithMetadata() throws IOException {
        Tensor base = Tensors.floats(new float[]{1.5f, -2.25f, 3f, 0f, 7.75f, -0.5f}, 2, 3);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Dtype d : Dtype.values()) {
            tensors.put("t." + d.name(), d == Dtype.BOOL ? base.gt(Tensors.scalar(0)) : base.to(d.scalarType));
        }
        tensors.put("scalar", Tensors.floats(new float[]{4f}).reshape());
        Path file = dir.resolve("all.safetensors");
        Safetensors.write(file, tensors, Map.of("concepts", "8bit"));
        try (Safetensors st = Safetensors.open(file)) {
            assertEquals("8bit", st.metadata().get("concepts"));
            for (Dtype d : Dtype.values()) {
                Tensor t = st.tensor("t." + d.name());
                assertEquals(d, Dtype.of(t.scalar_type()), d.name());
                assertArrayEquals(new long[]{2, 3}, t.shape());
                Tensor expected = tensors.get("t." + d.name());
                assertTrue(torch.equal(expected, t), d.name() + " values survive the round trip");
            }
            assertArrayEquals(new long[0], st.tensor("scalar").shape());
        }
        assertFalse(Files.list(dir).anyMatch(p -> p.getFileName().toString().endsWith(".part")), "no temp file left");
    }

    @Test
    void readingIntoMemoryGivesTheMappedBytes() throws IOException {
        // 12 MB: two positional reads, at an offset that is not page-aligned
        Tensor big = torch.randn(3, 1024, 1024);
        Path file = dir.resolve("big.safetensors");
        Safetensors.write(file, Map.of("a", Tensors.floats(new float[]{1f, 2f, 3f}, 3), "big", big, "empty", torch.empty(0, 4)), Map.of());
        try (Safetensors st = Safetensors.open(file)) {
            Tensor read = st.tensor("big");
            assertTrue(torch.equal(big, read));
            assertTrue(torch.equal(st.mapped("big"), read));
            assertFalse(MappedMemory.maps(read.data_ptr().address()), "read into memory, not mapped");
            assertArrayEquals(new long[]{0, 4}, st.tensor("empty").shape());
        }
    }

    @Test
    void weightsAreReadIntoMemoryWhereGlibcGivesHugePagesOrWhenTold() {
        assertTrue(Weights.resident(null, "glibc.malloc.hugetlb=1", "madvise"));
        assertTrue(Weights.resident(null, "glibc.malloc.top_pad=67108864:glibc.malloc.hugetlb=2", "always"));
        assertFalse(Weights.resident(null, "glibc.malloc.hugetlb=0", "madvise"));
        assertFalse(Weights.resident(null, "glibc.malloc.hugetlb=1:glibc.malloc.hugetlb=0", "madvise"), "the last setting counts");
        assertFalse(Weights.resident(null, "glibc.malloc.top_pad=67108864", "madvise"));
        assertFalse(Weights.resident(null, null, "madvise"));
        assertFalse(Weights.resident(null, "glibc.malloc.hugetlb=1", "never"), "no huge pages to be had");
        assertTrue(Weights.resident("resident", null, "never"));
        assertFalse(Weights.resident("mapped", "glibc.malloc.hugetlb=1", "always"));
        BadInputException e = assertThrows(BadInputException.class, () -> Weights.resident("copied", null, null));
        assertTrue(e.getMessage().contains("musicgen.weights") && e.getMessage().contains("resident or mapped"), e.getMessage());
    }

    @Test
    void streamedWritesCheckEachTensorAndLeaveNothingWhenOneFails() throws IOException {
        Path file = dir.resolve("streamed.safetensors");
        Map<String, Safetensors.Layout> layouts = Map.of("a", new Safetensors.Layout(Dtype.F32, new long[]{2}),
                "b", new Safetensors.Layout(Dtype.I64, new long[]{1, 2}));
        Safetensors.write(file, layouts, name -> name.equals("a") ? Tensors.floats(new float[]{1, 2}, 2) : Tensors.longs(new long[]{3, 4}, 1, 2), null);
        assertArrayEquals(new long[]{3, 4}, Tensors.toLongs(Safetensors.readAll(file).get("b")));

        Path broken = dir.resolve("broken.safetensors");
        // the second tensor is not what the header announced: the write stops, and no file appears
        assertThrows(IllegalStateException.class, () -> Safetensors.write(broken, layouts, name -> Tensors.floats(new float[]{1, 2}, 2), null));
        assertFalse(Files.exists(broken));
        assertFalse(Files.list(dir).anyMatch(p -> p.getFileName().toString().endsWith(".part")), "no temp file left");
    }

    @Test
    void readsFilesWrittenByOtherTools() throws IOException {
        // the golden weights were written by PyTorch's safetensors; the header keys are sorted, data 8-byte aligned
        Path golden = ai.musicgenti.golden.Golden.root().resolve("encodec/weights.safetensors");
        try (Safetensors st = Safetensors.open(golden)) {
            assertEquals("pt", st.metadata().get("format"));
            assertFalse(st.entries().isEmpty());
        }
    }

    @Test
    void truncatedFileIsAClearError() throws IOException {
        Path file = write("t", Tensors.floats(new float[16], 4, 4));
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 10));
        String msg = assertThrows(BadInputException.class, () -> Safetensors.open(file)).getMessage();
        assertTrue(msg.contains(file.toString()) && msg.contains("'t'") && msg.contains("outside"), msg);
        Files.write(file, Arrays.copyOf(bytes, 5));
        msg = assertThrows(BadInputException.class, () -> Safetensors.open(file)).getMessage();
        assertTrue(msg.contains("truncated"), msg);
    }

    @Test
    void badHeaderIsAClearError() throws IOException {
        Path file = raw("{\"t\": {\"dtype\": \"F32\", \"shape\": [2]", new byte[8]);
        String msg = assertThrows(BadInputException.class, () -> Safetensors.open(file)).getMessage();
        assertTrue(msg.contains("not valid JSON") && msg.contains(file.toString()), msg);

        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
        msg = assertThrows(BadInputException.class, () -> Safetensors.open(huge)).getMessage();
        assertTrue(msg.contains("header length"), msg);
    }

    @Test
    void unknownDtypeAndWrongSizeAreClearErrors() throws IOException {
        Path f8 = raw("{\"t\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]);
        String msg = assertThrows(BadInputException.class, () -> Safetensors.open(f8)).getMessage();
        assertTrue(msg.contains("unsupported dtype 'F8_E4M3'"), msg);

        Path size = raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        msg = assertThrows(BadInputException.class, () -> Safetensors.open(size)).getMessage();
        assertTrue(msg.contains("needs 12"), msg);
    }

    @Test
    void missingFileNamesThePath() {
        Path nowhere = dir.resolve("nope.safetensors");
        String msg = assertThrows(BadInputException.class, () -> Safetensors.open(nowhere)).getMessage();
        assertTrue(msg.contains(nowhere.toString()) && msg.contains("no such file"), msg);
    }

    @Test
    void weightsCheckNamesAndShapes() throws IOException {
        Path file = write("layer.0.w", Tensors.floats(new float[6], 2, 3));
        try (WeightStore store = WeightStore.open(file)) {
            Weights w = new Weights(store, Compute.cpu()).pp("layer").pp(0);
            assertEquals("layer.0.w", w.name("w"));
            assertArrayEquals(new long[]{2, 3}, w.get("w", 2, 3).shape());
            String msg = assertThrows(BadInputException.class, () -> w.get("w", 3, 2)).getMessage();
            assertTrue(msg.contains("'layer.0.w'") && msg.contains("[2, 3]") && msg.contains("[3, 2]"), msg);
            msg = assertThrows(BadInputException.class, () -> w.get("b", 2)).getMessage();
            assertTrue(msg.contains("missing tensor 'layer.0.b'"), msg);
            assertArrayEquals(new long[]{2, 3}, w.getFirst(new long[]{2, 3}, "tied", "w").shape(), "tied tensors stored once");
        }
    }

    @Test
    void weightNormAcceptsBothSpellings() throws IOException {
        torch.manual_seed(3);
        Tensor g = torch.rand(4, 1, 1).add(Tensors.scalar(0.5));
        Tensor v = torch.randn(4, 2, 3);
        Path old = dir.resolve("old.safetensors");
        Safetensors.write(old, Map.of("conv.weight_g", g, "conv.weight_v", v), null);
        Path neu = dir.resolve("new.safetensors");
        Safetensors.write(neu, Map.of("conv.parametrizations.weight.original0", g, "conv.parametrizations.weight.original1", v), null);
        try (WeightStore a = WeightStore.open(old); WeightStore b = WeightStore.open(neu)) {
            Tensor wa = new Weights(a, Compute.cpu()).pp("conv").weightNorm(4, 2, 3);
            Tensor wb = new Weights(b, Compute.cpu()).pp("conv").weightNorm(4, 2, 3);
            assertTrue(torch.equal(wa, wb));
            // each output filter has norm g
            float[] norms = Tensors.toFloats(torch.linalg_vector_norm(wa.reshape(4, 6), Tensors.scalar(2), new long[]{1}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
            float[] gs = Tensors.toFloats(g);
            for (int i = 0; i < 4; i++) assertEquals(gs[i], norms[i], 1e-5);
        }
    }

    @Test
    void shardedCheckpointsLoadThroughTheirIndex() throws IOException {
        Path model = Files.createDirectories(dir.resolve("model"));
        Safetensors.write(model.resolve("model-00001-of-00002.safetensors"), Map.of("a", Tensors.floats(new float[]{1}, 1)), null);
        Safetensors.write(model.resolve("model-00002-of-00002.safetensors"), Map.of("b", Tensors.floats(new float[]{2}, 1)), null);
        Files.writeString(model.resolve("model.safetensors.index.json"),
                "{\"metadata\":{},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}}");
        try (WeightStore store = WeightStore.open(model)) {
            assertEquals(2f, Tensors.toFloats(store.tensor("b"))[0]);
            assertEquals(1f, Tensors.toFloats(store.tensor("a"))[0]);
        }
        Files.writeString(model.resolve("model.safetensors.index.json"), "{\"weight_map\":{\"c\":\"model-00001-of-00002.safetensors\"}}");
        String msg = assertThrows(BadInputException.class, () -> WeightStore.open(model)).getMessage();
        assertTrue(msg.contains("'c'"), msg);
    }

    @Test
    void halfPrecisionCheckpointsLoadInTheComputeDtype() throws IOException {
        Path file = write("w", Tensors.floats(new float[]{0.5f, 1.25f}, 2).to(ScalarType.Half));
        try (WeightStore store = WeightStore.open(file)) {
            Tensor w = new Weights(store, Compute.cpu()).get("w", 2);
            assertEquals(Dtype.F32, Dtype.of(w.scalar_type()));
            assertArrayEquals(new float[]{0.5f, 1.25f}, Tensors.toFloats(w));
        }
    }

    private Path write(String name, Tensor t) throws IOException {
        Path file = dir.resolve(name + ".safetensors");
        Safetensors.write(file, Map.of(name, t), null);
        return file;
    }

    private Path raw(String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path file = dir.resolve("raw" + System.nanoTime() + ".safetensors");
        Files.write(file, b.array());
        return file;
    }
}
