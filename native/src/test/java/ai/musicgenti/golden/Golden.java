package ai.musicgenti.golden;

import ai.musicgenti.core.Compute;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The golden folder: {@code $MUSICGEN_TI_GOLDEN}, else {@code ../shared/golden} beside the project. */
public final class Golden {
    private Golden() {
    }

    public static Path root() {
        String env = System.getenv("MUSICGEN_TI_GOLDEN");
        String def = System.getProperty("musicgen.golden.default", "../shared/golden");
        return Path.of(env != null && !env.isBlank() ? env : def).toAbsolutePath().normalize();
    }

    /**
     * Where the golden cases run: {@code -Dmusicgen.test.device} / {@code -Dmusicgen.test.dtype} (else the variables
     * {@code MUSICGEN_TI_TEST_DEVICE} / {@code MUSICGEN_TI_TEST_DTYPE}), as {@code --device} / {@code --dtype} take
     * them; cpu / f32 by default.
     */
    public static Compute compute() {
        Compute compute = Compute.choose(setting("device", "cpu"), setting("dtype", "f32"));
        if (compute.isCuda() && !isHalf(compute)) {
            // cuDNN convolutions default to TF32 (10-bit mantissa): F32 must mean F32 for the stated tolerances
            torch.globalContext().setAllowTF32CuDNN(false);
            torch.globalContext().setAllowTF32CuBLAS(false);
        }
        return compute;
    }

    /** The setting the reference was made in, where the stated tolerances and exact greedy-token runs hold. */
    public static boolean isReference(Compute compute) {
        return !compute.isCuda() && !isHalf(compute);
    }

    public static boolean isHalf(Compute compute) {
        return compute.dtype().value != ScalarType.Float.value;
    }

    private static String setting(String name, String fallback) {
        String value = System.getProperty("musicgen.test." + name);
        if (value == null || value.isBlank()) value = System.getenv("MUSICGEN_TI_TEST_" + name.toUpperCase(Locale.ROOT));
        return value == null || value.isBlank() ? fallback : value;
    }

    public static List<GoldenCase> cases() throws IOException {
        Path root = root();
        Path file = root.resolve("cases.json");
        if (!Files.exists(file)) {
            throw new IllegalStateException(file + " not found: set MUSICGEN_TI_GOLDEN to the golden folder");
        }
        JsonNode json = new ObjectMapper().readTree(file.toFile());
        List<GoldenCase> out = new ArrayList<>();
        json.path("cases").forEach(c -> out.add(new GoldenCase(root, c)));
        return out;
    }

    /** The first case of a kind, for tests that need a tiny model rather than a comparison. */
    public static GoldenCase firstOfKind(String kind) throws IOException {
        return cases().stream().filter(c -> c.kind().equals(kind)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no golden case of kind " + kind));
    }
}
