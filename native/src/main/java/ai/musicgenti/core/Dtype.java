package ai.musicgenti.core;

import org.bytedeco.pytorch.global.torch.ScalarType;

/** The element types a safetensors file may hold, with their libtorch equivalents. */
public enum Dtype {
    F64(ScalarType.Double, 8),
    F32(ScalarType.Float, 4),
    F16(ScalarType.Half, 2),
    BF16(ScalarType.BFloat16, 2),
    I64(ScalarType.Long, 8),
    I32(ScalarType.Int, 4),
    I16(ScalarType.Short, 2),
    I8(ScalarType.Char, 1),
    U8(ScalarType.Byte, 1),
    BOOL(ScalarType.Bool, 1);

    public final ScalarType scalarType;
    public final int bytes;

    Dtype(ScalarType scalarType, int bytes) {
        this.scalarType = scalarType;
        this.bytes = bytes;
    }

    public boolean isFloating() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** JavaCPP hands out fresh enum instances from native calls, so types compare by value, never by identity. */
    public static Dtype of(ScalarType type) {
        for (Dtype d : values()) {
            if (d.scalarType.value == type.value) return d;
        }
        throw new IllegalArgumentException("no safetensors dtype for " + type);
    }

    /** Parses a safetensors header dtype; null when unknown so the caller can name the file in its error. */
    public static Dtype parse(String name) {
        for (Dtype d : values()) {
            if (d.name().equals(name)) return d;
        }
        return null;
    }
}
