package ai.musicgenti.core;

import org.bytedeco.openblas.presets.openblas_nolapack;
import org.bytedeco.pytorch.global.torch;

/**
 * Who owns the CPU cores. libtorch runs its own work (oneDNN matrix products and convolutions, softmax, attention)
 * on an OpenMP pool, and the OpenBLAS it links has a second, pthread pool; two pools spinning on the same cores
 * starve each other (musicgen-small training step on 2 cores: 3.7 s with one pool each at 1 and 2 threads, 8.6 s
 * with both at 2). So one pool owns the cores at a time, chosen by the shape of the work:
 *
 * <ul>
 *   <li><b>bulk</b> (the default: training, prompts, EnCodec, CLAP) — many rows per projection, convolutions.
 *       libtorch's pool has every core and projections go through oneDNN ({@link Ops#linear}); OpenBLAS runs on
 *       one thread.</li>
 *   <li><b>decode</b> ({@link #decoding()}, around a generation loop) — a handful of rows per projection, bound by
 *       streaming the weights from memory. OpenBLAS's matrix-vector products get every core and libtorch one thread,
 *       so no OpenMP worker spins between the small ops of a step.</li>
 * </ul>
 *
 * OpenBLAS's thread count is process-wide; libtorch's follows the calling thread (OpenMP semantics), as does the
 * phase that {@link Ops#linear} reads.
 */
public final class CpuThreads {
    private static volatile int cores = defaultCores();
    private static final ThreadLocal<Boolean> DECODING = ThreadLocal.withInitial(() -> false);

    static {
        // a library user who never calls configure still gets one pool owning the cores
        bulk();
    }

    private CpuThreads() {
    }

    /**
     * @param threads the cores to use; 0 = {@code OMP_NUM_THREADS} when set (as PyTorch reads it), else every core
     *                the JVM may use
     */
    public static void configure(int threads) {
        if (threads < 0) throw new BadInputException("--threads " + threads + ": use 0 (all cores) or a positive count");
        cores = threads > 0 ? threads : defaultCores();
        bulk();
    }

    public static int cores() {
        return cores;
    }

    /** True inside {@link #decoding()} on this thread: projections of a few rows stream their weights through BLAS. */
    public static boolean isDecoding() {
        return DECODING.get();
    }

    /** Hands the cores to OpenBLAS until closed, then back to libtorch. Nests. */
    public static Phase decoding() {
        boolean outer = DECODING.get();
        if (!outer) {
            DECODING.set(true);
            torch.set_num_threads(1);
            openblas_nolapack.blas_set_num_threads(cores);
        }
        return () -> {
            if (!outer) {
                DECODING.set(false);
                bulk();
            }
        };
    }

    /** A phase ended by try-with-resources; closing never fails. */
    public interface Phase extends AutoCloseable {
        @Override
        void close();
    }

    private static void bulk() {
        torch.set_num_threads(cores);
        openblas_nolapack.blas_set_num_threads(1);
    }

    private static int defaultCores() {
        String omp = System.getenv("OMP_NUM_THREADS");
        if (omp != null) {
            try {
                int n = Integer.parseInt(omp.trim());
                if (n > 0) return n;
            } catch (NumberFormatException ignored) {
                // not a count: fall back to the cores the JVM sees
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }
}
