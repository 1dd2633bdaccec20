package ai.musicgenti.golden;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The golden folder: {@code $MUSICGEN_TI_GOLDEN}, else {@code ../shared/golden} beside the project. */
public final class Golden {
    private Golden() {
    }

    public static Path root() {
        String env = System.getenv("MUSICGEN_TI_GOLDEN");
        String def = System.getProperty("musicgen.golden.default", "../shared/golden");
        return Path.of(env != null && !env.isBlank() ? env : def).toAbsolutePath().normalize();
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
