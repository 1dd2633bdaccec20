package ai.musicgenti.core;

import org.bytedeco.openblas.presets.openblas_nolapack;
import org.bytedeco.pytorch.global.torch;

/**
 * Who owns the CPU cores. libtorch runs its own kernels (oneDNN convolutions, the LSTM, softmax, attention) on an
 * OpenMP pool, and the OpenBLAS it links has a second, pthread pool for matrix products; two pools spinning on the
 * same cores starve each other (musicgen-small training step on 2 cores: 3.7 s with libtorch on 1 thread and OpenBLAS
 * on 2, 8.6 s with both on 2, 30 s when OpenBLAS threads sleep at once). So one pool owns the cores at a time:
 *
 * <ul>
 *   <li><b>BLAS</b> (the default): a decode step's matrix-vector products, and what runs outside the phases below.
 *       OpenBLAS has every core, libtorch one thread.</li>
 *   <li><b>libtorch</b> ({@link #libtorch()}): libtorch's pool has every core, OpenBLAS one thread. Around EnCodec
 *       (with one libtorch thread the codec ran on one core), and around work whose products run in oneDNN, which uses
 *       libtorch's OpenMP pool: models computing in 16 bits on the CPU ({@link #forCompute}; a BF16 training step of
 *       musicgen-small took 1.45-1.63 s there against 2.46-2.61 s with oneDNN on one thread) and F32 work over whole
 *       sequences, whose projections go through {@link OneDnn} ({@link #forSequences}).</li>
 * </ul>
 *
 * OpenBLAS's thread count is process-wide; libtorch's follows the calling thread (OpenMP semantics).
 */
public final class CpuThreads {
    private static volatile int cores = defaultCores();
    private static final ThreadLocal<Boolean> LIBTORCH = ThreadLocal.withInitial(() -> false);

    static {
        // a library user who never calls configure still gets one pool owning the cores
        blas();
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
        if (!LIBTORCH.get()) blas();
    }

    public static int cores() {
        return cores;
    }

    /** Hands the cores to libtorch's pool until closed, then back to OpenBLAS. Nests. */
    public static Phase libtorch() {
        boolean outer = LIBTORCH.get();
        if (!outer) {
            LIBTORCH.set(true);
            openblas_nolapack.blas_set_num_threads(1);
            torch.set_num_threads(cores);
        }
        return () -> {
            if (!outer) {
                LIBTORCH.set(false);
                blas();
            }
        };
    }

    /**
     * The phase a model computing in {@code compute} wants around its work, backward included: {@link #libtorch()}
     * for 16-bit dtypes on the CPU and for weights packed for oneDNN, where oneDNN multiplies; otherwise the default,
     * where OpenBLAS multiplies F32 (also under {@code f16w}, whose fbgemm products run on the calling thread).
     */
    public static Phase forCompute(Compute compute) {
        return compute.sixteenBitOnCpu() || compute.packedWeights() ? libtorch() : () -> { };
    }

    /**
     * The phase for a model's work over whole sequences (every position at once, and its backward, as in training):
     * libtorch's pool wherever products of many rows run in oneDNN, which is on the CPU in 16 bits and in F32 through
     * {@link OneDnn}. A decode step's few rows keep {@link #forCompute}.
     */
    public static Phase forSequences(Compute compute) {
        // F32 on the CPU (16 bits gets libtorch's pool from forCompute as well); f16w's fbgemm products excepted
        boolean oneDnnF32 = OneDnn.enabled() && !compute.isCuda() && !compute.halfWeights();
        return oneDnnF32 ? libtorch() : forCompute(compute);
    }

    /** A phase ended by try-with-resources; closing never fails. */
    public interface Phase extends AutoCloseable {
        @Override
        void close();
    }

    private static void blas() {
        torch.set_num_threads(1);
        openblas_nolapack.blas_set_num_threads(cores);
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
