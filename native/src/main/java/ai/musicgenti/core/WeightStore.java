package ai.musicgenti.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Every tensor of a checkpoint by its Hugging Face name: one safetensors file, or the shards that a
 * {@code model.safetensors.index.json} lists, or a {@code pytorch_model.bin} converted once to safetensors (see
 * {@link TorchCheckpoint}). Tensors are read lazily from memory-mapped files.
 */
public final class WeightStore implements AutoCloseable {
    private static final String TORCH_BIN = "pytorch_model.bin";

    private final Map<String, Safetensors> byName;
    private final List<Safetensors> files;

    private WeightStore(Map<String, Safetensors> byName, List<Safetensors> files) {
        this.byName = byName;
        this.files = files;
    }

    /**
     * Opens a weights file, or finds the weights in a model folder: {@code model.safetensors.index.json} (sharded),
     * else {@code model.safetensors}, else the folder's only {@code *.safetensors} file, else {@code pytorch_model.bin}.
     * A {@code .bin} is read through its safetensors conversion in {@link Caches#root()}{@code /converted}.
     */
    public static WeightStore open(Path fileOrFolder) {
        if (!Files.exists(fileOrFolder)) {
            throw new BadInputException(fileOrFolder + ": no such file or folder; check the model path");
        }
        if (!Files.isDirectory(fileOrFolder)) {
            return of(List.of(fileOrFolder.getFileName().toString().endsWith(".bin") ? converted(fileOrFolder) : fileOrFolder));
        }
        Path index = fileOrFolder.resolve("model.safetensors.index.json");
        if (Files.exists(index)) return sharded(index);
        Path single = fileOrFolder.resolve("model.safetensors");
        if (Files.exists(single)) return of(List.of(single));
        List<Path> found;
        try (Stream<Path> s = Files.list(fileOrFolder)) {
            found = s.filter(p -> p.getFileName().toString().endsWith(".safetensors"))
                    .filter(p -> !p.getFileName().toString().equals("io.safetensors")).sorted().toList();
        } catch (IOException e) {
            throw new BadInputException(fileOrFolder + ": cannot list the folder (" + e.getMessage() + ")");
        }
        Path bin = fileOrFolder.resolve(TORCH_BIN);
        if (found.isEmpty() && Files.exists(bin)) return of(List.of(converted(bin)));
        if (found.isEmpty() && Files.exists(fileOrFolder.resolve(TORCH_BIN + ".index.json"))) {
            throw new BadInputException(fileOrFolder + ": holds a sharded pytorch_model.bin, which musicgen-ti does not read; "
                    + "use the checkpoint's safetensors variant (transformers' save_pretrained(..., safe_serialization=True) writes one)");
        }
        if (found.size() != 1) {
            throw new BadInputException(fileOrFolder + ": expected model.safetensors, model.safetensors.index.json or " + TORCH_BIN
                    + (found.isEmpty() ? ", found none of them" : ", found several .safetensors files: " + found)
                    + "; point --model at a Hugging Face model folder");
        }
        return of(found);
    }

    private static Path converted(Path bin) {
        return TorchCheckpoint.cachedSafetensors(bin, Caches.root().resolve("converted"));
    }

    private static WeightStore sharded(Path index) {
        JsonNode map;
        try {
            map = new ObjectMapper().readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new BadInputException(index + ": not valid JSON (" + e.getMessage() + "); download it again");
        }
        if (!map.isObject()) throw new BadInputException(index + ": has no weight_map; download it again");
        Map<String, Path> shards = new LinkedHashMap<>();
        map.fields().forEachRemaining(f -> shards.putIfAbsent(f.getValue().asText(), index.resolveSibling(f.getValue().asText())));
        WeightStore store = of(new ArrayList<>(shards.values()));
        map.fields().forEachRemaining(f -> {
            if (!store.byName.containsKey(f.getKey())) {
                store.close();
                throw new BadInputException(index + ": lists '" + f.getKey() + "' in " + f.getValue().asText()
                        + " but that shard does not hold it; download the checkpoint again");
            }
        });
        return store;
    }

    private static WeightStore of(List<Path> paths) {
        Map<String, Safetensors> byName = new LinkedHashMap<>();
        List<Safetensors> files = new ArrayList<>();
        try {
            for (Path p : paths) {
                Safetensors st = Safetensors.open(p);
                files.add(st);
                for (String name : st.entries().keySet()) byName.putIfAbsent(name, st);
            }
        } catch (RuntimeException e) {
            files.forEach(Safetensors::close);
            throw e;
        }
        return new WeightStore(Collections.unmodifiableMap(byName), files);
    }

    /**
     * sha256 of the named tensors as stored (per tensor in the given order: dtype, shape, bytes): their identity,
     * whatever folder or repo id they were loaded through, and independent of the dtype a model is run in.
     */
    public String sha256(java.util.List<String> names) {
        try {
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            for (String name : names) {
                Tensor t = tensor(name).contiguous();
                sha.update((entry(name).dtype() + java.util.Arrays.toString(t.shape())).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                try (org.bytedeco.javacpp.BytePointer p = new org.bytedeco.javacpp.BytePointer(t.data_ptr())) {
                    p.capacity(t.nbytes());
                    sha.update(p.asByteBuffer());
                }
            }
            return java.util.HexFormat.of().formatHex(sha.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    public java.util.Set<String> names() {
        return byName.keySet();
    }

    public Safetensors.Entry entry(String name) {
        return file(name).entry(name);
    }

    public Tensor tensor(String name) {
        return file(name).tensor(name);
    }

    /** The stored bytes without a copy, read-only: see {@link Safetensors#mapped}. */
    public Tensor mapped(String name) {
        return file(name).mapped(name);
    }

    /** Where a tensor lives, or the first file when it is absent (for error messages). */
    public Path source(String name) {
        Safetensors st = byName.get(name);
        return (st != null ? st : files.get(0)).path();
    }

    private Safetensors file(String name) {
        Safetensors st = byName.get(name);
        if (st == null) throw new BadInputException(files.get(0).path() + ": no tensor named '" + name + "'");
        return st;
    }

    @Override
    public void close() {
        files.forEach(Safetensors::close);
    }
}
