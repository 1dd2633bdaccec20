package ai.musicgenti.core;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import java.util.Arrays;

/**
 * A view of a {@link WeightStore} under a name prefix, in the style of candle's VarBuilder: models compose
 * Hugging Face names with {@code pp("layers").pp(i)} and never glue strings by hand. Floating tensors come out in
 * the compute dtype on the compute device; every lookup states the shape the config implies and a mismatch is an
 * error naming both shapes.
 */
public final class Weights {
    /** Standard deviation of the random tensors of {@link #random}: small enough to keep activations finite. */
    private static final double RANDOM_STD = 0.02;
    /** See {@link #resident}: decided once per process, from its environment, when first asked. */
    private static volatile Boolean resident;

    private final WeightStore store;
    private final String prefix;
    private final Compute compute;

    public Weights(WeightStore store, Compute compute) {
        this(store, "", compute);
    }

    private Weights(WeightStore store, String prefix, Compute compute) {
        this.store = store;
        this.prefix = prefix;
        this.compute = compute;
    }

    /**
     * Weights that hold every name with whatever shape is asked, drawn at random: a model of a real checkpoint's
     * shape without downloading it (benchmarks). Seed libtorch first for repeatable values.
     */
    public static Weights random(Compute compute) {
        return new Weights(null, "", compute);
    }

    private boolean isRandom() {
        return store == null;
    }

    /** The same tensors, handed out on another device or in another dtype. */
    public Weights on(Compute other) {
        return new Weights(store, prefix, other);
    }

    public Weights pp(String name) {
        return new Weights(store, name(name), compute);
    }

    public Weights pp(int index) {
        return pp(Integer.toString(index));
    }

    public Compute compute() {
        return compute;
    }

    /** The full Hugging Face name of a tensor under this prefix. */
    public String name(String leaf) {
        return prefix.isEmpty() ? leaf : prefix + "." + leaf;
    }

    public boolean contains(String leaf) {
        return isRandom() || store.contains(name(leaf));
    }

    /** A floating tensor of exactly this shape, in the compute dtype and device. */
    public Tensor get(String leaf, long... shape) {
        if (isRandom()) return torch.randn(shape).mul(Tensors.scalar(RANDOM_STD)).to(compute.device(), compute.dtype());
        String full = name(leaf);
        checkShape(full, shape);
        // weights are never written: mapped, the F32 CPU case keeps the mapping itself, any other copies once and
        // lets go; resident, the read is the only copy
        try (Tensor stored = resident() ? store.tensor(full) : store.mapped(full)) {
            return stored.to(compute.device(), compute.dtype());
        }
    }

    /**
     * Whether weights are read into process memory rather than memory-mapped from their file. Mapped weights cost no
     * copy and leave memory when freed, but their pages are the page cache's 4 KiB ones (or whatever folios the file's
     * first reader left), and reading them misses the TLB: musicgen-small's decoder forward and backward over 251
     * positions took 2,088 ms with mapped weights against 1,700 ms with the same weights read into huge pages, in one
     * process, alternating (README, "Build choices"). In memory of 4 KiB pages the gain is small and each page faults
     * once, so weights are read in only where glibc hands out huge pages: {@code glibc.malloc.hugetlb=1} or {@code 2}
     * in {@code GLIBC_TUNABLES} (the launcher sets it for the commands that gain) and THP not {@code never}. The system
     * property {@code musicgen.weights}, {@code resident} or {@code mapped}, overrides that.
     *
     * @param property the value of {@code musicgen.weights}, or null
     * @param tunables {@code GLIBC_TUNABLES}, or null
     * @param thp      the kernel's THP mode ({@code always}, {@code madvise}, {@code never}), or null where unknown
     */
    static boolean resident(String property, String tunables, String thp) {
        if (property != null && !property.isBlank()) {
            return switch (property.strip()) {
                case "resident" -> true;
                case "mapped" -> false;
                default -> throw new BadInputException("-Dmusicgen.weights=" + property + ": use resident or mapped");
            };
        }
        if (tunables == null || "never".equals(thp)) return false;
        boolean huge = false;
        for (String t : tunables.split(":")) {
            if (t.startsWith("glibc.malloc.hugetlb=")) huge = !t.endsWith("=0");
        }
        return huge;
    }

    /**
     * Whether this process reads weights into memory (see {@link #resident}); {@code bench} reports it. A bad
     * {@code musicgen.weights} is a {@link BadInputException} here, where a command reports it, not at class loading.
     */
    public static boolean resident() {
        Boolean r = resident;
        if (r == null) {
            r = resident(System.getProperty("musicgen.weights"), System.getenv("GLIBC_TUNABLES"), CpuFeatures.transparentHugePages());
            resident = r;
        }
        return r;
    }

    /**
     * A tensor that must be positive, such as a BatchNorm running variance: the stored values, as {@link #get};
     * random weights draw {@code exp(N(0, std^2))}, positive and near one, where {@link #get} could draw negatives.
     */
    public Tensor getPositive(String leaf, long... shape) {
        if (isRandom()) return torch.randn(shape).mul(Tensors.scalar(RANDOM_STD)).exp().to(compute.device(), compute.dtype());
        return get(leaf, shape);
    }

    /** The first of several spellings that the checkpoint holds (tied tensors may be stored under one name only). */
    public Tensor getFirst(long[] shape, String... leaves) {
        for (String leaf : leaves) {
            if (contains(leaf)) return get(leaf, shape);
        }
        throw missing(name(leaves[0]), shape);
    }

    /**
     * A weight-normalised convolution weight: {@code g * v / ||v||}, the norm over every dim but 0. Accepts the
     * older {@code weight_g/weight_v} spelling, the newer {@code parametrizations.weight.original0/1} one, and a
     * plain {@code weight} that was already folded.
     */
    public Tensor weightNorm(long... shape) {
        long[] gShape = new long[shape.length];
        Arrays.fill(gShape, 1);
        gShape[0] = shape[0];
        if (!contains("weight_g") && !contains("parametrizations.weight.original0")) {
            if (contains("weight")) return get("weight", shape);
            throw missing(name("weight_g"), gShape);
        }
        // the stored g and v and the temporaries are freed here, not when the garbage collector finds them
        try (PointerScope scope = new PointerScope()) {
            Tensor g, v;
            if (contains("weight_g")) {
                g = get("weight_g", gShape);
                v = get("weight_v", shape);
            } else {
                g = get("parametrizations.weight.original0", gShape);
                v = get("parametrizations.weight.original1", shape);
            }
            long[] dims = new long[shape.length - 1];
            for (int i = 0; i < dims.length; i++) dims[i] = i + 1;
            Tensor norm = torch.sqrt(v.pow(Tensors.scalar(2.0)).sum(dims, true, new org.bytedeco.pytorch.ScalarTypeOptional()));
            return Tensors.keep(v.mul(g.div(norm)));
        }
    }

    private void checkShape(String full, long[] shape) {
        if (!store.contains(full)) throw missing(full, shape);
        long[] actual = store.entry(full).shape();
        if (!Arrays.equals(actual, shape)) {
            throw new BadInputException(store.source(full) + ": tensor '" + full + "' has shape " + Arrays.toString(actual)
                    + " but config.json implies " + Arrays.toString(shape)
                    + "; the weights do not belong to this config, use the config.json shipped with them");
        }
    }

    private BadInputException missing(String full, long[] shape) {
        return new BadInputException(store.source(full) + ": missing tensor '" + full + "' (expected shape "
                + Arrays.toString(shape) + "); the weights file does not match config.json or is incomplete");
    }
}
