package ai.musicgenti.core;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * EnCodec codes of one clip on disk: a safetensors file with one I16 tensor {@code codes [K, frames]}. Codebook
 * indices are below 2^15 (MusicGen's codebooks have 2,048 entries), so I16 stores them in a quarter of I64's space.
 */
public final class CodesFile {
    public static final String TENSOR = "codes";

    private CodesFile() {
    }

    /** Writes row-major codes {@code [codebooks, frames]} atomically; metadata may be empty. */
    public static void write(Path file, long[] codes, int codebooks, int frames, Map<String, String> metadata) throws IOException {
        if ((long) codebooks * frames != codes.length) {
            throw new IllegalArgumentException(codes.length + " codes do not fill [" + codebooks + ", " + frames + "]");
        }
        short[] compact = new short[codes.length];
        for (int i = 0; i < codes.length; i++) {
            if (codes[i] < 0 || codes[i] > Short.MAX_VALUE) throw new IllegalArgumentException("code " + codes[i] + " does not fit I16");
            compact[i] = (short) codes[i];
        }
        Safetensors.write(file, Map.of(TENSOR, Tensor.create(compact, codebooks, frames)), metadata);
    }

    /** The codes as a CPU Long tensor {@code [K, frames]}, the dtype embedding lookups take. */
    public static Tensor read(Path file) {
        try (Safetensors st = Safetensors.open(file)) {
            Safetensors.Entry e = st.entry(TENSOR);
            if (e.shape().length != 2 || e.dtype().isFloating()) {
                throw new BadInputException(file + ": '" + TENSOR + "' is not an integer [codebooks, frames] tensor; prepare the dataset again");
            }
            return st.tensor(TENSOR).to(ScalarType.Long);
        }
    }
}
