package ai.musicgenti.data;

import ai.musicgenti.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code musicgen-ti prepare} as a user runs it: a separate JVM, exit codes, stdout summary, stderr errors. */
class PrepareCommandTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    Run cli(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(tmp, "out", ".txt"), err = Files.createTempFile(tmp, "err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "launcher did not finish: " + String.join(" ", args));
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void preparesThenSkipsWhatIsPrepared() throws Exception {
        Path root = DatasetPreparerTest.fixture(tmp.resolve("my clips")), ds = tmp.resolve("data/input/my-ds");
        String model = DatasetPreparerTest.goldenModel().toString();
        Run first = cli("prepare", root.toString(), "--dataset", ds.toString(), "--model", model, "--fragment-seconds", "0.5", "--device", "cpu");
        assertEquals(0, first.code(), first.err());
        assertTrue(first.out().contains("11 fragments from 5 new clip(s)"), first.out());
        assertTrue(first.out().contains("skipped 4:") && first.out().contains("alpha/broken.mp3:"), first.out());
        assertTrue(first.err().contains("alpha [") && first.err().contains("6/6 clips"), first.err());
        assertEquals(11, PreparedDataset.open(ds).train().size() + PreparedDataset.open(ds).valid().size());

        Run second = cli("prepare", root.toString(), "--dataset", ds.toString(), "--model", model, "--fragment-seconds", "0.5", "--device", "cpu");
        assertEquals(0, second.code(), second.err());
        assertTrue(second.out().contains("0 fragments from 0 new clip(s) prepared now, 5 unchanged clip(s) kept"), second.out());
    }

    @Test
    void missingRootIsOneLineAndExitOne() throws Exception {
        Path root = tmp.resolve("no such root");
        Run run = cli("prepare", root.toString(), "--dataset", tmp.resolve("ds").toString(), "--model", "nobody/nothing");
        assertEquals(1, run.code(), run.err());
        List<String> lines = run.err().strip().lines().toList();
        assertEquals(1, lines.size(), run.err());
        assertTrue(lines.get(0).startsWith("musicgen-ti: " + root + ": no such folder; expected <root>/<concept>/"), lines.get(0));
    }
}
