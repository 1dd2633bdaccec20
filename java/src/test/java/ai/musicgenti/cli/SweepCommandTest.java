package ai.musicgenti.cli;

import ai.musicgenti.core.Safetensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.sweep.SweepFolder;
import ai.musicgenti.train.Trainer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sweeps of tiny training runs on the golden model: a grid here, a random search in child processes, a killed trial resumed. */
class SweepCommandTest {
    @TempDir
    static Path shared;
    static Path model, dataset;

    @BeforeAll
    static void prepare() throws Exception {
        model = Golden.firstOfKind("musicgen_generate").dir();
        dataset = TrainCommandTest.preparedDataset(shared, model);
    }

    static Path sweep(Path dir, String yaml, String... extra) throws Exception {
        return sweep(dir, dataset, model, yaml, extra);
    }

    static Path sweep(Path dir, Path dataset, Path model, String yaml, String... extra) throws Exception {
        Path spec = dir.resolve("sweep.yaml");
        Files.writeString(spec, yaml);
        List<String> args = new ArrayList<>(List.of("sweep", spec.toString(), "--dataset", dataset.toString(), "--model", model.toString(),
                "--sweeps", dir.resolve("sweeps").toString()));
        args.addAll(List.of(extra));
        Cli.Run run = Cli.run(args.toArray(String[]::new));
        assertEquals(0, run.code(), run.err());
        try (Stream<Path> s = Files.list(dir.resolve("sweeps"))) {
            return s.findFirst().orElseThrow();
        }
    }

    static JsonNode status(Path sweepDir) throws Exception {
        Cli.Run run = Cli.run("sweep", "status", sweepDir.toString(), "--json");
        assertEquals(0, run.code(), run.err());
        return new ObjectMapper().readTree(run.out());
    }

    /** Every trial finished, with a value, best first. */
    static void assertRanked(JsonNode status, int trials, boolean lowestFirst) {
        JsonNode rows = status.get("trials");
        assertEquals(trials, rows.size(), status.toString());
        for (int i = 0; i < trials; i++) {
            assertEquals("finished", rows.get(i).get("state").asText(), status.toString());
            assertTrue(rows.get(i).get("value").isNumber(), status.toString());
            if (i > 0) {
                double prev = rows.get(i - 1).get("value").asDouble(), cur = rows.get(i).get("value").asDouble();
                assertTrue(lowestFirst ? prev <= cur : prev >= cur, "ordered by the metric: " + status);
            }
        }
    }

    @Test
    void aGridRunsEveryTrialAndASecondRunSkipsThem(@TempDir Path dir) throws Exception {
        String yaml = """
                method: grid
                metric: {name: val_ce, goal: minimize}
                parameters:
                  concepts: {value: [a, b]}
                  tokens_num: {values: [1, 2]}
                  learning_rate: {values: [0.5, 0.01]}
                  epochs: {value: 2}
                  batch_size: {value: 4}
                  music_len: {value: 16}
                """;
        Path sweepDir = sweep(dir, yaml);
        JsonNode status = status(sweepDir);
        assertRanked(status, 4, true);
        SweepFolder folder = SweepFolder.open(sweepDir);
        for (JsonNode row : status.get("trials")) {
            int i = row.get("trial").asInt();
            Trainer.RunInfo run = Trainer.describe(folder.runDir(i));
            assertEquals(2, run.epochsDone());
            assertEquals(row.get("parameters").get("tokens_num").asInt(), run.settings().tokens(), "the trial trained with its own parameters");
            assertEquals(row.get("parameters").get("learning_rate").asDouble(), run.settings().lr());
            assertEquals(2, row.get("epochs").asInt());
            try (Safetensors st = Safetensors.open(folder.modelsDir().resolve("my-ds").resolve(SweepFolder.runName(i) + ".safetensors"))) {
                assertEquals("2", st.metadata().get("epoch"));
            }
        }
        // the same command again: nothing left to do
        Cli.Run again = Cli.run("sweep", dir.resolve("sweep.yaml").toString(), "--dataset", dataset.toString(), "--model", model.toString(),
                "--sweeps", dir.resolve("sweeps").toString());
        assertEquals(0, again.code(), again.err());
        assertEquals(4, again.err().lines().filter(l -> l.endsWith(": finished already")).count(), again.err());
        for (int i = 0; i < 4; i++) assertEquals(1, folder.state(i).attempts());
        Cli.Run table = Cli.run("sweep", "status", sweepDir.toString());
        assertTrue(table.out().contains("tokens_num") && table.out().contains("val_ce"), table.out());
        Cli.Run csv = Cli.run("sweep", "status", sweepDir.toString(), "--csv");
        assertEquals(5, csv.out().lines().count(), csv.out());
    }

    @Test
    void aRandomSweepWithRunCapRunsInChildProcesses(@TempDir Path dir) throws Exception {
        String yaml = """
                method: random
                run_cap: 3
                metric: {name: val_ce, goal: minimize}
                parameters:
                  tokens: {distribution: int_uniform, min: 1, max: 3}
                  lr: {distribution: log_uniform_values, min: 0.01, max: 0.5}
                  concepts: {value: [a, b]}
                  epochs: {value: 1}
                  music_len: {value: 16}
                """;
        Path sweepDir = sweep(dir, yaml, "--parallel", "2");
        assertRanked(status(sweepDir), 3, true);
        SweepFolder folder = SweepFolder.open(sweepDir);
        for (int i = 0; i < 3; i++) {
            assertTrue(Files.readString(folder.logFile(i)).contains("run " + SweepFolder.runName(i)), "each trial logs to its own file");
            assertEquals(((Number) folder.space().trial(i).get("lr")).doubleValue(), Trainer.describe(folder.runDir(i)).settings().lr());
            assertFalse(folder.state(i).pid() == ProcessHandle.current().pid(), "trained in a child process");
        }
    }

    @Test
    void aKilledTrialResumesFromItsCheckpoint(@TempDir Path dir) throws Exception {
        int epochs = 60;
        String yaml = "method: grid\nparameters:\n  concepts: {value: [a, b]}\n  tokens: {value: 2}\n  epochs: {value: " + epochs + "}\n"
                + "  music_len: {value: 16}\n  seed: {value: 7}\n";
        SweepFolder folder = SweepFolder.create(dir.resolve("s"), "s", yaml, "s.yaml", dataset.toString(), model.toString());
        TrainKillTest.killAfterFirstCheckpoint(SweepCommand.childCommand(folder.dir()).of("0", null), folder.runDir(0).resolve("checkpoint.safetensors"),
                epochs, dir.resolve("child.log"));
        assertEquals("interrupted", status(folder.dir()).get("trials").get(0).get("state").asText());

        Cli.Run resumed = Cli.run("sweep", "run-trial", folder.dir().toString(), "0");
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(2, folder.state(0).attempts());
        assertEquals(epochs, Trainer.describe(folder.runDir(0)).epochsDone());
        // resumed, not restarted: one epoch line per epoch
        List<Integer> epochLines = Files.readAllLines(folder.runDir(0).resolve("metrics.jsonl")).stream().filter(l -> l.contains("\"type\":\"epoch\""))
                .map(l -> Integer.parseInt(l.replaceFirst(".*\"epoch\":(\\d+).*", "$1"))).toList();
        assertEquals(IntStream.rangeClosed(1, epochs).boxed().toList(), epochLines);
        assertEquals("finished", status(folder.dir()).get("trials").get(0).get("state").asText());
    }

    @Test
    void badSweepFilesAreOneLineErrors(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("bad.yaml");
        Files.writeString(spec, "method: grid\nparameters:\n  tokens: {values: [2, x]}\n");
        Cli.Run run = Cli.run("sweep", spec.toString(), "--dataset", dataset.toString(), "--model", model.toString(), "--sweeps", dir.toString());
        assertEquals(1, run.code());
        assertEquals("musicgen-ti: " + spec + ": parameters.tokens.values[1]: expected a whole number, got \"x\"; write e.g. 10", run.errLine());
        Cli.Run noTrial = Cli.run("sweep", "run-trial", dir.toString(), "0");
        assertEquals(1, noTrial.code());
        assertTrue(noTrial.errLine().contains("not a sweep folder"), noTrial.errLine());
    }
}
