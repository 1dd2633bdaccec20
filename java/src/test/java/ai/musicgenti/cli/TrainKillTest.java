package ai.musicgenti.cli;

import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.train.MetricsLines;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Training killed with SIGKILL in the middle of a run leaves only whole files, and resuming it ends exactly where an
 * uninterrupted run with the same seed ends.
 */
class TrainKillTest {
    private static final int EPOCHS = 60;

    @Test
    void killedMidRunResumesToTheSameResult(@TempDir Path dir) throws Exception {
        Path model = Golden.firstOfKind("musicgen_generate").dir();
        Path ds = TrainCommandTest.preparedDataset(dir, model);
        String[] common = {"--model", model.toString(), "--dataset", ds.toString(), "--out", dir.resolve("models").toString(),
                "--runs", dir.resolve("runs").toString(), "--music-len", "16", "--epochs", Integer.toString(EPOCHS)};
        String[] start = {"train", "--concepts", "a", "b", "--tokens", "2", "--batch-size", "4", "--seed", "7"};

        assertEquals(0, Main.run(TrainCommandTest.concat(TrainCommandTest.concat(start, new String[]{"--run", "straight"}), common)));

        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(TrainCommandTest.concat(TrainCommandTest.concat(start, new String[]{"--run", "killed"}), common)));
        Path checkpoint = dir.resolve("runs/killed/checkpoint.safetensors");
        killAfterFirstCheckpoint(cmd, checkpoint, EPOCHS, dir.resolve("child.log"));

        // a kill during a save may leave its temporary .part file, never a torn target
        try (Stream<Path> files = Stream.concat(Files.walk(dir.resolve("runs/killed")), Files.walk(dir.resolve("models")))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                if (f.toString().endsWith(".safetensors")) Safetensors.readAll(f); // opens whole, or throws
            }
        }

        assertEquals(0, Main.run(TrainCommandTest.concat(new String[]{"train", "--resume", "killed"}, common)));
        try (Stream<Path> files = Stream.concat(Files.walk(dir.resolve("runs/killed")), Files.walk(dir.resolve("models")))) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().endsWith(".part")).toList(), "the resumed run cleans up");
        }
        float[] straight = Tensors.toFloats(Safetensors.readAll(dir.resolve("models/my-ds/straight.safetensors")).get("a"));
        float[] resumed = Tensors.toFloats(Safetensors.readAll(dir.resolve("models/my-ds/killed.safetensors")).get("a"));
        for (int i = 0; i < straight.length; i++) assertEquals(straight[i], resumed[i], 1e-6, "learned value " + i);
        assertEquals(MetricsLines.withoutClock(dir.resolve("runs/straight/metrics.jsonl")), MetricsLines.withoutClock(dir.resolve("runs/killed/metrics.jsonl")));
    }

    /**
     * Starts {@code cmd} (output to {@code log}), kills it with SIGKILL once {@code checkpoint} exists, and checks from
     * the checkpoint that the kill landed before the run's {@code epochs} were done, whatever the timing.
     */
    static void killAfterFirstCheckpoint(List<String> cmd, Path checkpoint, int epochs, Path log) throws Exception {
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(checkpoint) && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(10);
        assertTrue(Files.exists(checkpoint), "no checkpoint within 120 s: " + Files.readString(log));
        child.destroyForcibly();
        assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        try (Safetensors st = Safetensors.open(checkpoint)) {
            assertTrue(Integer.parseInt(st.metadata().get("epoch")) < epochs, "the child finished before it could be killed: " + Files.readString(log));
        }
    }
}
