package ai.musicgenti.core;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * A safetensors file: an 8-byte little-endian header length, a JSON header, then raw little-endian data. Each
 * tensor is memory-mapped ({@link #mapped}) or read ({@link #tensor}) when asked for, so opening a multi-gigabyte
 * checkpoint costs only its header.
 */
public final class Safetensors implements AutoCloseable {
    /** Bytes per positional read into a tensor: a ByteBuffer spans at most 2 GiB, and 8 MiB a call costs nothing. */
    private static final long READ_CHUNK = 8L << 20;
    /** Headers above this size are not plausible; a bigger number means the file is not safetensors. */
    private static final long MAX_HEADER = 100L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    public record Entry(String name, Dtype dtype, long[] shape, long begin, long end) {
        public long numel() {
            long n = 1;
            for (long s : shape) n *= s;
            return n;
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private Safetensors(Path path, FileChannel channel, long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    public static Safetensors open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new BadInputException(path + ": no such file; check the path");
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot be read (" + e.getMessage() + "); check its permissions");
        }
        try {
            return parse(path, ch);
        } catch (RuntimeException | IOException e) {
            closeQuietly(ch);
            if (e instanceof BadInputException b) throw b;
            throw new BadInputException(path + ": cannot be read as safetensors (" + e.getMessage() + ")", e);
        }
    }

    private static Safetensors parse(Path path, FileChannel ch) throws IOException {
        long size = ch.size();
        String fix = "; the file is truncated or not a safetensors file, download or write it again";
        if (size < 8) throw new BadInputException(path + ": only " + size + " bytes, shorter than a safetensors header" + fix);
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0);
        long headerLen = lenBuf.getLong(0);
        if (headerLen <= 0 || headerLen > MAX_HEADER || headerLen > size - 8) {
            throw new BadInputException(path + ": header length " + headerLen + " does not fit a file of " + size + " bytes" + fix);
        }
        ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
        readFully(ch, headerBuf, 8);
        JsonNode header;
        try {
            header = JSON.readTree(new String(headerBuf.array(), StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new BadInputException(path + ": header is not valid JSON (" + e.getOriginalMessage() + ")" + fix);
        }
        if (header == null || !header.isObject()) throw new BadInputException(path + ": header is not a JSON object" + fix);
        long dataStart = 8 + headerLen;
        long dataLen = size - dataStart;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            JsonNode v = f.getValue();
            if (name.equals("__metadata__")) {
                v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            String where = path + ": tensor '" + name + "'";
            Dtype dtype = Dtype.parse(v.path("dtype").asText());
            if (dtype == null) {
                throw new BadInputException(where + " has unsupported dtype '" + v.path("dtype").asText()
                        + "' (supported: " + Arrays.toString(Dtype.values()) + "); convert the checkpoint to one of them");
            }
            JsonNode shapeNode = v.path("shape");
            JsonNode offs = v.path("data_offsets");
            if (!shapeNode.isArray() || !offs.isArray() || offs.size() != 2) {
                throw new BadInputException(where + " lacks a valid shape or data_offsets" + fix);
            }
            long[] shape = new long[shapeNode.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong(-1);
                if (shape[i] < 0) throw new BadInputException(where + " has a negative dimension in " + shapeNode + fix);
            }
            long begin = offs.get(0).asLong(-1), end = offs.get(1).asLong(-1);
            Entry e = new Entry(name, dtype, shape, begin, end);
            if (begin < 0 || end < begin || end > dataLen) {
                throw new BadInputException(where + " data_offsets [" + begin + ", " + end + "] lie outside the "
                        + dataLen + "-byte data section" + fix);
            }
            if (end - begin != e.numel() * dtype.bytes) {
                throw new BadInputException(where + " holds " + (end - begin) + " bytes but its shape "
                        + Arrays.toString(shape) + " of " + dtype + " needs " + e.numel() * dtype.bytes + fix);
            }
            entries.put(name, e);
        }
        return new Safetensors(path, ch, dataStart, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) throw new IOException("unexpected end of file");
        }
    }

    public Path path() {
        return path;
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new BadInputException(path + ": no tensor named '" + name + "'");
        return e;
    }

    /**
     * A CPU tensor that owns a copy of the stored bytes, in the stored dtype, read into it with positional reads: no
     * mapping is made, so none lingers until the garbage collector finds it (reading many small files, as codes in a
     * training loop, or a model's weights into process memory, see {@link Weights#resident}).
     */
    public Tensor tensor(String name) {
        Entry e = entry(name);
        Tensor out = torch.empty(e.shape(), new TensorOptions(e.dtype().scalarType), null);
        long bytes = e.end() - e.begin();
        if (bytes == 0) return out;
        try (BytePointer data = new BytePointer(out.data_ptr())) {
            for (long done = 0; done < bytes; ) {
                int chunk = (int) Math.min(bytes - done, READ_CHUNK);
                // the buffer spans the tensor's bytes up to the chunk's end, its position at the chunk's start
                ByteBuffer target = data.position(done).capacity(done + chunk).asByteBuffer();
                while (target.hasRemaining()) {
                    if (channel.read(target, dataStart + e.begin() + target.position()) < 0) {
                        throw new BadInputException(path + ": ends inside tensor '" + name + "'; the file is truncated, download it again");
                    }
                }
                done += chunk;
            }
        } catch (IOException ex) {
            out.close();
            throw new BadInputException(path + ": cannot read tensor '" + name + "' (" + ex.getMessage() + ")", ex);
        } catch (RuntimeException ex) {
            out.close();
            throw ex;
        }
        return out;
    }

    /**
     * Unmaps every region that {@link #mapped} handed out and no tensor uses any more, so freed weights leave the
     * process's memory now rather than when the garbage collector runs; returns how many were unmapped.
     */
    public static int releaseUnusedMappings() {
        return MappedMemory.releaseUnused();
    }

    /**
     * A CPU tensor over the file's bytes themselves, in the stored dtype: no copy, pages are read on first touch and
     * shared with the page cache, so a model costs its weights' size once (not a copy beside a mapping) and parts
     * never used are never read. The mapping lives as long as the tensor's storage, views included, whether or not
     * this file is still open. The memory is read-only: writing into the tensor in place crashes the process, so
     * this is for weights; {@link #tensor} gives a copy to modify. {@link #releaseUnusedMappings} unmaps what is no
     * longer used. Data that is not aligned for its dtype is copied.
     */
    public Tensor mapped(String name) {
        Entry e = entry(name);
        TensorOptions options = new TensorOptions(e.dtype().scalarType);
        if (e.numel() == 0) return torch.empty(e.shape(), options, null);
        MappedByteBuffer buf = map(e);
        try (BytePointer ptr = new BytePointer(buf)) {
            if (ptr.address() % e.dtype().bytes != 0) return tensor(name);
            return MappedMemory.tensor(ptr, buf, e.shape(), options);
        }
    }

    private MappedByteBuffer map(Entry e) {
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), e.end() - e.begin());
        } catch (IOException ex) {
            throw new BadInputException(path + ": cannot read tensor '" + e.name() + "' (" + ex.getMessage() + ")", ex);
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // read-only channel: nothing to lose
        }
    }

    /** What a header says of a tensor before its bytes: enough to write a file one tensor at a time. */
    public record Layout(Dtype dtype, long[] shape) {
        public long nbytes() {
            long n = dtype.bytes;
            for (long s : shape) n = Math.multiplyExact(n, s);
            return n;
        }
    }

    /**
     * Writes tensors (any device, any supported dtype) with optional string metadata. The file appears whole or
     * not at all: it is written beside the target and moved over it atomically.
     */
    public static void write(Path target, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Layout> layouts = new LinkedHashMap<>();
        tensors.forEach((name, t) -> layouts.put(name, new Layout(Dtype.of(t.scalar_type()), t.shape())));
        write(target, layouts, tensors::get, metadata);
    }

    /**
     * As {@link #write(Path, Map, Map)}, asking {@code tensors} for each tensor only when its bytes are due and
     * freeing it right after, so that a checkpoint is converted with one tensor in memory rather than all of them.
     * Each tensor must have the dtype and shape its layout announced.
     */
    public static void write(Path target, Map<String, Layout> layouts, Function<String, Tensor> tensors,
                             Map<String, String> metadata) throws IOException {
        Map<String, Layout> sorted = new TreeMap<>(layouts);
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, Layout> e : sorted.entrySet()) {
            ObjectNode node = header.putObject(e.getKey());
            node.put("dtype", e.getValue().dtype().name());
            var shape = node.putArray("shape");
            for (long s : e.getValue().shape()) shape.add(s);
            node.putArray("data_offsets").add(offset).add(offset + e.getValue().nbytes());
            offset += e.getValue().nbytes();
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();
        AtomicFiles.write(target, ch -> {
            writeFully(ch, head);
            for (Map.Entry<String, Layout> e : sorted.entrySet()) {
                if (e.getValue().nbytes() == 0) continue;
                try (PointerScope scope = new PointerScope()) {
                    Tensor given = tensors.apply(e.getKey());
                    Tensor t = given.detach().to(new org.bytedeco.pytorch.Device("cpu"), given.scalar_type()).contiguous();
                    if (Dtype.of(t.scalar_type()) != e.getValue().dtype() || !Arrays.equals(t.shape(), e.getValue().shape())) {
                        throw new IllegalStateException(e.getKey() + " is " + Dtype.of(t.scalar_type()) + " " + Arrays.toString(t.shape())
                                + ", not the announced " + e.getValue().dtype() + " " + Arrays.toString(e.getValue().shape()));
                    }
                    BytePointer p = new BytePointer(t.data_ptr());
                    p.capacity(t.nbytes());
                    writeFully(ch, p.asByteBuffer());
                }
            }
        });
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** A whole file: its tensors (CPU, stored dtype, in file order) and its string metadata. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
    }

    /** Reads a whole file (small files: golden data, learned concepts, checkpoints). */
    public static Contents load(Path path) {
        try (Safetensors st = open(path)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String name : st.entries().keySet()) out.put(name, st.tensor(name));
            return new Contents(out, st.metadata());
        }
    }

    /** The tensors of a whole file. */
    public static Map<String, Tensor> readAll(Path path) {
        return load(path).tensors();
    }
}
