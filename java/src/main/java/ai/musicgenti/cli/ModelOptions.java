package ai.musicgenti.cli;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.hub.HubClient;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options every command that loads a model shares. */
final class ModelOptions {
    @Option(names = "--model", defaultValue = "facebook/musicgen-small",
            description = "Hugging Face repo id (org/name[@revision]) or a local model folder (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--device", defaultValue = "auto", description = "auto (CUDA when present), cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--dtype", defaultValue = "auto", description = "auto (f32 on CPU, bf16 on CUDA; prepare: f32 on both), f32, f16 or bf16 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--threads", defaultValue = "0", description = "CPU cores to use (0 = OMP_NUM_THREADS when set, else all; default: ${DEFAULT-VALUE}).")
    int threads;

    /** The local folder of the model, downloading it into the Hugging Face cache when needed. */
    Path folder() {
        return HubClient.fromEnvironment().resolveModel(model, new ProgressBar());
    }

    /** How the model is recorded in the files a command writes: see {@link HubClient#canonicalId}. */
    String id() {
        return HubClient.canonicalId(model);
    }

    Compute compute() {
        CpuThreads.configure(threads);
        return Compute.choose(device, dtype);
    }
}
