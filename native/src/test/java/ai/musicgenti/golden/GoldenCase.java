package ai.musicgenti.golden;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Tensors;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
 * <p>
 * A runner that builds models asks for {@link #compute()} (see {@link Golden#compute()}). Off CPU/F32 greedy token
 * runs diverge after a while (PORTING.md), so runners compare the first step's logits instead and account for the
 * token checks with {@link #replaced}; in BF16/F16 every float check of the case uses {@link #HALF_TOLERANCE}.
 */
public final class GoldenCase {
    /**
     * The float tolerance of a case whose models ran in BF16 or F16 (16-bit weights and activations; norms and softmax
     * in F32): |actual - expected| <= atol_rel_to_max * max|expected| + rtol * |expected|. Calibrated with the
     * whole golden suite in BF16 on the CPU (README, "Proof: golden tests"); F16, with 3 more mantissa bits, meets it
     * with room to spare.
     */
    static final JsonNode HALF_TOLERANCE = new ObjectMapper().createObjectNode()
            .put("atol_rel_to_max", 0.03).put("rtol", 0.03);
    /**
     * The share of exact nearest-codebook decisions (RVQ codes) that must agree in BF16/F16: their margins are sized
     * for F32 noise, and a latent off by 16-bit rounding crosses the closest boundaries.
     */
    static final double HALF_AGREEMENT = 0.75;

    private final String name;
    private final String kind;
    private final Path dir;
    private final JsonNode spec;
    private final Map<String, JsonNode> checks = new LinkedHashMap<>();
    private final Set<String> done = new LinkedHashSet<>();
    private Map<String, Tensor> io;
    private Compute compute;

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

    /** The device and dtype this case's models run in; from here on its float checks use that dtype's tolerance. */
    public Compute compute() {
        if (compute == null) compute = Golden.compute();
        return compute;
    }

    /** Whether greedy token runs and the stated tolerances hold: nothing ran yet, or it ran on CPU in F32. */
    public boolean atReference() {
        return compute == null || Golden.isReference(compute);
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

    /** Compares an output with the reference under the tolerance cases.json gives for it (or the 16-bit one). */
    public void check(String output, Tensor actual) {
        compare(output, io(output), actual);
    }

    /**
     * Compares the first {@code actual.size(0)} entries of the reference along dim 0 (the first steps of a per-step
     * output) and counts the check as made: what is compared off CPU/F32 instead of the whole run.
     */
    public void checkLeading(String output, Tensor actual) {
        compare(output, io(output).narrow(0, 0, actual.size(0)), actual);
    }

    private void compare(String output, Tensor expected, Tensor actual) {
        JsonNode c = checks.get(output);
        if (c == null) fail(name + ": cases.json lists no check '" + output + "'");
        String what = name + " / " + output;
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape " + Tensors.shape(actual)
                + " differs from the reference " + Tensors.shape(expected));
        if (c.path("exact").asBoolean(false)) {
            long[] e = Tensors.toLongs(expected), a = Tensors.toLongs(actual);
            for (int i = 0; i < e.length; i++) {
                if (e[i] != a[i]) fail(what + ": element " + i + " is " + a[i] + ", reference " + e[i]);
            }
        } else {
            if (compute != null && Golden.isHalf(compute)) c = HALF_TOLERANCE;
            double[] e = Tensors.toDoubles(expected), a = Tensors.toDoubles(actual);
            double atol = c.path("atol").asDouble(0), rtol = c.path("rtol").asDouble(0);
            double relMax = c.path("atol_rel_to_max").asDouble(0);
            double max = Arrays.stream(e).map(Math::abs).max().orElse(0);
            int worst = -1;
            double worstExcess = 0, maxDiff = 0, worstRatio = 0;
            for (int i = 0; i < e.length; i++) {
                double diff = Math.abs(a[i] - e[i]);
                double tol = atol + rtol * Math.abs(e[i]) + relMax * max;
                maxDiff = Math.max(maxDiff, Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff);
                worstRatio = Math.max(worstRatio, Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff / tol);
                if (!(diff <= tol) && (worst < 0 || diff - tol > worstExcess)) {
                    worst = i;
                    worstExcess = diff - tol;
                }
            }
            System.out.printf("%s: max |diff| %.3g (%.3g of max|ref|), %.2f of the tolerance%n", what, maxDiff,
                    maxDiff / max, worstRatio);
            if (worst >= 0) {
                fail(what + ": element " + worst + " is " + a[worst] + ", reference " + e[worst]
                        + " (max |diff| " + maxDiff + ", tolerance " + c + " on " + compute() + ")");
            }
        }
        done.add(output);
    }

    /**
     * An exact check of nearest-codebook decisions: all must agree, except in BF16/F16, where at least
     * {@link #HALF_AGREEMENT} of them must.
     */
    public void checkDecisions(String output, Tensor actual) {
        if (compute == null || !Golden.isHalf(compute)) {
            check(output, actual);
            return;
        }
        long[] e = Tensors.toLongs(io(output)), a = Tensors.toLongs(actual);
        assertArrayEquals(io(output).shape(), actual.shape(), name + " / " + output + ": shape");
        long same = java.util.stream.IntStream.range(0, e.length).filter(i -> e[i] == a[i]).count();
        double share = (double) same / e.length;
        System.out.printf("%s / %s: %d of %d decisions agree (%.3f; at least %.2f on %s)%n", name, output, same, e.length,
                share, HALF_AGREEMENT, compute);
        assertTrue(share >= HALF_AGREEMENT, name + " / " + output + ": only " + same + " of " + e.length + " decisions agree on " + compute);
        checked(output);
    }

    /**
     * Counts a check as covered by another comparison, allowed only off CPU/F32: a greedy token run, which is exact
     * there but diverges elsewhere once one near-tie flips (the first step's logits are compared instead).
     */
    public void replaced(String output, String by) {
        if (!checks.containsKey(output)) fail(name + ": cases.json lists no check '" + output + "'");
        assertTrue(!atReference(), name + " / " + output + ": only off CPU/F32 may a check be replaced");
        System.out.printf("%s / %s: not compared on %s; %s%n", name, output, compute, by);
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
