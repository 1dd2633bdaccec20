package ai.musicgenti.sweep;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParameterSpaceTest {
    static final String RANDOM = """
            method: random
            run_cap: 50
            parameters:
              tokens: {distribution: int_uniform, min: 4, max: 9}
              lr: {distribution: log_uniform_values, min: 0.001, max: 0.1}
              ortho_alpha: {distribution: uniform, min: 0.0, max: 0.05}
              cr_margin: {distribution: q_uniform, min: 0.5, max: 2.0, q: 0.25}
              shuffle_tokens: {values: [true, false], probabilities: [0.2, 0.8]}
              concepts: {value: [a, b]}
            """;

    @Test
    void gridRunsEveryCombinationOnceUpToTheCap() {
        String grid = "method: grid\nparameters:\n  tokens: {values: [1, 2]}\n  lr: {values: [0.1, 0.05]}\n  epochs: {value: 3}\n";
        ParameterSpace space = new ParameterSpace(SweepSpec.parse(grid, "g"), "g");
        assertEquals(4, space.trials());
        Set<List<Object>> seen = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            Map<String, Object> t = space.trial(i);
            assertEquals(List.of("tokens", "lr", "epochs"), List.copyOf(t.keySet()));
            assertEquals(3L, t.get("epochs"));
            seen.add(List.of(t.get("tokens"), t.get("lr")));
        }
        assertEquals(Set.of(List.of(1L, 0.1), List.of(1L, 0.05), List.of(2L, 0.1), List.of(2L, 0.05)), seen);
        assertEquals(3, new ParameterSpace(SweepSpec.parse(grid + "run_cap: 3\n", "g"), "g").trials());
    }

    @Test
    void randomDrawsStayInTheirDistributions() {
        ParameterSpace space = new ParameterSpace(SweepSpec.parse(RANDOM, "r"), "sweep-1");
        assertEquals(50, space.trials());
        int shuffled = 0;
        Set<Long> tokens = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            Map<String, Object> t = space.trial(i);
            long k = (Long) t.get("tokens");
            assertTrue(k >= 4 && k <= 9, "tokens " + k);
            tokens.add(k);
            double lr = (Double) t.get("lr");
            assertTrue(lr >= 0.001 && lr <= 0.1, "lr " + lr);
            double o = (Double) t.get("ortho_alpha");
            assertTrue(o >= 0 && o <= 0.05, "ortho " + o);
            double m = (Double) t.get("cr_margin");
            assertEquals(0, Math.IEEEremainder(m, 0.25), 1e-12, "cr_margin on the q grid: " + m);
            assertTrue(m >= 0.5 && m <= 2.0, "cr_margin " + m);
            if ((Boolean) t.get("shuffle_tokens")) shuffled++;
            assertEquals(List.of("a", "b"), t.get("concepts"));
        }
        assertTrue(tokens.size() >= 4, "int_uniform reaches most of 4..9: " + tokens);
        assertTrue(shuffled > 0 && shuffled < 25, "about a fifth shuffled: " + shuffled);
        // log-uniform: as many draws below the geometric middle (0.01) as above, not 90% above as uniform would give
        long below = java.util.stream.IntStream.range(0, 50).filter(i -> (Double) space.trial(i).get("lr") < 0.01).count();
        assertTrue(below > 10 && below < 40, "draws below 0.01: " + below);
    }

    @Test
    void aTrialsParametersDependOnTheSweepIdAndIndexOnly() throws Exception {
        ParameterSpace a = new ParameterSpace(SweepSpec.parse(RANDOM, "r"), "sweep-1");
        ParameterSpace b = new ParameterSpace(SweepSpec.parse(RANDOM, "r"), "sweep-1");
        assertEquals(a.trial(7), b.trial(7), "two instances");
        assertNotEquals(a.trial(7), a.trial(8), "two trials");
        assertNotEquals(a.trial(7), new ParameterSpace(SweepSpec.parse(RANDOM, "r"), "sweep-2").trial(7), "two sweeps");
        // trial 7 alone in a fresh JVM, as another machine would compute it
        assertEquals(a.trial(7).toString(), inAnotherJvm("sweep-1", 7));
        assertEquals(a.trial(31).toString(), inAnotherJvm("sweep-1", 31));
    }

    private static String inAnotherJvm(String id, int index) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), Print.class.getName(), id, Integer.toString(index)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    /** Prints one trial's parameters: the other JVM of the test above. */
    public static final class Print {
        public static void main(String[] args) {
            System.out.println(new ParameterSpace(SweepSpec.parse(RANDOM, "r"), args[0]).trial(Integer.parseInt(args[1])));
        }
    }
}
