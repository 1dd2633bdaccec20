package ai.musicgenti.data;

import ai.musicgenti.cli.Cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code musicgen-ti prepare} as a user runs it: a separate JVM, exit codes, stdout summary, stderr errors. */
class PrepareCommandTest {
    @TempDir
    Path tmp;

    @Test
    void preparesThenSkipsWhatIsPrepared() throws Exception {
        Path root = DatasetPreparerTest.fixture(tmp.resolve("my clips")), ds = tmp.resolve("data/input/my-ds");
        String model = DatasetPreparerTest.goldenModel().toString();
        Cli.Run first = Cli.process(java.util.Map.of(), "prepare", root.toString(), "--dataset", ds.toString(), "--model", model, "--fragment-seconds", "0.5", "--device", "cpu");
        assertEquals(0, first.code(), first.err());
        assertTrue(first.out().contains("11 fragments from 5 new clip(s)"), first.out());
        assertTrue(first.out().contains("skipped 4:") && first.out().contains("alpha/broken.mp3:"), first.out());
        assertTrue(first.err().contains("alpha [") && first.err().contains("6/6 clips"), first.err());
        assertEquals(11, PreparedDataset.open(ds).train().size() + PreparedDataset.open(ds).valid().size());

        Cli.Run second = Cli.process(java.util.Map.of(), "prepare", root.toString(), "--dataset", ds.toString(), "--model", model, "--fragment-seconds", "0.5", "--device", "cpu");
        assertEquals(0, second.code(), second.err());
        assertTrue(second.out().contains("0 fragments from 0 new clip(s) prepared now, 5 unchanged clip(s) kept"), second.out());
    }

    @Test
    void missingRootIsOneLineAndExitOne() throws Exception {
        Path root = tmp.resolve("no such root");
        Cli.Run run = Cli.process(java.util.Map.of(), "prepare", root.toString(), "--dataset", tmp.resolve("ds").toString(), "--model", "nobody/nothing");
        assertEquals(1, run.code(), run.err());
        List<String> lines = run.err().strip().lines().toList();
        assertEquals(1, lines.size(), run.err());
        assertTrue(lines.get(0).startsWith("musicgen-ti: " + root + ": no such folder; expected <root>/<concept>/"), lines.get(0));
    }
}
