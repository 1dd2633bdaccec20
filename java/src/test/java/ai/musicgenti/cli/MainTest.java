package ai.musicgenti.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {
    static Path golden() {
        String env = System.getenv("MUSICGEN_TI_GOLDEN");
        return Path.of(env != null && !env.isBlank() ? env : System.getProperty("musicgen.golden.default", "../shared/golden"));
    }

    @Test
    void benchRunsOnAGivenConfigAndPrintsItsFigures() {
        String config = golden().resolve("musicgen_50hz/config.json").toString();
        Cli.Run r = Cli.run("bench", "--shape", config, "--steps", "6", "--warmup", "1", "--window", "8", "--train-steps", "1", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().matches("(?s).*decode +6 steps.* [0-9.]+ steps/s.*real-time factor [0-9.]+.*"), r.out());
        assertTrue(r.out().matches("(?s).*train +batch 1 x 8 frames.* [0-9.]+ steps/s.*peak resident [0-9.]+ GB.*"), r.out());
    }

    @Test
    void benchGenerateRunsOnRealWeightsAlone() {
        String model = golden().resolve("musicgen_50hz").toString();
        Cli.Run r = Cli.run("bench", "generate", "--model", model, "--steps", "6", "--warmup", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("musicgen_50hz weights") && r.out().matches("(?s).*decode +6 steps.*real-time factor [0-9.]+.*"), r.out());
        assertTrue(!r.out().contains("train "), r.out());
    }

    @Test
    void userErrorsAreOneLineAndExitOne() {
        Cli.Run device = Cli.run("bench", "--device", "tpu");
        assertEquals(1, device.code());
        assertEquals(1, device.err().strip().lines().count(), device.err());
        assertTrue(device.err().contains("--device tpu") && device.err().contains("use auto, cpu, cuda"), device.err());

        Cli.Run shape = Cli.run("bench", "--shape", "huge");
        assertEquals(1, shape.code());
        assertTrue(shape.err().contains("--shape huge"), shape.err());

        Cli.Run flag = Cli.run("bench", "--no-such-flag");
        assertEquals(1, flag.code());
    }

    @Test
    void everyCommandHasHelp() {
        assertEquals(0, Cli.run("--help").code());
        Cli.Run bench = Cli.run("bench", "--help");
        assertEquals(0, bench.code());
        assertTrue(bench.out().contains("--steps"), bench.out());
    }
}
