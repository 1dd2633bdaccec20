package ai.musicgenti.core;

import ai.musicgenti.models.ClapAudioEncoder;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PyTorch checkpoints written by torch.save itself (fixtures from scripts/reference/torch_bin.py) read without
 * Python: every tensor exactly as torch stored it, every global outside the allow-list refused, damage reported in
 * one line, conversions cached and atomic, and CLAP run from a pytorch_model.bin.
 */
class TorchCheckpointTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"tensors.bin", "tensors.protocol4.bin"})
    void everyTensorComesOutAsTorchSavedIt(String fixture) {
        Map<String, Tensor> expected = Safetensors.readAll(TorchBins.fixture("tensors.expected.safetensors"));
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(TorchBins.fixture(fixture))) {
            assertEquals(expected.keySet(), ckpt.layouts().keySet());
            assertEquals("dtype.f32", ckpt.layouts().keySet().iterator().next(), "in the file's order");
            for (Map.Entry<String, Tensor> e : expected.entrySet()) {
                Tensor t = ckpt.tensor(e.getKey());
                assertSame(e.getKey(), e.getValue(), t);
                Safetensors.Layout layout = ckpt.layouts().get(e.getKey());
                assertEquals(Dtype.of(t.scalar_type()), layout.dtype(), e.getKey());
                assertArrayEquals(t.shape(), layout.shape(), e.getKey());
            }
            assertEquals(Set.of(Dtype.values()), Set.copyOf(ckpt.layouts().values().stream().map(Safetensors.Layout::dtype).toList()),
                    "every storage type");
        }
    }

    @Test
    void convertsToSafetensorsWithTheSameNamesDtypesAndShapes() throws IOException {
        Path out = dir.resolve("converted.safetensors");
        TorchCheckpoint.toSafetensors(TorchBins.fixture("tensors.bin"), out);
        Safetensors.Contents got = Safetensors.load(out);
        Map<String, Tensor> expected = Safetensors.readAll(TorchBins.fixture("tensors.expected.safetensors"));
        assertEquals(expected.keySet(), got.tensors().keySet());
        expected.forEach((name, t) -> assertSame(name, t, got.tensors().get(name)));
        assertEquals(Map.of("format", "pt", "source", "tensors.bin"), got.metadata());
    }

    @Test
    void globalsOutsideTheAllowListAreRefusedByName() throws IOException {
        Path bin = TorchBins.fixture("forbidden_global.bin");
        String message = oneLineError(bin);
        assertTrue(message.contains("datetime.date") && message.contains("refusing"), message);

        // what an attack looks like: a pickle that calls os.system; it stops at the name, before any call
        Path evil = dir.resolve("evil.bin");
        TorchBins.rewrite(TorchBins.fixture("tensors.bin"), evil,
                Map.of("data.pkl", "\u0080\u0002cos\nsystem\nX\u0002\u0000\u0000\u0000id\u0085R.".getBytes(StandardCharsets.ISO_8859_1)));
        assertTrue(oneLineError(evil).contains("the global os.system"), oneLineError(evil));

        Path cache = dir.resolve("cache");
        assertThrows(BadInputException.class, () -> TorchCheckpoint.cachedSafetensors(bin, cache));
        try (Stream<Path> left = Files.list(cache)) {
            assertTrue(left.noneMatch(p -> p.toString().endsWith(".safetensors") || p.toString().endsWith(".part")),
                    "a refused checkpoint leaves no conversion behind");
        }
    }

    @Test
    void legacyBigEndianTruncatedAndDamagedFilesGiveOneLineErrors() throws IOException {
        assertTrue(oneLineError(TorchBins.fixture("legacy.bin")).contains("legacy format"));

        Path bin = TorchBins.fixture("tensors.bin");
        byte[] all = Files.readAllBytes(bin);
        Path truncated = dir.resolve("truncated.bin");
        Files.write(truncated, Arrays.copyOf(all, all.length / 2));
        assertTrue(oneLineError(truncated).contains("truncated or damaged"));

        Path text = dir.resolve("text.bin");
        Files.writeString(text, "version https://git-lfs.github.com/spec/v1\n");
        assertTrue(oneLineError(text).contains("not a PyTorch checkpoint"));

        Path bigEndian = dir.resolve("big.bin");
        TorchBins.rewrite(bin, bigEndian, Map.of("byteorder", "big".getBytes(StandardCharsets.US_ASCII)));
        assertTrue(oneLineError(bigEndian).contains("big-endian"));

        byte[] pickle = entry(bin, "data.pkl");
        Path cutPickle = dir.resolve("cut-pickle.bin");
        TorchBins.rewrite(bin, cutPickle, Map.of("data.pkl", Arrays.copyOf(pickle, pickle.length - 40)));
        assertTrue(oneLineError(cutPickle).contains("ends early"));

        // a broadcast view (stride 0) of 2^30 floats from one stored float: refused before anything is allocated
        String broadcast = "\u0080\u0002}(X\u0001\0\0\0w" + "ctorch._utils\n_rebuild_tensor_v2\n" + "((X\u0007\0\0\0storage"
                + "ctorch\nFloatStorage\n" + "X\u0001\0\0\0" + "0" + "X\u0003\0\0\0cpu" + "K\u0006tQ" + "K\0" + "J\0\0\0\u0040\u0085"
                + "K\0\u0085" + "\u0089}tRu.";
        Path bomb = dir.resolve("bomb.bin");
        TorchBins.rewrite(bin, bomb, Map.of("data.pkl", broadcast.getBytes(StandardCharsets.ISO_8859_1)));
        assertTrue(oneLineError(bomb).contains("tensor 'w' would take 4294967296 bytes"), oneLineError(bomb));

        // storage 0 holds dtype.f32's 6 floats: one float short, its view would reach past the end
        Path shortStorage = dir.resolve("short-storage.bin");
        TorchBins.rewrite(bin, shortStorage, Map.of("data/0", new byte[20]));
        assertTrue(oneLineError(shortStorage).contains("storage 0 holds 20 bytes"), oneLineError(shortStorage));
    }

    @Test
    void theUnpicklerReadsOpcodesTorchRarelyWrites() {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        p.writeBytes(bytes("80 02 5d 28")); // PROTO 2, EMPTY_LIST, MARK
        p.writeBytes(bytes("8a 08 00 00 00 00 00 00 00 80")); // LONG1 of 8 bytes: Long.MIN_VALUE
        p.writeBytes(bytes("8a 02 ff 7f 8a 02 00 80 8a 00")); // LONG1 32767, -32768, 0
        p.writeBytes(bytes("4d 34 12 4a fe ff ff ff")); // BININT2 0x1234, BININT -2
        p.writeBytes(bytes("47 3f f8 00 00 00 00 00 00")); // BINFLOAT 1.5
        p.writeBytes(bytes("54 02 00 00 00 68 69 72 2c 01 00 00")); // BINSTRING "hi", LONG_BINPUT 300
        p.writeBytes(bytes("55 01 e9 4e 88 6a 2c 01 00 00 65")); // SHORT_BINSTRING "é" (latin-1), NONE, NEWTRUE, LONG_BINGET 300, APPENDS
        p.writeBytes(bytes("4b 07 4b 08 4b 09 87 61 2e")); // BININT1 x3, TUPLE3, APPEND, STOP
        Object got = new TorchCheckpoint.Unpickler(dir, p.toByteArray()).load();
        assertEquals(Arrays.asList(Long.MIN_VALUE, 32767L, -32768L, 0L, 0x1234L, -2L, 1.5, "hi", "\u00e9", null, true, "hi",
                new TorchCheckpoint.Tuple(List.of(7L, 8L, 9L))), got);

        BadInputException e = assertThrows(BadInputException.class,
                () -> new TorchCheckpoint.Unpickler(dir, bytes("80 02 69 6f 73 0a")).load()); // INST: protocol 0
        assertTrue(e.getMessage().contains("opcode 0x69 at byte 2"), e.getMessage());
    }

    @Test
    void conversionIsCachedByContentAndAtomic() throws IOException {
        Path bin = TorchBins.fixture("tensors.bin");
        Path cache = dir.resolve("converted");
        String sha = Caches.sha256(bin);
        // what a conversion killed midway leaves: a temporary that is never renamed, so never trusted
        Files.createDirectories(cache);
        Path leftover = cache.resolve("." + sha + ".safetensors.123.part");
        Files.write(leftover, new byte[]{1, 2, 3});

        Path first = TorchCheckpoint.cachedSafetensors(bin, cache);
        assertEquals(cache.resolve(sha + ".safetensors"), first);
        assertFalse(Files.exists(leftover));
        Map<String, Tensor> expected = Safetensors.readAll(TorchBins.fixture("tensors.expected.safetensors"));
        Safetensors.readAll(first).forEach((name, t) -> assertSame(name, expected.get(name), t));

        FileTime old = FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(first, old);
        assertEquals(first, TorchCheckpoint.cachedSafetensors(bin, cache));
        assertEquals(old, Files.getLastModifiedTime(first), "the second open reuses the conversion");

        // a hub snapshot links to blobs/<sha256>: the name is the key, the 776 MB are not hashed again
        String blobName = "ab".repeat(32);
        Path blob = dir.resolve("hf/blobs").resolve(blobName);
        Files.createDirectories(blob.getParent());
        Files.copy(bin, blob);
        Path link = dir.resolve("hf/snapshots/c0ffee/pytorch_model.bin");
        Files.createDirectories(link.getParent());
        Files.createSymbolicLink(link, link.getParent().relativize(blob));
        assertEquals(cache.resolve(blobName + ".safetensors"), TorchCheckpoint.cachedSafetensors(link, cache));
    }

    @Test
    void weightStoreReadsPytorchModelBinWhereNoSafetensorsAre() throws IOException {
        Path bin = TorchBins.fixture("tensors.bin");
        Map<String, Tensor> expected = Safetensors.readAll(TorchBins.fixture("tensors.expected.safetensors"));
        try (WeightStore store = WeightStore.open(bin)) {
            assertEquals(expected.keySet(), store.names());
            assertSame("view.transposed", expected.get("view.transposed"), store.tensor("view.transposed"));
        }
        Path both = Files.createDirectories(dir.resolve("both"));
        Files.copy(bin, both.resolve("pytorch_model.bin"));
        Safetensors.write(both.resolve("model.safetensors"), Map.of("w", Tensors.floats(new float[]{1}, 1)), null);
        try (WeightStore store = WeightStore.open(both)) {
            assertEquals(both.resolve("model.safetensors"), store.source("w"), "safetensors first, as transformers does");
        }

        Path sharded = Files.createDirectories(dir.resolve("sharded"));
        Files.writeString(sharded.resolve("pytorch_model.bin.index.json"), "{\"weight_map\": {}}");
        String msg = assertThrows(BadInputException.class, () -> WeightStore.open(sharded)).getMessage();
        assertTrue(msg.startsWith(sharded + ": holds a sharded pytorch_model.bin") && msg.contains("safetensors variant"), msg);
        Path empty = Files.createDirectories(dir.resolve("empty"));
        msg = assertThrows(BadInputException.class, () -> WeightStore.open(empty)).getMessage();
        assertTrue(msg.contains("model.safetensors, model.safetensors.index.json or pytorch_model.bin, found none"), msg);
    }

    /**
     * The golden CLAP as a pytorch_model.bin folder (config, feature extractor config, .bin) opens through the
     * converted cache and gives exactly the embeddings of the safetensors folder.
     */
    @Test
    void clapFromPytorchModelBinMatchesItsSafetensors() throws IOException {
        Path golden = TorchBins.clapGolden();
        Path folder = dir.resolve("clap-bin");
        Files.createDirectories(folder);
        for (String f : List.of("config.json", "preprocessor_config.json")) Files.copy(golden.resolve(f), folder.resolve(f));
        TorchBins.clapAudioBin(folder.resolve("pytorch_model.bin"));
        Tensor features = Safetensors.readAll(golden.resolve("io.safetensors")).get("input_features");
        Tensor referenceEmbeds = Safetensors.readAll(golden.resolve("io.safetensors")).get("audio_embeds");

        try (ModelFolder fromBin = ModelFolder.open(folder); ModelFolder fromSafetensors = ModelFolder.open(golden)) {
            Path source = fromBin.store().source(fromBin.store().names().iterator().next());
            assertEquals(Caches.root().resolve("converted"), source.getParent(), "converted into our cache, not the model folder");
            assertEquals(fromSafetensors.store().names(), fromBin.store().names());
            for (String name : fromSafetensors.store().names()) {
                assertSame(name, fromSafetensors.store().tensor(name), fromBin.store().tensor(name));
            }
            Tensor a = new ClapAudioEncoder(ClapAudioEncoder.Config.fromJson(fromBin.config()), fromBin.weights(Compute.cpu()))
                    .forward(features).embeds();
            Tensor b = new ClapAudioEncoder(ClapAudioEncoder.Config.fromJson(fromSafetensors.config()), fromSafetensors.weights(Compute.cpu()))
                    .forward(features).embeds();
            assertTrue(torch.equal(a, b), "same weights, same embeddings");
            double drift = Tensors.toDoubles(a.sub(referenceEmbeds).abs().max())[0];
            assertTrue(drift < 1e-4, "golden audio_embeds within " + drift);
        }
        try (Stream<Path> files = Files.list(folder)) {
            assertEquals(Set.of("config.json", "preprocessor_config.json", "pytorch_model.bin"),
                    Set.copyOf(files.map(p -> p.getFileName().toString()).toList()), "nothing written into the model folder");
        }
    }

    private static void assertSame(String name, Tensor expected, Tensor got) {
        assertEquals(Dtype.of(expected.scalar_type()), Dtype.of(got.scalar_type()), name);
        assertArrayEquals(expected.shape(), got.shape(), name);
        assertTrue(got.is_contiguous(), name + " comes out contiguous");
        assertTrue(torch.equal(expected, got), name + " holds the stored values");
    }

    /** The error a file gives, checked to be one line that starts with the file. */
    private static String oneLineError(Path bin) {
        BadInputException e = assertThrows(BadInputException.class, () -> {
            try (TorchCheckpoint ckpt = TorchCheckpoint.open(bin)) {
                ckpt.layouts().keySet().forEach(ckpt::tensor);
            }
        });
        assertTrue(e.getMessage().startsWith(bin + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    private static byte[] entry(Path zip, String name) throws IOException {
        try (var z = new java.util.zip.ZipFile(zip.toFile())) {
            var e = z.stream().filter(x -> x.getName().endsWith("/" + name)).findFirst().orElseThrow();
            return z.getInputStream(e).readAllBytes();
        }
    }

    private static byte[] bytes(String hex) {
        return HexFormat.ofDelimiter(" ").parseHex(hex);
    }
}
