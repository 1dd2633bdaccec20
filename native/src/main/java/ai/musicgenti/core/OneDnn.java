package ai.musicgenti.core;

import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorBase;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorTensorHook;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * F32 projections of many rows through oneDNN's matmul primitive (the standalone oneDNN of the JavaCPP presets, newer
 * than the one inside libtorch). On AVX-512 CPUs it multiplies about three times as fast as OpenBLAS, which runs its
 * AVX2 kernels there: musicgen-small's projections of 251 rows at 330-400 against 90-150 GFLOP/s on two Zen 5 cores,
 * to within F32 rounding of a float64 reference (README, "Build choices"). Weights are read in place in their
 * {@code [out, in]} layout, so nothing is packed or copied.
 *
 * <p>The frozen weights of textual inversion need only the input gradient {@code dy . W}, and libtorch would compute
 * it with OpenBLAS; so a projection whose input needs gradients is tied into autograd by two tensor hooks that hand
 * libtorch oneDNN's product instead (see {@link #linear}). Such a graph takes one backward (no {@code retain_graph}):
 * the hooks let go of themselves when it runs. oneDNN runs on libtorch's OpenMP pool, so it has the cores only in
 * {@link CpuThreads#libtorch()}.
 */
public final class OneDnn {
    /** Fewer rows stay on BLAS: a decode step's matrix-vector products are bound by the weights' bytes, not FLOPs. */
    private static final long MIN_ROWS = 16;
    private static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("musicgen.cpu.onednn", "true"));
    private static final int CACHED_SHAPES = 64;

    private static dnnl_engine engine;
    private static final ThreadLocal<dnnl_stream> STREAM = new ThreadLocal<>();
    private static final Map<Shape, Matmul> MATMULS = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Shape, Matmul> eldest) {
            if (size() <= CACHED_SHAPES) return false;
            eldest.getValue().destroy();
            return true;
        }
    };

    private OneDnn() {
    }

    /** Whether F32 projections of many rows go through oneDNN (the system property {@code musicgen.cpu.onednn}). */
    public static boolean enabled() {
        return ENABLED;
    }

    /** Whether {@code x @ w.T} goes through oneDNN: F32 on the CPU, a plain frozen weight, enough rows. */
    public static boolean serves(Tensor x, Tensor w) {
        // the row count first: Ops.linear asks this of every projection of every decode step, which has two rows
        long in = x.size(-1);
        if (!ENABLED || x.numel() / Math.max(1, in) < MIN_ROWS || w.dim() != 2 || in != w.size(1)) return false;
        if (!x.device().is_cpu() || !w.device().is_cpu() || !Ops.isFloat(x) || !Ops.isFloat(w)) return false;
        return w.is_contiguous() && !w.requires_grad();
    }

    /**
     * {@code x @ w.T + bias} for x [..., in], w [out, in] (see {@link #serves}). Where x needs gradients, the product
     * joins the graph through exact zeros made from x ({@code s - s.detach()} for {@code s}, the row sums of an alias
     * of x), and two hooks stand in for the backward of the product: one reads {@code dy} where it arrives at the
     * result and computes {@code dy . w} with oneDNN, the other hands that to x in place of what the zeros pass back.
     * The graph keeps no activation for this, and the forward allocates only the product and a column. Null where
     * oneDNN's primitive for the shape failed its parity check ({@link #agrees}): the caller multiplies with libtorch.
     */
    public static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        long in = x.size(-1);
        long[] shape = x.shape();
        shape[shape.length - 1] = w.size(0);
        Tensor flat = x.reshape(x.numel() / in, in);
        Tensor y = multiply(flat.detach().contiguous(), w, true);
        if (y == null) return null;
        if (bias != null) y.add_(bias);
        if (flat.requires_grad() && GradMode.is_enabled()) {
            Tensor alias = flat.view_as(flat);
            Tensor sums = alias.sum(new long[]{1}, true, new ScalarTypeOptional());
            Tensor zeros = sums.sub(sums.detach());
            y.add_(zeros);
            sums.close();
            zeros.close();
            InputGradient gradient = new InputGradient(w);
            y.register_hook(gradient.capture);
            alias.register_hook(gradient.release);
        }
        return y.view(shape);
    }

    /**
     * Ties not yet released. libtorch holds only the hooks' function pointers, so the Java objects must stay reachable
     * until the backward calls them; a tie lets go of itself then. (A graph dropped without a backward leaves its ties
     * here.)
     */
    private static final Set<InputGradient> PENDING = ConcurrentHashMap.newKeySet();

    static int pendingHooks() {
        return PENDING.size();
    }

    /**
     * The backward of one product: {@code capture} sees {@code dy} arrive at the result (it always runs first: the
     * input's gradient depends on it) and computes {@code dy . w}; {@code release} replaces the gradient the zeros
     * send back to x (the row sums' broadcast, a view) by it.
     */
    private static final class InputGradient {
        private final Tensor w;
        private Tensor dx;
        final TensorTensorHook capture = new TensorTensorHook() {
            @Override
            public TensorBase call(TensorBase dy) {
                Tensor g = new Tensor(dy).contiguous();
                dx = multiply(g, w, false);
                if (dx == null) dx = torch.mm(g, w);
                g.close();
                return dy;
            }
        };
        final TensorTensorHook release = new TensorTensorHook() {
            @Override
            public TensorBase call(TensorBase ignored) {
                PENDING.remove(InputGradient.this);
                // libtorch copied the previous tie's gradient when that hook returned: free it now, not at the end
                // of an enclosing PointerScope
                Tensor previous = RETURNED.get();
                if (previous != null) previous.close();
                RETURNED.set(dx);
                Tensor out = dx;
                dx = null;
                return out;
            }
        };

        InputGradient(Tensor w) {
            this.w = w;
            PENDING.add(this);
        }
    }

    /** Per thread, the last gradient a tie handed to libtorch (see {@link InputGradient#release}). */
    private static final ThreadLocal<Tensor> RETURNED = new ThreadLocal<>();

    /**
     * {@code a @ w.T} (a [m, in]) or {@code a @ w} (a [m, out]) for w [out, in]; a and w contiguous F32. Null where the
     * shape's primitive failed its parity check (then libtorch multiplies).
     */
    static Tensor multiply(Tensor a, Tensor w, boolean transposed) {
        long m = a.size(0);
        long k = a.size(1);
        long n = transposed ? w.size(0) : w.size(1);
        Matmul mm;
        synchronized (MATMULS) {
            mm = MATMULS.computeIfAbsent(new Shape(m, k, n, transposed), Matmul::checked);
        }
        if (mm == UNTRUSTED) return null;
        Tensor c = torch.empty(new long[]{m, n}, a.options(), null);
        mm.run(a, w, c);
        return c;
    }

    /** Stands in the cache for a shape whose primitive gave wrong sums. */
    private static final Matmul UNTRUSTED = new Matmul();

    /**
     * Whether {@code got} is {@code a @ w.T} (or {@code a @ w}) to within F32 rounding, judged in float64 on its first
     * and last rows (a kernel's edge blocks). This libtorch's own oneDNN returned wrong sums on AMD Zen 5 for some
     * weight layouts (README, "Build choices"), so every shape's primitive is checked once before it is used.
     */
    static boolean agrees(Tensor got, Tensor a, Tensor w, boolean transposed) {
        long m = a.size(0);
        long rows = Math.min(m, 8);
        Tensor pick = torch.cat(new TensorVector(torch.arange(new Scalar(rows)), torch.arange(new Scalar(m - rows), new Scalar(m))));
        Tensor a64 = a.index_select(0, pick).to(ScalarType.Double);
        Tensor w64 = w.to(ScalarType.Double);
        Tensor ref = torch.mm(a64, transposed ? w64.t() : w64);
        double err = got.index_select(0, pick).to(ScalarType.Double).sub(ref).abs().max().item_double();
        double scale = ref.abs().max().item_double();
        // a BF16 result is rounded to 8 bits of mantissa; the wrong sums this guards against are off by far more
        double tolerance = got.scalar_type().value == ScalarType.BFloat16.value ? 1e-2 : 1e-4;
        return err <= tolerance * Math.max(scale, Double.MIN_NORMAL);
    }

    /** A primitive's problem: {@code packed} ones read the weight in the layout {@link Packed} gave it. */
    private record Shape(long m, long k, long n, boolean transposed, int type, boolean packed) {
        Shape(long m, long k, long n, boolean transposed) {
            this(m, k, n, transposed, dnnl_f32, false);
        }
    }

    /** A matmul primitive for one shape, with its three memory objects pointed at each call's tensors. */
    private static final class Matmul {
        private final dnnl_primitive_desc pd;
        private final dnnl_primitive primitive;
        private final dnnl_memory src;
        private final dnnl_memory weights;
        private final dnnl_memory dst;
        private final dnnl_exec_arg_t args = new dnnl_exec_arg_t(3);

        private Matmul(dnnl_primitive_desc pd, dnnl_primitive primitive, dnnl_memory src, dnnl_memory weights, dnnl_memory dst) {
            this.pd = pd;
            this.primitive = primitive;
            this.src = src;
            this.weights = weights;
            this.dst = dst;
            args.position(0).arg(DNNL_ARG_SRC).memory(src);
            args.position(1).arg(DNNL_ARG_WEIGHTS).memory(weights);
            args.position(2).arg(DNNL_ARG_DST).memory(dst);
            args.position(0);
            // cached past the PointerScope of the call that made it
            args.retainReference();
        }

        /** Only for {@link #UNTRUSTED}. */
        private Matmul() {
            pd = null;
            primitive = null;
            src = weights = dst = null;
        }

        /** The primitive for {@code s}, or {@link #UNTRUSTED} when it fails its parity check on random operands. */
        static Matmul checked(Shape s) {
            return verified(create(s), s, UnaryOperator.identity());
        }

        /**
         * {@code mm} when its product of random operands of {@code s}'s dtype agrees with float64 ({@link #agrees}),
         * the weight handed to it as {@code operand} makes it (plain, or packed); else destroyed, and
         * {@link #UNTRUSTED}.
         */
        static Matmul verified(Matmul mm, Shape s, UnaryOperator<Tensor> operand) {
            try (PointerScope scope = new PointerScope()) {
                ScalarType type = scalarType(s.type);
                Tensor a = torch.randn(s.m, s.k).to(type);
                Tensor w = (s.transposed ? torch.randn(s.n, s.k) : torch.randn(s.k, s.n)).to(type);
                Tensor c = torch.empty(new long[]{s.m, s.n}, a.options(), null);
                mm.run(a, operand.apply(w), c);
                if (agrees(c, a, w, s.transposed)) return mm;
            }
            mm.destroy();
            return UNTRUSTED;
        }

        static Matmul create(Shape s) {
            dnnl_memory_desc a = desc(s.m, s.k, dnnl_f32, dnnl_ab);
            // w is [out, in] row-major: as the [in, out] operand of a @ w.T that is layout "ba"
            dnnl_memory_desc b = desc(s.k, s.n, dnnl_f32, s.transposed ? dnnl_ba : dnnl_ab);
            dnnl_memory_desc c = desc(s.m, s.n, dnnl_f32, dnnl_ab);
            Matmul mm = create(a, b, c);
            dnnl_memory_desc_destroy(b);
            return mm;
        }

        /** The primitive {@code a @ b = c}; destroys {@code a} and {@code c} (the primitive holds copies), not b. */
        static Matmul create(dnnl_memory_desc a, dnnl_memory_desc b, dnnl_memory_desc c) {
            dnnl_engine e = engine();
            PointerPointer<Pointer> out = new PointerPointer<>(1);
            check(dnnl_matmul_primitive_desc_create(out, e, a, b, null, c, null), "matmul descriptor");
            dnnl_primitive_desc pd = new dnnl_primitive_desc(out.get(0));
            check(dnnl_primitive_create(out, pd), "matmul primitive");
            dnnl_primitive primitive = new dnnl_primitive(out.get(0));
            Matmul mm = new Matmul(pd, primitive, memory(a, e), memory(b, e), memory(c, e));
            dnnl_memory_desc_destroy(a);
            dnnl_memory_desc_destroy(c);
            return mm;
        }

        synchronized void run(Tensor a, Tensor w, Tensor c) {
            check(dnnl_memory_set_data_handle(src, a.data_ptr()), "source");
            check(dnnl_memory_set_data_handle(weights, w.data_ptr()), "weights");
            check(dnnl_memory_set_data_handle(dst, c.data_ptr()), "destination");
            dnnl_stream stream = stream();
            check(dnnl_primitive_execute(primitive, stream, 3, args), "matmul");
            check(dnnl_stream_wait(stream), "matmul");
        }

        void destroy() {
            if (primitive == null) return;
            dnnl_memory_destroy(src);
            dnnl_memory_destroy(weights);
            dnnl_memory_destroy(dst);
            dnnl_primitive_destroy(primitive);
            dnnl_primitive_desc_destroy(pd);
        }

    }

    private static dnnl_memory_desc desc(long rows, long cols, int type, int tag) {
        PointerPointer<Pointer> out = new PointerPointer<>(1);
        check(dnnl_memory_desc_create_with_tag(out, 2, new long[]{rows, cols}, type, tag), "memory descriptor");
        return new dnnl_memory_desc(out.get(0));
    }

    private static dnnl_memory memory(dnnl_memory_desc d, dnnl_engine e) {
        PointerPointer<Pointer> out = new PointerPointer<>(1);
        check(dnnl_memory_create(out, d, e, (Pointer) null), "memory"); // no buffer: each call sets one
        return new dnnl_memory(out.get(0));
    }

    /** Copies {@code from} (laid out as {@code fromDesc}) into {@code to} (as {@code toDesc}) with a reorder primitive. */
    private static void reorder(dnnl_memory_desc fromDesc, Tensor from, dnnl_memory_desc toDesc, Tensor to) {
        dnnl_engine e = engine();
        PointerPointer<Pointer> out = new PointerPointer<>(1);
        check(dnnl_reorder_primitive_desc_create(out, fromDesc, e, toDesc, e, null), "reorder descriptor");
        dnnl_primitive_desc pd = new dnnl_primitive_desc(out.get(0));
        check(dnnl_primitive_create(out, pd), "reorder primitive");
        dnnl_primitive primitive = new dnnl_primitive(out.get(0));
        dnnl_memory src = memory(fromDesc, e), dst = memory(toDesc, e);
        try (PointerScope scope = new PointerScope()) {
            check(dnnl_memory_set_data_handle(src, from.data_ptr()), "reorder source");
            check(dnnl_memory_set_data_handle(dst, to.data_ptr()), "reorder destination");
            dnnl_exec_arg_t args = new dnnl_exec_arg_t(2);
            args.position(0).arg(DNNL_ARG_FROM).memory(src);
            args.position(1).arg(DNNL_ARG_TO).memory(dst);
            args.position(0);
            dnnl_stream stream = stream();
            check(dnnl_primitive_execute(primitive, stream, 2, args), "reorder");
            check(dnnl_stream_wait(stream), "reorder");
        } finally {
            dnnl_memory_destroy(src);
            dnnl_memory_destroy(dst);
            dnnl_primitive_destroy(primitive);
            dnnl_primitive_desc_destroy(pd);
        }
    }

    /** Whether {@link #pack} takes this weight: of a {@link #packs(ScalarType) packed dtype}, on the CPU, 2-D, frozen. */
    public static boolean packs(Tensor w) {
        return packs(w.scalar_type()) && w.dim() == 2 && w.device().is_cpu() && !w.requires_grad();
    }

    /** Whether weights of this dtype can be packed: F32 or BF16, with oneDNN enabled. */
    public static boolean packs(ScalarType dtype) {
        return ENABLED && dnnlType(dtype) != 0;
    }

    /** {@code w} [out, in] reordered once into the layout oneDNN's matmul reads fastest for a decode step's rows. */
    public static Packed pack(Tensor w) {
        Tensor plain = w.contiguous();
        try {
            return new Packed(plain);
        } finally {
            // a view of a mapped weight would keep its mapping from being released
            if (plain != w) plain.close();
        }
    }

    private static int dnnlType(Tensor t) {
        return dnnlType(t.scalar_type());
    }

    /** oneDNN's data type for F32 and BF16; 0 for any other. */
    private static int dnnlType(ScalarType dtype) {
        int type = dtype.value;
        return type == ScalarType.Float.value ? dnnl_f32 : type == ScalarType.BFloat16.value ? dnnl_bf16 : 0;
    }

    private static ScalarType scalarType(int dnnlType) {
        return dnnlType == dnnl_bf16 ? ScalarType.BFloat16 : ScalarType.Float;
    }

    /**
     * A frozen projection weight in oneDNN's own layout, for inference. A plain weight is reordered into that layout
     * inside every matmul call, which for a decode step's two rows costs more than the product (musicgen-small's 192
     * projections of a step in BF16: 48-52 ms plain, 22-28 ms packed); in F32 OpenBLAS's matrix-vector products, one
     * per row, stream the weight once per row (the same 192: 89-128 ms against 34-63 ms packed, one run of a slow
     * hour). The layout is the one oneDNN picks for {@link #PACKED_FOR_ROWS} rows; other row counts (a prompt's prefill)
     * get primitives reading the same layout, shared by every weight of that shape. No gradients: training keeps plain
     * weights.
     */
    public static final class Packed {
        /** Classifier-free guidance's two rows, the decode step this layout is for. */
        private static final long PACKED_FOR_ROWS = 2;

        private final long in, out;
        private final int type;
        private final dnnl_memory_desc layout;
        private final Tensor data;
        private volatile Tensor unpacked;

        private Packed(Tensor w) {
            this.out = w.size(0);
            this.in = w.size(1);
            this.type = dnnlType(w);
            this.layout = LAYOUTS.computeIfAbsent(new Shape(PACKED_FOR_ROWS, in, out, true, type, true), Packed::layoutFor);
            this.data = packed(w, layout);
        }

        /** {@code x @ w.T + bias} for x [..., in] of the weight's dtype; refuses inputs that need gradients. */
        public Tensor linear(Tensor x, Tensor bias) {
            if (x.requires_grad() && GradMode.is_enabled()) {
                throw new IllegalStateException("a projection packed for inference has no gradients; train on plain weights");
            }
            long[] shape = x.shape();
            shape[shape.length - 1] = out;
            Tensor flat = x.reshape(x.numel() / in, in).contiguous();
            long m = flat.size(0);
            if (m == 0) return torch.empty(shape, flat.options(), null);
            Matmul mm;
            synchronized (MATMULS) {
                mm = MATMULS.computeIfAbsent(new Shape(m, in, out, true, type, true), s -> checked(s, layout));
            }
            if (mm == UNTRUSTED) return torch.linear(x, unpacked(), bias == null ? new TensorOptional() : new TensorOptional(bias));
            Tensor y = torch.empty(new long[]{m, out}, flat.options(), null);
            mm.run(flat, data, y);
            if (bias != null) y.add_(bias);
            return y.view(shape);
        }

        /** The weight back in its plain [out, in] layout, for a row count whose packed primitive failed its check. */
        private Tensor unpacked() {
            Tensor plain = unpacked;
            if (plain == null) {
                synchronized (this) {
                    if (unpacked == null) {
                        Tensor w = torch.empty(new long[]{out, in}, new TensorOptions(scalarType(type)), null);
                        dnnl_memory_desc d = desc(in, out, type, dnnl_ba);
                        try {
                            reorder(layout, data, d, w);
                        } finally {
                            dnnl_memory_desc_destroy(d);
                        }
                        w.retainReference(); // made inside a caller's step, kept past its PointerScope
                        unpacked = w;
                    }
                    plain = unpacked;
                }
            }
            return plain;
        }

        /**
         * Per weight shape and dtype, the layout oneDNN's matmul picks for it at {@link #PACKED_FOR_ROWS} rows: one
         * descriptor for every weight of that shape, kept for the process (a handful of shapes per model).
         */
        private static final Map<Shape, dnnl_memory_desc> LAYOUTS = new ConcurrentHashMap<>();

        private static dnnl_memory_desc layoutFor(Shape s) {
            dnnl_memory_desc a = desc(s.m, s.k, s.type, dnnl_ab), any = desc(s.k, s.n, s.type, dnnl_format_tag_any),
                    c = desc(s.m, s.n, s.type, dnnl_ab);
            PointerPointer<Pointer> ptr = new PointerPointer<>(1);
            try {
                check(dnnl_matmul_primitive_desc_create(ptr, engine(), a, any, null, c, null), "matmul descriptor");
                dnnl_primitive_desc pd = new dnnl_primitive_desc(ptr.get(0));
                try {
                    check(dnnl_memory_desc_clone(ptr, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)), "weights layout");
                    return new dnnl_memory_desc(ptr.get(0));
                } finally {
                    dnnl_primitive_desc_destroy(pd);
                }
            } finally {
                dnnl_memory_desc_destroy(a);
                dnnl_memory_desc_destroy(any);
                dnnl_memory_desc_destroy(c);
            }
        }

        /** {@code w} [out, in] reordered into {@code layout}, as bytes. */
        private static Tensor packed(Tensor w, dnnl_memory_desc layout) {
            Tensor bytes = torch.empty(new long[]{dnnl_memory_desc_get_size(layout)}, new TensorOptions(ScalarType.Byte), null);
            dnnl_memory_desc plain = desc(w.size(1), w.size(0), dnnlType(w), dnnl_ba);
            try {
                reorder(plain, w, layout, bytes);
            } finally {
                dnnl_memory_desc_destroy(plain);
            }
            return bytes;
        }

        /** The primitive for {@code s} reading {@code layout}, or {@link #UNTRUSTED} when it fails its parity check. */
        private static Matmul checked(Shape s, dnnl_memory_desc layout) {
            Matmul mm = Matmul.create(desc(s.m, s.k, s.type, dnnl_ab), layout, desc(s.m, s.n, s.type, dnnl_ab));
            return Matmul.verified(mm, s, w -> packed(w, layout));
        }
    }

    private static synchronized dnnl_engine engine() {
        if (engine == null) {
            PointerPointer<Pointer> out = new PointerPointer<>(1);
            check(dnnl_engine_create(out, dnnl_cpu, 0), "CPU engine");
            engine = new dnnl_engine(out.get(0));
        }
        return engine;
    }

    private static dnnl_stream stream() {
        dnnl_stream s = STREAM.get();
        if (s == null) {
            PointerPointer<Pointer> out = new PointerPointer<>(1);
            check(dnnl_stream_create(out, engine(), dnnl_stream_default_flags), "stream");
            s = new dnnl_stream(out.get(0));
            STREAM.set(s);
        }
        return s;
    }

    private static void check(int status, String what) {
        if (status != dnnl_success) throw new IllegalStateException("oneDNN " + what + " failed with status " + status);
    }
}
