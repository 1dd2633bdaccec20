package ai.musicgenti.golden;

import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Tensors;
import com.fasterxml.jackson.databind.JsonNode;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * One case of {@code cases.json}: its folder, its io tensors and its checks. A runner feeds inputs to a port and
 * hands every output to {@link #check}; {@link #assertAllChecked} then proves no listed check was skipped.
 */
public final class GoldenCase {
    private final String name;
    private final String kind;
    private final Path dir;
    private final JsonNode spec;
    private final Map<String, JsonNode> checks = new LinkedHashMap<>();
    private final Set<String> done = new LinkedHashSet<>();
    private Map<String, Tensor> io;

    GoldenCase(Path root, JsonNode spec) {
        this.spec = spec;
        this.name = spec.path("name").asText();
        this.kind = spec.path("kind").asText();
        this.dir = root.resolve(spec.path("dir").asText());
        spec.path("checks").forEach(c -> checks.put(c.path("output").asText(), c));
    }

    public String name() {
        return name;
    }

    public String kind() {
        return kind;
    }

    public Path dir() {
        return dir;
    }

    public JsonNode spec() {
        return spec;
    }

    /** Any tensor of the io file: an input, or an expected output that feeds a later stage. */
    public Tensor io(String tensor) {
        if (io == null) {
            io = Safetensors.readAll(dir.resolve(spec.path("io").asText("io.safetensors")));
            // cached for the whole case: a PointerScope open at first use must not free them when it closes
            io.values().forEach(Tensor::retainReference);
        }
        Tensor t = io.get(tensor);
        if (t == null) fail(name + ": io file has no tensor '" + tensor + "'");
        return t;
    }

    public long ioLong(String tensor) {
        return Tensors.toLongs(io(tensor))[0];
    }

    public double ioDouble(String tensor) {
        return Tensors.toDoubles(io(tensor))[0];
    }

    public boolean hasCheck(String output) {
        return checks.containsKey(output);
    }

    /** Compares an output with the reference under the tolerance cases.json gives for it. */
    public void check(String output, Tensor actual) {
        JsonNode c = checks.get(output);
        if (c == null) fail(name + ": cases.json lists no check '" + output + "'");
        Tensor expected = io(output);
        String what = name + " / " + output;
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape " + Tensors.shape(actual)
                + " differs from the reference " + Tensors.shape(expected));
        if (c.path("exact").asBoolean(false)) {
            long[] e = Tensors.toLongs(expected), a = Tensors.toLongs(actual);
            for (int i = 0; i < e.length; i++) {
                if (e[i] != a[i]) fail(what + ": element " + i + " is " + a[i] + ", reference " + e[i]);
            }
        } else {
            double[] e = Tensors.toDoubles(expected), a = Tensors.toDoubles(actual);
            double atol = c.path("atol").asDouble(0), rtol = c.path("rtol").asDouble(0);
            double relMax = c.path("atol_rel_to_max").asDouble(0);
            double max = Arrays.stream(e).map(Math::abs).max().orElse(0);
            int worst = -1;
            double worstExcess = 0, maxDiff = 0;
            for (int i = 0; i < e.length; i++) {
                double diff = Math.abs(a[i] - e[i]);
                double tol = atol + rtol * Math.abs(e[i]) + relMax * max;
                maxDiff = Math.max(maxDiff, Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff);
                if (!(diff <= tol) && (worst < 0 || diff - tol > worstExcess)) {
                    worst = i;
                    worstExcess = diff - tol;
                }
            }
            System.out.printf("%s: max |diff| %.3g%n", what, maxDiff);
            if (worst >= 0) {
                fail(what + ": element " + worst + " is " + a[worst] + ", reference " + e[worst]
                        + " (max |diff| " + maxDiff + ", tolerance " + c + ")");
            }
        }
        done.add(output);
    }

    /** Records a check the runner compared itself, for references that are not io tensors (tokenizer cases). */
    public void checked(String output) {
        if (!checks.containsKey(output)) fail(name + ": cases.json lists no check '" + output + "'");
        done.add(output);
    }

    public void assertAllChecked() {
        Set<String> missing = new LinkedHashSet<>(checks.keySet());
        missing.removeAll(done);
        assertTrue(missing.isEmpty(), name + ": checks listed in cases.json but not run: " + missing);
        assertEquals(checks.size(), done.size());
    }
}
