package ai.musicgenti.core;

import ai.musicgenti.golden.Golden;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * The torch.save fixtures in src/test/resources/reference/torch_bin (made by scripts/reference/torch_bin.py, see
 * its README), and PyTorch checkpoints assembled from them. Shared with the launcher's tests through the test jar,
 * so resources are read as streams.
 */
public final class TorchBins {
    private static final String DIR = "/reference/torch_bin/";
    private static final LocalDateTime FIXED_TIME = LocalDateTime.of(2024, 1, 1, 0, 0);

    private TorchBins() {
    }

    /** A fixture file, in this module's test classes. */
    public static Path fixture(String name) {
        try {
            return Path.of(TorchBins.class.getResource(DIR + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The golden clap_audio case folder: config.json, preprocessor_config.json, weights.safetensors. */
    public static Path clapGolden() throws IOException {
        return Golden.firstOfKind("clap_audio").dir();
    }

    /**
     * Writes the golden clap_audio weights as the pytorch_model.bin that torch.save makes of them: the fixture's
     * data.pkl and other entries, written by torch, with the golden tensors put back in as the storages it left out.
     */
    public static void clapAudioBin(Path target) throws IOException {
        JsonNode storages;
        try (InputStream in = TorchBins.class.getResourceAsStream(DIR + "clap_audio.storages.json")) {
            storages = new ObjectMapper().readTree(in);
        }
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipInputStream skeleton = new ZipInputStream(TorchBins.class.getResourceAsStream(DIR + "clap_audio.skeleton.bin"))) {
            for (ZipEntry e; (e = skeleton.getNextEntry()) != null; ) entries.put(e.getName(), skeleton.readAllBytes());
        }
        String archive = entries.keySet().iterator().next().replaceAll("/.*", "/");
        try (Safetensors weights = Safetensors.open(clapGolden().resolve("weights.safetensors"))) {
            storages.properties().forEach(s -> entries.put(archive + "data/" + s.getKey(), bytes(weights.tensor(s.getValue().asText()))));
        }
        writeZip(target, entries);
    }

    /** A copy of a checkpoint with some entries (named after the archive folder, e.g. "data.pkl") replaced. */
    static void rewrite(Path source, Path target, Map<String, byte[]> replace) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(source.toFile())) {
            zip.stream().forEach(e -> {
                try (InputStream in = zip.getInputStream(e)) {
                    String local = e.getName().substring(e.getName().indexOf('/') + 1);
                    entries.put(e.getName(), replace.getOrDefault(local, in.readAllBytes()));
                } catch (IOException x) {
                    throw new UncheckedIOException(x);
                }
            });
        }
        writeZip(target, entries);
    }

    /** Uncompressed entries, as torch.save writes them. */
    private static void writeZip(Path target, Map<String, byte[]> entries) throws IOException {
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(target))) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry z = new ZipEntry(e.getKey());
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                z.setMethod(ZipEntry.STORED);
                z.setTimeLocal(FIXED_TIME); // the same bytes every run: conversions are cached by the file's hash
                z.setSize(e.getValue().length);
                z.setCompressedSize(e.getValue().length);
                z.setCrc(crc.getValue());
                out.putNextEntry(z);
                out.write(e.getValue());
                out.closeEntry();
            }
        }
    }

    static byte[] bytes(Tensor t) {
        Tensor c = t.contiguous();
        byte[] out = new byte[(int) c.nbytes()];
        try (BytePointer p = new BytePointer(c.data_ptr())) {
            p.capacity(out.length).get(out);
        }
        return out;
    }
}
