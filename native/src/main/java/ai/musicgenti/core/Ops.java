package ai.musicgenti.core;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Tensor operations whose fastest form depends on the shape or the device. */
public final class Ops {
    /**
     * Up to this many rows, a CPU projection runs as one matrix-vector product per row. OpenBLAS packs the whole
     * weight matrix on every GEMM call, which for a handful of rows (a decode step: a conditional and an
     * unconditional row) costs more than streaming the weights once per row; from about 8 rows on GEMM wins. The
     * crossover depends on the CPU, so the system property {@code musicgen.cpu.gemvMaxRows} can move it (0 = always
     * GEMM); {@code musicgen-ti bench} shows the effect (README).
     */
    private static final int CPU_GEMV_MAX_ROWS = Integer.getInteger("musicgen.cpu.gemvMaxRows", 4);

    private Ops() {
    }

    /** {@code x @ w.T} for x [..., in] and w [out, in], as {@code torch.linear} without bias. */
    public static Tensor linear(Tensor x, Tensor w) {
        return linear(x, w, null);
    }

    /**
     * {@code x @ w.T + bias} for x [..., in], w [out, in] and bias [out] or null, as {@code torch.linear}. On the CPU
     * in F32 many rows go through oneDNN's matmul ({@link OneDnn}, gradients included), a few rows stream the weights
     * through BLAS matrix-vector products.
     */
    public static Tensor linear(Tensor x, Tensor w, Tensor bias) {
        long in = x.size(-1);
        long rows = x.numel() / Math.max(1, in);
        Tensor viaOneDnn = OneDnn.serves(x, w) ? OneDnn.linear(x, w, bias) : null;
        if (viaOneDnn != null) return viaOneDnn;
        if (rows == 0 || rows > CPU_GEMV_MAX_ROWS || !x.device().is_cpu() || !isFloat(x) || !isFloat(w)) {
            return torch.linear(x, w, bias == null ? new TensorOptional() : new TensorOptional(bias));
        }
        long[] shape = x.shape();
        shape[shape.length - 1] = w.size(0);
        Tensor flat = x.reshape(rows, in);
        TensorVector out = new TensorVector();
        for (int r = 0; r < rows; r++) out.push_back(torch.mv(w, flat.select(0, r)));
        Tensor y = torch.stack(out).view(shape);
        return bias == null ? y : y.add(bias);
    }

    static boolean isFloat(Tensor t) {
        return t.scalar_type().value == ScalarType.Float.value;
    }
}
