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
 *   <li><b>BLAS</b> (the default): projections and attention, in decoding, training, T5 and CLAP. OpenBLAS has every
 *       core, libtorch one thread.</li>
 *   <li><b>convolutions</b> ({@link #convolutions()}, around EnCodec): libtorch's pool has every core, OpenBLAS one
 *       thread. With one libtorch thread the codec ran on one core.</li>
 * </ul>
 *
 * OpenBLAS's thread count is process-wide; libtorch's follows the calling thread (OpenMP semantics).
 */
public final class CpuThreads {
    private static volatile int cores = defaultCores();
    private static final ThreadLocal<Boolean> CONVOLVING = ThreadLocal.withInitial(() -> false);

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
        if (!CONVOLVING.get()) blas();
    }

    public static int cores() {
        return cores;
    }

    /** Hands the cores to libtorch's pool until closed, then back to OpenBLAS. Nests. */
    public static Phase convolutions() {
        boolean outer = CONVOLVING.get();
        if (!outer) {
            CONVOLVING.set(true);
            openblas_nolapack.blas_set_num_threads(1);
            torch.set_num_threads(cores);
        }
        return () -> {
            if (!outer) {
                CONVOLVING.set(false);
                blas();
            }
        };
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
