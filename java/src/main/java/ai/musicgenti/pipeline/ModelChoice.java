package ai.musicgenti.pipeline;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.hub.HubClient;
import ai.musicgenti.hub.ProgressListener;

import java.nio.file.Path;

/**
 * The model a job loads and where it runs; the constants are the defaults of every front end.
 *
 * @param model   a Hugging Face repo id (org/name[@revision]) or a local model folder
 * @param device  auto (CUDA when present), cpu, cuda or cuda:N
 * @param dtype   auto, f32, f16, bf16 or f16w (CPU generation)
 * @param threads CPU cores to use; 0 = OMP_NUM_THREADS when set, else all
 */
public record ModelChoice(String model, String device, String dtype, int threads) {
    public static final String MODEL = "facebook/musicgen-small";
    public static final String DEVICE = "auto";
    public static final String DTYPE = "auto";
    public static final int THREADS = 0;

    public static ModelChoice defaults() {
        return new ModelChoice(MODEL, DEVICE, DTYPE, THREADS);
    }

    public ModelChoice withModel(String model) {
        return new ModelChoice(model, device, dtype, threads);
    }

    public ModelChoice withDtype(String dtype) {
        return new ModelChoice(model, device, dtype, threads);
    }

    /** The local folder of the model, downloading it into the Hugging Face cache when needed. */
    public Path folder(ProgressListener downloads) {
        return HubClient.fromEnvironment().resolveModel(model, downloads);
    }

    /** How the model is recorded in the files a job writes: see {@link HubClient#canonicalId}. */
    public String id() {
        return HubClient.canonicalId(model);
    }

    public Compute compute() {
        CpuThreads.configure(threads);
        return Compute.choose(device, dtype);
    }
}
