package ai.musicgenti.cli;

import ai.musicgenti.pipeline.ModelChoice;
import picocli.CommandLine.Option;

/** The options every command that loads a model shares. */
final class ModelOptions {
    @Option(names = "--model", defaultValue = ModelChoice.MODEL,
            description = "Hugging Face repo id (org/name[@revision]) or a local model folder (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--device", defaultValue = ModelChoice.DEVICE, description = "auto (CUDA when present), cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--dtype", defaultValue = ModelChoice.DTYPE, description = "auto (f32 on CPU, bf16 on CUDA; prepare: f32 on both), f32, f16, bf16 (the fast way to train on a CPU with native BF16), or for generation on the CPU f16w (f32 activations, f16 packed decoder weights: faster, close to f32) (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--threads", defaultValue = "" + ModelChoice.THREADS, description = "CPU cores to use (0 = OMP_NUM_THREADS when set, else all; default: ${DEFAULT-VALUE}).")
    int threads;

    ModelChoice choice() {
        return new ModelChoice(model, device, dtype, threads);
    }
}
