package ai.musicgenti.core;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

import java.io.IOException;
import java.io.InputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A PyTorch checkpoint as {@code torch.save} writes it since PyTorch 1.6 (e.g. {@code pytorch_model.bin}): a zip
 * holding {@code <archive>/data.pkl}, the pickled state dict, and {@code <archive>/data/<key>}, the raw
 * little-endian bytes of each storage. Unpickling with Python would run whatever the file's author put in the
 * pickle, since a pickle may call any importable function. So the pickle is read here by a small interpreter that
 * knows only the globals a state dict of tensors needs ({@code collections.OrderedDict},
 * {@code torch._utils._rebuild_tensor_v2} / {@code _rebuild_parameter} and the {@code torch.*Storage} types) and
 * refuses any other; it calls nothing, it only records which bytes of which storage each tensor views.
 */
public final class TorchCheckpoint implements AutoCloseable {
    /** A state dict pickle is about 100 bytes per tensor; anything near this is not one. */
    private static final long MAX_PICKLE = 64L << 20;
    private static final Pattern STORAGE_KEY = Pattern.compile("[A-Za-z0-9_]{1,64}");
    private static final Map<String, Dtype> STORAGE_TYPES = Map.of(
            "torch.FloatStorage", Dtype.F32, "torch.DoubleStorage", Dtype.F64, "torch.HalfStorage", Dtype.F16,
            "torch.BFloat16Storage", Dtype.BF16, "torch.LongStorage", Dtype.I64, "torch.IntStorage", Dtype.I32,
            "torch.ShortStorage", Dtype.I16, "torch.CharStorage", Dtype.I8, "torch.ByteStorage", Dtype.U8,
            "torch.BoolStorage", Dtype.BOOL);
    private static final String ORDERED_DICT = "collections.OrderedDict";
    private static final String REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
    private static final String REBUILD_PARAMETER = "torch._utils._rebuild_parameter";
    private static final Set<String> CALLABLE = Set.of(ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER);

    /** A storage of the checkpoint: {@code <archive>/data/<key>}, {@code numel} elements of {@code dtype}. */
    record Storage(String key, Dtype dtype, long numel) {
    }

    /** A tensor as {@code _rebuild_tensor_v2} makes it: a strided view into a storage (torch's as_strided). */
    record View(Storage storage, long offset, long[] shape, long[] stride) {
    }

    private final Path path;
    private final ZipFile zip;
    private final String archive;
    private final Map<String, View> views;

    private TorchCheckpoint(Path path, ZipFile zip, String archive, Map<String, View> views) {
        this.path = path;
        this.zip = zip;
        this.archive = archive;
        this.views = views;
    }

    /** Reads the checkpoint's pickle and checks every tensor against its storage; no tensor data is read yet. */
    public static TorchCheckpoint open(Path path) {
        if (!Files.isRegularFile(path)) throw new BadInputException(path + ": no such file; check the path");
        checkMagic(path);
        ZipFile zip;
        try {
            zip = new ZipFile(path.toFile());
        } catch (IOException e) {
            throw damaged(path, "not a readable zip archive (" + e.getMessage() + ")");
        }
        try {
            return read(path, zip);
        } catch (RuntimeException e) {
            closeQuietly(zip);
            throw e;
        }
    }

    private static void checkMagic(Path path) {
        byte[] head = new byte[4];
        int n;
        try (InputStream in = Files.newInputStream(path)) {
            n = in.readNBytes(head, 0, 4);
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot be read (" + e.getMessage() + "); check its permissions");
        }
        if (n == 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return;
        if (n > 0 && (head[0] & 0xff) == 0x80) {
            // before 1.6, torch.save wrote a bare pickle stream with the storages appended
            throw new BadInputException(path + ": a PyTorch checkpoint in the legacy format (torch < 1.6), which musicgen-ti "
                    + "does not read; re-save it with torch.save from PyTorch 1.6 or later, or as safetensors");
        }
        throw damaged(path, "not a PyTorch checkpoint (torch.save writes a zip archive)");
    }

    private static TorchCheckpoint read(Path path, ZipFile zip) {
        List<String> pickles = zip.stream().map(ZipEntry::getName)
                .filter(n -> n.endsWith("/data.pkl") && n.indexOf('/') == n.length() - "/data.pkl".length()).toList();
        if (pickles.size() != 1) {
            throw new BadInputException(path + ": holds " + (pickles.isEmpty() ? "no" : pickles.size())
                    + " <archive>/data.pkl entries, so it is not a torch.save checkpoint; point at a pytorch_model.bin");
        }
        String archive = pickles.get(0).substring(0, pickles.get(0).length() - "data.pkl".length());
        ZipEntry order = zip.getEntry(archive + "byteorder");
        // files older than the entry have none; torch.load, too, takes them as little-endian
        if (order != null) {
            String byteorder = new String(bytes(path, zip, order, 16), StandardCharsets.US_ASCII).strip();
            if (!byteorder.equals("little")) {
                throw new BadInputException(path + ": its tensors are stored " + printable(byteorder) + "-endian, which musicgen-ti "
                        + "does not read; re-save it on a little-endian machine, or as safetensors");
            }
        }
        ZipEntry pickleEntry = zip.getEntry(pickles.get(0));
        Object root = new Unpickler(path, bytes(path, zip, pickleEntry, MAX_PICKLE)).load();
        if (!(root instanceof Map<?, ?> dict)) {
            throw new BadInputException(path + ": holds a " + typeName(root) + ", not a state dict of tensors; point at a pytorch_model.bin");
        }
        long fileSize = fileSize(path);
        Map<String, View> views = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw new BadInputException(path + ": has a " + typeName(e.getKey()) + " key where a state dict has tensor names");
            }
            if (!(e.getValue() instanceof View v)) {
                throw new BadInputException(path + ": '" + printable(name) + "' is a " + typeName(e.getValue())
                        + ", not a tensor; musicgen-ti reads state dicts of tensors only (as in pytorch_model.bin)");
            }
            check(path, zip, archive, fileSize, name, v);
            views.put(name, v);
        }
        return new TorchCheckpoint(path, zip, archive, Collections.unmodifiableMap(views));
    }

    /** The view must stay inside its storage, and the storage inside the file: nothing outside is ever read. */
    private static void check(Path path, ZipFile zip, String archive, long fileSize, String name, View v) {
        String where = path + ": tensor '" + printable(name) + "'";
        Storage s = v.storage();
        ZipEntry entry = zip.getEntry(archive + "data/" + s.key());
        if (entry == null) throw damaged(path, "tensor '" + printable(name) + "' lives in storage " + s.key() + ", which the archive lacks");
        try {
            long needed = Math.multiplyExact(s.numel(), s.dtype().bytes);
            if (entry.getSize() < needed) {
                throw damaged(path, "storage " + s.key() + " holds " + entry.getSize() + " bytes, but " + s.numel() + " elements of "
                        + s.dtype() + " need " + needed);
            }
            if (v.shape().length != v.stride().length) {
                throw new BadInputException(where + " has shape " + Arrays.toString(v.shape()) + " but strides "
                        + Arrays.toString(v.stride()) + "; the file is damaged, download it again");
            }
            long numel = 1, last = v.offset();
            for (int d = 0; d < v.shape().length; d++) {
                if (v.shape()[d] < 0 || v.stride()[d] < 0) {
                    throw new BadInputException(where + " has a negative size or stride in " + Arrays.toString(v.shape()) + " / "
                            + Arrays.toString(v.stride()) + "; the file is damaged, download it again");
                }
                numel = Math.multiplyExact(numel, v.shape()[d]);
                if (v.shape()[d] > 0) last = Math.addExact(last, Math.multiplyExact(v.shape()[d] - 1, v.stride()[d]));
            }
            if (numel > 0 && (v.offset() < 0 || last >= s.numel())) {
                throw new BadInputException(where + " views elements " + v.offset() + " to " + last + " of storage " + s.key()
                        + ", which has " + s.numel() + "; the file is damaged, download it again");
            }
            // a broadcast view (stride 0) may describe more than the file holds; a weight never does
            if (Math.multiplyExact(numel, s.dtype().bytes) > fileSize) {
                throw new BadInputException(where + " would take " + numel * s.dtype().bytes + " bytes, more than the "
                        + fileSize + "-byte file; refusing it (a broadcast view this large is not a weight)");
            }
        } catch (ArithmeticException e) {
            throw new BadInputException(where + " has a shape " + Arrays.toString(v.shape()) + " too large to address; "
                    + "the file is damaged, download it again");
        }
    }

    /** Every tensor's dtype and shape by name, in the file's order. */
    public Map<String, Safetensors.Layout> layouts() {
        Map<String, Safetensors.Layout> out = new LinkedHashMap<>();
        views.forEach((name, v) -> out.put(name, new Safetensors.Layout(v.storage().dtype(), v.shape())));
        return out;
    }

    /**
     * A contiguous CPU tensor owning a copy of the stored elements it views. Only the storage bytes from its first to
     * its last element are read, so a small view into a large storage costs only its own span.
     */
    public Tensor tensor(String name) {
        View v = views.get(name);
        if (v == null) throw new BadInputException(path + ": no tensor named '" + name + "'");
        TensorOptions options = new TensorOptions(v.storage().dtype().scalarType);
        long elem = v.storage().dtype().bytes;
        long span = 1;
        for (int d = 0; d < v.shape().length; d++) {
            if (v.shape()[d] == 0) return torch.empty(v.shape(), options, null);
            span += (v.shape()[d] - 1) * v.stride()[d];
        }
        ZipEntry entry = zip.getEntry(archive + "data/" + v.storage().key());
        try (InputStream in = zip.getInputStream(entry); BytePointer data = new BytePointer(span * elem)) {
            in.skipNBytes(v.offset() * elem);
            byte[] chunk = new byte[(int) Math.min(1 << 20, span * elem)];
            for (long done = 0; done < span * elem; ) {
                int n = in.read(chunk, 0, (int) Math.min(chunk.length, span * elem - done));
                if (n < 0) throw new ZipException("storage " + v.storage().key() + " ends early");
                data.position(done).put(chunk, 0, n);
                done += n;
            }
            data.position(0);
            Tensor out = torch.empty(v.shape(), options, null);
            out.copy_(torch.from_blob(data, v.shape(), v.stride(), options));
            return out;
        } catch (IOException e) {
            throw damaged(path, "cannot read tensor '" + printable(name) + "' (" + e.getMessage() + ")");
        }
    }

    /**
     * Writes the checkpoint as a safetensors file with the same names, dtypes and shapes (views and shared storages
     * become tensors of their own), one tensor in memory at a time; atomically, as {@link Safetensors#write} does.
     */
    public static void toSafetensors(Path bin, Path target) throws IOException {
        try (TorchCheckpoint ckpt = open(bin)) {
            Safetensors.write(target, ckpt.layouts(), ckpt::tensor, Map.of("format", "pt", "source", bin.getFileName().toString()));
        }
    }

    /**
     * The checkpoint as safetensors in {@code cacheDir}, named by the SHA-256 of the .bin: converted on first use,
     * reused after. Never written beside the .bin: a model folder or hub snapshot is not ours, and may be read-only.
     */
    public static synchronized Path cachedSafetensors(Path bin, Path cacheDir) {
        Path target;
        try {
            target = cacheDir.resolve(Caches.contentSha256(bin) + ".safetensors");
        } catch (IOException e) {
            throw new BadInputException(bin + ": cannot be read (" + e.getMessage() + "); check the path and its permissions", e);
        }
        if (Files.isRegularFile(target)) return target;
        try {
            Files.createDirectories(cacheDir);
            // another process converting the same file: wait for its result rather than race it
            try (FileChannel ch = FileChannel.open(cacheDir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock lock = ch.lock()) {
                if (Files.isRegularFile(target)) return target;
                AtomicFiles.deleteLeftoversOf(target); // what a killed conversion left: never renamed, never trusted
                toSafetensors(bin, target);
            }
            return target;
        } catch (IOException e) {
            throw new BadInputException(target + ": cannot write the safetensors conversion of " + bin + " (" + e.getMessage()
                    + "); free some space, or set MUSICGEN_TI_CACHE to a writable folder", e);
        }
    }

    @Override
    public void close() {
        closeQuietly(zip);
    }

    private static byte[] bytes(Path path, ZipFile zip, ZipEntry entry, long max) {
        if (entry.getSize() > max) throw damaged(path, entry.getName() + " is " + entry.getSize() + " bytes, more than a checkpoint's ever is");
        try (InputStream in = zip.getInputStream(entry)) {
            return in.readNBytes((int) max);
        } catch (IOException e) {
            throw damaged(path, "cannot read " + entry.getName() + " (" + e.getMessage() + ")");
        }
    }

    private static long fileSize(Path path) {
        try {
            return Files.size(path);
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot be read (" + e.getMessage() + "); check its permissions", e);
        }
    }

    private static BadInputException damaged(Path path, String what) {
        return new BadInputException(path + ": " + what + "; the file is truncated or damaged, download it again");
    }

    private static void closeQuietly(ZipFile zip) {
        try {
            zip.close();
        } catch (IOException ignored) {
            // opened for reading only: nothing to lose
        }
    }

    /** Names from the file go into one-line messages: no control characters, no pages of text. */
    private static String printable(String s) {
        String clean = s.replaceAll("\\p{Cntrl}", "?");
        return clean.length() > 120 ? clean.substring(0, 120) + "..." : clean;
    }

    private static String typeName(Object o) {
        if (o == null) return "None";
        if (o instanceof Map) return "dict";
        if (o instanceof Tuple) return "tuple";
        if (o instanceof List) return "list";
        if (o instanceof String) return "str";
        if (o instanceof Long) return "int";
        if (o instanceof Double) return "float";
        if (o instanceof Boolean) return "bool";
        if (o instanceof Global g) return g.name();
        if (o instanceof Storage) return "storage";
        return o.getClass().getSimpleName();
    }

    /** A pickled tuple (lists are {@link ArrayList}s, dicts {@link LinkedHashMap}s). */
    record Tuple(List<Object> items) {
    }

    /** A global the allow-list let through, e.g. {@code collections.OrderedDict}. */
    record Global(String name) {
    }

    /**
     * The pickle opcodes {@code torch.save} emits (protocol 2 by default, 4 and 5 when asked), evaluated into plain
     * values. GLOBAL only looks a name up in the allow-list; REDUCE only records tensor views and makes empty dicts.
     */
    static final class Unpickler {
        private final Path path;
        private final ByteBuffer in;
        private final List<Object> stack = new ArrayList<>();
        private final Deque<Integer> marks = new ArrayDeque<>();
        private final Map<Long, Object> memo = new HashMap<>();

        Unpickler(Path path, byte[] pickle) {
            this.path = path;
            this.in = ByteBuffer.wrap(pickle).order(ByteOrder.LITTLE_ENDIAN);
        }

        Object load() {
            try {
                return run();
            } catch (BufferUnderflowException e) {
                throw damaged(path, "its pickle (data.pkl) ends early");
            }
        }

        private Object run() {
            while (true) {
                int at = in.position();
                int op = u8();
                switch (op) {
                    case 0x80 -> { // PROTO
                        int protocol = u8();
                        if (protocol > 5) throw fail("pickle protocol " + protocol + " is newer than any torch.save writes");
                    }
                    case 0x95 -> in.getLong(); // FRAME: a size hint for buffered readers
                    case '.' -> { // STOP
                        Object result = pop();
                        if (!stack.isEmpty() || !marks.isEmpty()) throw fail("the pickle stops with values left over; the file is damaged");
                        return result;
                    }
                    case '(' -> marks.push(stack.size()); // MARK
                    case 'N' -> push(null);
                    case 0x88 -> push(Boolean.TRUE);
                    case 0x89 -> push(Boolean.FALSE);
                    case 'K' -> push((long) u8()); // BININT1
                    case 'M' -> push((long) (in.getShort() & 0xffff)); // BININT2
                    case 'J' -> push((long) in.getInt()); // BININT
                    case 0x8a -> push(long1()); // LONG1
                    case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // BINFLOAT, big-endian
                    case 'X' -> push(string(in.getInt() & 0xffffffffL, StandardCharsets.UTF_8)); // BINUNICODE
                    case 0x8c -> push(string(u8(), StandardCharsets.UTF_8)); // SHORT_BINUNICODE
                    case 'T' -> push(string(in.getInt(), StandardCharsets.ISO_8859_1)); // BINSTRING
                    case 'U' -> push(string(u8(), StandardCharsets.ISO_8859_1)); // SHORT_BINSTRING
                    case '}' -> push(new LinkedHashMap<>());
                    case ']' -> push(new ArrayList<>());
                    case ')' -> push(new Tuple(List.of()));
                    case 't' -> push(new Tuple(popMark()));
                    case 0x85, 0x86, 0x87 -> { // TUPLE1..3
                        Object[] items = new Object[op - 0x84];
                        for (int i = items.length - 1; i >= 0; i--) items[i] = pop();
                        push(new Tuple(Arrays.asList(items)));
                    }
                    case 'q' -> memo.put((long) u8(), peek()); // BINPUT
                    case 'r' -> memo.put(in.getInt() & 0xffffffffL, peek()); // LONG_BINPUT
                    case 0x94 -> memo.put((long) memo.size(), peek()); // MEMOIZE
                    case 'h' -> push(memoGet(u8())); // BINGET
                    case 'j' -> push(memoGet(in.getInt() & 0xffffffffL)); // LONG_BINGET
                    case 'c' -> push(global(line() + "." + line())); // GLOBAL
                    case 0x93 -> { // STACK_GLOBAL
                        Object name = pop(), module = pop();
                        if (!(module instanceof String m) || !(name instanceof String n)) throw fail("STACK_GLOBAL without two names");
                        push(global(m + "." + n));
                    }
                    case 'Q' -> push(storage(pop())); // BINPERSID
                    case 'R' -> { // REDUCE
                        Object args = pop();
                        push(call(pop(), args));
                    }
                    case 'b' -> build(pop(), peek()); // BUILD
                    case 's' -> { // SETITEM
                        Object value = pop(), key = pop();
                        dict(peek()).put(key, value);
                    }
                    case 'u' -> { // SETITEMS
                        List<Object> items = popMark();
                        if (items.size() % 2 != 0) throw fail("SETITEMS with an odd number of items");
                        Map<Object, Object> d = dict(peek());
                        for (int i = 0; i < items.size(); i += 2) d.put(items.get(i), items.get(i + 1));
                    }
                    case 'a' -> { // APPEND
                        Object value = pop();
                        list(peek()).add(value);
                    }
                    case 'e' -> { // APPENDS
                        List<Object> items = popMark();
                        list(peek()).addAll(items);
                    }
                    default -> throw fail(String.format("pickle opcode 0x%02x at byte %d, which a state dict of tensors never uses; "
                            + "point at a pytorch_model.bin written by torch.save", op, at));
                }
            }
        }

        /** Only allow-listed names become values; anything else stops here, before it could ever be used. */
        private Global global(String name) {
            if (CALLABLE.contains(name) || STORAGE_TYPES.containsKey(name)) return new Global(name);
            throw new BadInputException(path + ": the pickle asks for the global " + printable(name) + ", which builds no tensor; "
                    + "refusing to load it (allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2 and _rebuild_parameter, "
                    + "torch.*Storage); get the checkpoint from a source you trust, as safetensors if it has one");
        }

        /** torch.save's persistent id: ('storage', storage type, key, location, numel). */
        private Storage storage(Object pid) {
            if (pid instanceof Tuple t && t.items().size() == 5 && "storage".equals(t.items().get(0))
                    && t.items().get(1) instanceof Global type && STORAGE_TYPES.containsKey(type.name())
                    && t.items().get(2) instanceof String key && t.items().get(4) instanceof Long numel) {
                if (!STORAGE_KEY.matcher(key).matches() || numel < 0) throw fail("a storage with key '" + printable(key) + "' and " + numel + " elements");
                return new Storage(key, STORAGE_TYPES.get(type.name()), numel);
            }
            throw fail("a persistent id that is not a torch storage");
        }

        private Object call(Object callable, Object args) {
            if (!(callable instanceof Global g) || !CALLABLE.contains(g.name()) || !(args instanceof Tuple t)) {
                throw fail("a call of " + typeName(callable) + ", which torch.save never writes");
            }
            List<Object> a = t.items();
            switch (g.name()) {
                case ORDERED_DICT -> {
                    if (!a.isEmpty()) throw fail("OrderedDict built from arguments, which torch.save never writes");
                    return new LinkedHashMap<>();
                }
                case REBUILD_TENSOR -> {
                    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                    if (a.size() < 6 || !(a.get(0) instanceof Storage s) || !(a.get(1) instanceof Long offset)) {
                        throw fail("_rebuild_tensor_v2 with arguments " + typeNames(a));
                    }
                    return new View(s, offset, longs(a.get(2)), longs(a.get(3)));
                }
                default -> { // REBUILD_PARAMETER: (data, requires_grad, backward_hooks)
                    if (a.size() != 3 || !(a.get(0) instanceof View v)) throw fail("_rebuild_parameter with arguments " + typeNames(a));
                    return v;
                }
            }
        }

        /** BUILD sets an object's state: a state dict's {@code _metadata} (module versions), which only Python needs. */
        private void build(Object state, Object target) {
            if (!(target instanceof Map) || !(state instanceof Map)) {
                throw fail("BUILD of a " + typeName(target) + " with a " + typeName(state) + ", which a state dict never has");
            }
        }

        private long[] longs(Object o) {
            if (!(o instanceof Tuple t)) throw fail("a tensor size or stride that is a " + typeName(o) + ", not a tuple");
            long[] out = new long[t.items().size()];
            for (int i = 0; i < out.length; i++) {
                if (!(t.items().get(i) instanceof Long l)) throw fail("a tensor size or stride holding a " + typeName(t.items().get(i)));
                out[i] = l;
            }
            return out;
        }

        private long long1() {
            int n = u8();
            if (n > 8) throw fail("an integer of " + n + " bytes, beyond any tensor size");
            long v = 0;
            for (int i = 0; i < n; i++) v |= (long) u8() << (8 * i);
            // two's complement of n bytes: sign-extend from the top byte
            return n == 0 || n == 8 ? v : v << (64 - 8 * n) >> (64 - 8 * n);
        }

        private String string(long length, Charset charset) {
            if (length < 0 || length > in.remaining()) throw new BufferUnderflowException();
            byte[] b = new byte[(int) length];
            in.get(b);
            return new String(b, charset);
        }

        /** GLOBAL's module and name: each up to a newline. */
        private String line() {
            StringBuilder sb = new StringBuilder();
            for (int c; (c = u8()) != '\n'; ) {
                if (sb.length() > 200) throw fail("a GLOBAL name longer than any Python name");
                sb.append((char) c);
            }
            return sb.toString();
        }

        private int u8() {
            return in.get() & 0xff;
        }

        private Object memoGet(long index) {
            if (!memo.containsKey(index)) throw fail("a memo lookup of entry " + index + ", which was never stored");
            return memo.get(index);
        }

        private void push(Object o) {
            stack.add(o);
        }

        private Object peek() {
            if (stack.size() <= fence()) throw fail("a pickle instruction without its operand");
            return stack.get(stack.size() - 1);
        }

        private Object pop() {
            Object o = peek();
            stack.remove(stack.size() - 1);
            return o;
        }

        private int fence() {
            return marks.isEmpty() ? 0 : marks.peek();
        }

        private List<Object> popMark() {
            if (marks.isEmpty()) throw fail("a pickle instruction that needs a MARK without one");
            List<Object> top = stack.subList(marks.pop(), stack.size());
            List<Object> items = new ArrayList<>(top);
            top.clear();
            return items;
        }

        @SuppressWarnings("unchecked")
        private Map<Object, Object> dict(Object o) {
            if (o instanceof LinkedHashMap<?, ?> m) return (Map<Object, Object>) m;
            throw fail("SETITEM on a " + typeName(o));
        }

        @SuppressWarnings("unchecked")
        private List<Object> list(Object o) {
            if (o instanceof ArrayList<?> l) return (List<Object>) l;
            throw fail("APPEND on a " + typeName(o));
        }

        private static String typeNames(List<Object> items) {
            return items.stream().map(TorchCheckpoint::typeName).toList().toString();
        }

        private BadInputException fail(String what) {
            return new BadInputException(path + ": unexpected pickle contents (" + what + "); not a torch.save state dict, "
                    + "or the file is damaged: download it again");
        }
    }
}
