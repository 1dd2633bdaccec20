package ai.musicgenti.core;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.Arrays;

/** Moving data between Java arrays and libtorch tensors, and the scalars ops take. */
public final class Tensors {
    // Retained once more so that a PointerScope open while this class loads cannot free it when it closes.
    private static final Device CPU = new Device("cpu").retainReference();

    private Tensors() {
    }

    /**
     * Keeps a tensor made inside a PointerScope alive after that scope closes (call it inside): the caller then owns
     * it and frees it with {@code close()}, or leaves it to the garbage collector.
     */
    public static Tensor keep(Tensor t) {
        t.retainReference();
        return t;
    }

    public static Scalar scalar(double v) {
        return new Scalar(v);
    }

    public static Tensor longs(long[] data, long... shape) {
        return Tensor.create(data, shape);
    }

    public static Tensor floats(float[] data, long... shape) {
        return Tensor.create(data, shape);
    }

    public static Tensor doubles(double[] data, long... shape) {
        return Tensor.create(data, shape);
    }

    public static float[] toFloats(Tensor t) {
        Tensor c = t.detach().to(CPU, ScalarType.Float).contiguous();
        float[] out = new float[(int) c.numel()];
        try (FloatPointer p = new FloatPointer(c.data_ptr())) {
            p.get(out);
        }
        return out;
    }

    public static double[] toDoubles(Tensor t) {
        Tensor c = t.detach().to(CPU, ScalarType.Double).contiguous();
        double[] out = new double[(int) c.numel()];
        try (DoublePointer p = new DoublePointer(c.data_ptr())) {
            p.get(out);
        }
        return out;
    }

    public static long[] toLongs(Tensor t) {
        Tensor c = t.detach().to(CPU, ScalarType.Long).contiguous();
        long[] out = new long[(int) c.numel()];
        try (LongPointer p = new LongPointer(c.data_ptr())) {
            p.get(out);
        }
        return out;
    }

    public static String shape(Tensor t) {
        return Arrays.toString(t.shape());
    }
}
