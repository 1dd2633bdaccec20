package ai.musicgenti.sweep;

import ai.musicgenti.core.BadInputException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SweepSpecTest {
    static final Path EXAMPLES = Path.of(System.getProperty("user.dir")).getParent().resolve("configs/sweeps");

    @Test
    void everyShippedExampleParses() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(EXAMPLES)) {
            files = s.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue(files.size() >= 3, "examples in " + EXAMPLES + ": " + files);
        for (Path f : files) {
            SweepSpec spec = SweepSpec.read(f);
            assertTrue(new ParameterSpace(spec, "x").trials() > 0, f.toString());
        }
    }

    @Test
    void theSeedsNamesMapToTrainsSettings() throws IOException {
        SweepSpec spec = SweepSpec.read(EXAMPLES.resolve("grid.yaml"));
        assertEquals(SweepSpec.Method.GRID, spec.method());
        assertEquals(new SweepSpec.Metric("fad_avg", SweepSpec.Goal.MINIMIZE), spec.metric());
        assertEquals(List.of("concepts", "tokens", "lr", "batch_size", "epochs", "eval_duration", "entropy_alpha", "ortho_alpha", "cr_margin",
                "grad_amplify", "eval_cfg", "shuffle_tokens"), List.copyOf(spec.parameters().keySet()));
        assertEquals("tokens_num", spec.names().get("tokens"));
        assertEquals(List.of(List.of("8bit", "synthwave")), spec.parameters().get("concepts").values());
        assertEquals(List.of(5L, 10L, 20L), spec.parameters().get("tokens").values());
        assertEquals(6, new ParameterSpace(spec, "x").trials());
        assertTrue(spec.notes().stream().anyMatch(n -> n.startsWith("program: ignored")), spec.notes().toString());
    }

    @Test
    void randomDistributionsAreRead() throws IOException {
        SweepSpec spec = SweepSpec.read(EXAMPLES.resolve("random.yaml"));
        assertEquals(SweepSpec.Method.RANDOM, spec.method());
        assertEquals(20, spec.runCap());
        assertEquals(SweepSpec.Goal.MAXIMIZE, spec.metric().goal());
        SweepSpec.Parameter lr = spec.parameters().get("lr");
        assertEquals(SweepSpec.Distribution.LOG_UNIFORM_VALUES, lr.distribution());
        assertEquals(0.005, lr.min());
        assertEquals(0.25, spec.parameters().get("cr_margin").q());
        assertEquals(List.of(0.25, 0.75), spec.parameters().get("shuffle_tokens").probabilities());
    }

    @Test
    void yamlsUnquotedExponentIsANumber() {
        SweepSpec spec = SweepSpec.parse("method: grid\nparameters:\n  lr:\n    values: [1e-3, 0.1]\n", "s.yaml");
        assertEquals(List.of(0.001, 0.1), spec.parameters().get("lr").values());
    }

    @Test
    void mistakesAreOneLineErrorsNamingTheKey() {
        String ok = "method: grid\nmetric: {name: val_ce, goal: minimize}\nparameters:\n  tokens: {values: [2, 4]}\n";
        assertEquals(2, new ParameterSpace(SweepSpec.parse(ok, "s.yaml"), "x").trials(), "the base case parses");
        expect("method: grid\nparameters:\n  tokens: {values: [2, 4]\n", "s.yaml: not valid YAML at line");
        expect(ok.replace("method: grid", "method: grid\nmetod: random"), "s.yaml: metod: unknown key");
        expect(ok.replace("values: [2, 4]", "values: [2, four]"), "s.yaml: parameters.tokens.values[1]: expected a whole number, got \"four\"");
        expect(ok.replace("values: [2, 4]", "value: 2.5"), "s.yaml: parameters.tokens.value: expected a whole number");
        expect(ok.replace("tokens:", "tokenz:"), "s.yaml: parameters.tokenz: unknown parameter; use one of ");
        expect(ok.replace("values: [2, 4]", "valuez: [2, 4]"), "s.yaml: parameters.tokens.valuez: unknown key");
        expect(ok.replace("method: grid", "method: bayes"), "s.yaml: method: bayes is not supported; use grid or random");
        expect(ok + "early_terminate: {type: hyperband, min_iter: 3}\n", "s.yaml: early_terminate: not supported");
        expect(ok.replace("method: grid", "method: random"), "s.yaml: run_cap: missing");
        expect(ok.replace("goal: minimize", "goal: smallest"), "s.yaml: metric.goal: expected minimize or maximize");
        expect(ok.replace("val_ce", "accuracy"), "s.yaml: metric.name: unknown metric accuracy");
        expect(ok.replace("{values: [2, 4]}", "5"), "s.yaml: parameters.tokens: expected a mapping with value, values or distribution, got 5");
        expect(ok.replace("{values: [2, 4]}", "{distribution: int_uniform, min: 2, max: 8}"), "s.yaml: parameters.tokens.distribution: a grid needs value or values");
        expect("method: random\nrun_cap: 3\nparameters:\n  lr: {distribution: normal, min: 0, max: 1}\n", "s.yaml: parameters.lr.distribution: not supported: \"normal\"");
        expect("method: random\nrun_cap: 3\nparameters:\n  tokens: {distribution: uniform, min: 2, max: 8}\n", "s.yaml: parameters.tokens.distribution: uniform gives fractions");
        expect("method: random\nrun_cap: 3\nparameters:\n  lr: {min: 0.5, max: 0.1}\n", "s.yaml: parameters.lr.max: max 0.1 is below min 0.5");
        expect("method: random\nrun_cap: 0\nparameters:\n  lr: {value: 0.1}\n", "s.yaml: run_cap: expected a whole number from 1");
        expect(ok.replace("{values: [2, 4]}", "{values: [2, 4]}\n  tokens_num: {value: 3}"), "s.yaml: parameters.tokens_num: the same setting as parameters.tokens");
        expect(ok.replace("tokens: {values: [2, 4]}", "shuffle_tokens: {value: \"yes please\"}"), "s.yaml: parameters.shuffle_tokens.value: expected true or false");
        expect(ok.replace("tokens:", "tokens:\n    values: [1]\n  tokens:"), "s.yaml: not valid YAML at line 6, column 9 (Duplicate field 'tokens')");
        expect("", "s.yaml: the file is empty");
    }

    private static void expect(String yaml, String start) {
        BadInputException e = assertThrows(BadInputException.class, () -> SweepSpec.parse(yaml, "s.yaml"), yaml);
        assertTrue(e.getMessage().startsWith(start), "expected '" + start + "...', got: " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
