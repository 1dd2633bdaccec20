package ai.musicgenti.core;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.Locale;

/**
 * Where tensors live and in which floating dtype the model computes. Norms and softmax are computed in F32 whatever
 * the dtype (see the model code). With {@code halfWeights} (CPU only, {@code --dtype f16w}) the decoder's projections
 * keep their weights as F16 packed for fbgemm and multiply F32 activations: half the bytes to stream per decoding
 * step, with F32 sums; inference only.
 */
public record Compute(Device device, ScalarType dtype, boolean halfWeights, boolean packedWeights) {

    private static final boolean PACK_WEIGHTS = Boolean.parseBoolean(System.getProperty("musicgen.cpu.packWeights", "true"));

    public Compute(Device device, ScalarType dtype) {
        this(device, dtype, false, false);
    }

    public Compute(Device device, ScalarType dtype, boolean halfWeights) {
        this(device, dtype, halfWeights, false);
    }

    /**
     * This compute for a model that only generates: on the CPU in F32 or BF16 the decoder's projection weights are
     * then packed once at load into oneDNN's layout for its matmul ({@link OneDnn.Packed}), which streams each weight
     * once per decode step instead of once per row, and has no gradients. Elsewhere, or with the system property
     * {@code musicgen.cpu.packWeights=false}, the compute as it is.
     */
    public Compute forInference() {
        boolean packable = !isCuda() && !halfWeights && PACK_WEIGHTS && OneDnn.packs(dtype);
        return packable ? new Compute(device, dtype, false, true) : this;
    }

    public static Compute cpu() {
        return new Compute(new Device("cpu"), ScalarType.Float);
    }

    /**
     * @param device {@code auto} (CUDA when present, else CPU), {@code cpu}, {@code cuda} or {@code cuda:N}
     * @param dtype  {@code auto} (F32 on CPU, BF16 on CUDA), {@code f32}, {@code f16}, {@code bf16}, or on the CPU
     *               {@code f16w} (F32 activations, F16 packed projection weights)
     */
    public static Compute choose(String device, String dtype) {
        Device dev = device(device);
        boolean onCuda = dev.is_cuda();
        if (dtype.equalsIgnoreCase("f16w")) {
            if (onCuda) throw new BadInputException("--dtype f16w is a CPU path (fbgemm); on CUDA use --dtype f16 or bf16");
            return new Compute(dev, ScalarType.Float, true);
        }
        ScalarType type = switch (dtype.toLowerCase(Locale.ROOT)) {
            case "auto" -> onCuda ? ScalarType.BFloat16 : ScalarType.Float;
            case "f32", "float32", "fp32" -> ScalarType.Float;
            case "f16", "float16", "fp16" -> ScalarType.Half;
            case "bf16", "bfloat16" -> ScalarType.BFloat16;
            default -> throw new BadInputException("--dtype " + dtype + ": unknown dtype; use auto, f32, f16, bf16 or (CPU) f16w");
        };
        return new Compute(dev, type);
    }

    /**
     * The device alone, for front ends that report it apart from the dtype; {@link #choose} checks it the same way.
     *
     * @param device {@code auto} (CUDA when present, else CPU), {@code cpu}, {@code cuda} or {@code cuda:N}
     */
    public static Device device(String device) {
        String d = device.toLowerCase(Locale.ROOT);
        boolean cudaAvailable = torch.cuda_is_available();
        if (d.equals("auto")) return new Device(cudaAvailable ? "cuda" : "cpu");
        if (d.equals("cpu")) return new Device("cpu");
        if (!d.matches("cuda(:[0-9]{1,2})?")) {
            throw new BadInputException("--device " + device + ": unknown device; use auto, cpu, cuda or cuda:N");
        }
        if (!cudaAvailable) {
            throw new BadInputException("--device " + device + ": no CUDA device is visible to libtorch; use --device cpu,"
                    + " or run a ./mvnw -Pcuda build on a machine with an NVIDIA GPU and driver");
        }
        return new Device(d);
    }

    public boolean isCuda() {
        return device.is_cuda();
    }

    /**
     * BF16 or F16 on the CPU: there libtorch multiplies in oneDNN on its own pool ({@link CpuThreads#forCompute}), and
     * its flash attention multiplies 16-bit tiles in a plain loop (so the decoder attends in F32).
     */
    public boolean sixteenBitOnCpu() {
        return !isCuda() && dtype != ScalarType.Float;
    }

    public TensorOptions floats() {
        return new TensorOptions(dtype).device(new org.bytedeco.pytorch.DeviceOptional(device));
    }

    public TensorOptions longs() {
        return new TensorOptions(ScalarType.Long).device(new org.bytedeco.pytorch.DeviceOptional(device));
    }

    /** Training needs gradients through the projections; f16w's packed F16 weights have none. */
    public void requireGradients() {
        if (halfWeights) throw noGradients();
        if (packedWeights) throw new IllegalStateException("weights packed for inference have no gradients: train on Compute.choose's compute");
    }

    /** The one message for any attempt to train through f16w's packed weights. */
    public static BadInputException noGradients() {
        return new BadInputException("--dtype f16w: its packed F16 weights have no gradients, so it serves generation"
                + " only; train with --dtype f32 (or bf16)");
    }

    /** The dtype as {@code --dtype} spells it. */
    public String dtypeName() {
        return halfWeights ? "f16w" : Dtype.of(dtype).name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return device.str().getString() + "/" + dtypeName();
    }
}
