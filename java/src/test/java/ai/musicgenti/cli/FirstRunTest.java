package ai.musicgenti.cli;

import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.concepts.ConceptPrompts;
import ai.musicgenti.concepts.LearnedConcepts;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static ai.musicgenti.cli.TrainCommandTest.concat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a new user tripped on (issue 10), on the tiny golden model: each test failed before its fix. */
class FirstRunTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path tmp;
    private static Path model;
    /** A concepts file with one concept, clicks, of random rows: enough for prompts to name it. */
    private static Path concepts;

    @BeforeAll
    static void setUp() throws IOException {
        model = Golden.firstOfKind("musicgen_generate").dir();
        concepts = tmp.resolve("clicks.safetensors");
        try (ModelFolder folder = ModelFolder.open(model)) {
            List<ConceptPrompts.Concept> list = List.of(new ConceptPrompts.Concept("clicks", 2, 0));
            float[] rows = new float[2 * 24];
            for (int i = 0; i < rows.length; i++) rows[i] = (float) Math.sin(i);
            LearnedConcepts.save(concepts, list, Tensors.floats(rows, 2, 24), new LearnedConcepts.Info(model.toString(),
                    LearnedConcepts.baseModelHash(folder), 1, 1, "{}"));
        }
    }

    private static String[] generate(String... more) {
        return concat(new String[]{"generate", "--model", model.toString(), "--duration", "0.1", "--seed", "1"}, more);
    }

    private static void assertUserError(Cli.Run r, String... mentions) {
        assertEquals(1, r.code(), "expected a user error: " + r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        for (String m : mentions) assertTrue(r.err().contains(m), "should mention '" + m + "': " + r.err());
    }

    /** Item 1: an unknown <name> was tokenised as text, and the clip silently lacked the concept. */
    @Test
    void unknownPlaceholdersAreRefused() throws IOException {
        Path out = tmp.resolve("unknown");
        assertUserError(Cli.run(generate("--concepts", concepts.toString(), "--prompt", "calm piano <drums>", "--out", out.toString())),
                "<drums> is not a loaded concept", "loaded: clicks");
        assertUserError(Cli.run(generate("--concepts", concepts.toString(), "--prompt", "calm <Clicks>", "--out", out.toString())),
                "<Clicks> is not a loaded concept");
        assertUserError(Cli.run(generate("--prompt", "calm <clicks>", "--out", out.toString())), "<clicks>", "pass --concepts FILE");
        assertFalse(Files.exists(out), "nothing written");
        assertEquals(0, Cli.run(generate("--concepts", concepts.toString(), "--prompt", "calm <clicks> and <clicks_1>", "--out",
                out.toString())).code());

        // training templates: refused before the run folder is made
        Path ds = dataset();
        Path templates = Files.writeString(tmp.resolve("train-templates.txt"), "%s with <drums>\n");
        Path runs = tmp.resolve("runs-unknown");
        assertUserError(Cli.run("train", "--model", model.toString(), "--dataset", ds.toString(), "--train-prompts", templates.toString(),
                "--runs", runs.toString(), "--out", tmp.resolve("models-unknown").toString(), "--epochs", "1", "--music-len", "8"),
                "training prompt template '%s with <drums>'", "<drums> is not a loaded concept");
        assertFalse(Files.exists(runs), "no run folder left behind");
    }

    /** Item 4: prompts that map to the same file name overwrote each other. */
    @Test
    void everyClipGetsItsOwnFile() throws IOException {
        String longA = "a very long prompt about a calm piano melody over soft strings and a warm analog bass line, version one";
        String longB = longA.replace("version one", "version two");
        Path prompts = Files.writeString(tmp.resolve("prompts.txt"), "calm piano\ncalm piano\n" + longA + "\n" + longB + "\n");
        Path out = tmp.resolve("same-names");
        Cli.Run r = Cli.run(generate("--prompt", "calm piano", "--prompts-file", prompts.toString(), "--out", out.toString()));
        assertEquals(0, r.code(), r.err());
        List<String> printed = r.out().strip().lines().toList();
        assertEquals(5, printed.size(), r.out());
        assertEquals(5, new HashSet<>(printed).size(), "every path once: " + r.out());
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(5, files.count());
        }
        assertTrue(printed.contains(out.resolve("calm-piano-3.wav").toString()), r.out());
    }

    /** Item 6: a prompts file that is not UTF-8, or is a folder, ended in "internal error" without a file name. */
    @Test
    void unreadablePromptFilesAreOneLineUserErrors() throws IOException {
        Path latin1 = tmp.resolve("latin1.txt");
        Files.write(latin1, "caf\u00e9 music\n".getBytes(StandardCharsets.ISO_8859_1));
        Path out = tmp.resolve("x");
        assertUserError(Cli.run(generate("--prompts-file", latin1.toString(), "--out", out.toString())),
                "--prompts-file " + latin1, "not UTF-8", "save it as UTF-8");
        assertUserError(Cli.run(generate("--prompts-file", tmp.toString(), "--out", out.toString())), "--prompts-file " + tmp, "is a folder");
        assertUserError(Cli.run("train", "--model", model.toString(), "--dataset", tmp.resolve("none").toString(), "--valid-prompts",
                latin1.toString()), "--valid-prompts " + latin1, "not UTF-8");
    }

    /** Item 7: the offline hint said "pass --model" where the flag is --clap or --codec. */
    @Test
    void offlineHintsNameTheFlagThatNamedTheModel() throws Exception {
        Map<String, String> offline = Map.of("HF_HUB_OFFLINE", "1", "HF_HUB_CACHE", tmp.resolve("empty-hub").toString());
        String a = tmp.toString(), b = tmp.toString();
        Cli.Run fad = Cli.process(offline, "fad", a, b, "--clap", "nobody/clap");
        assertEquals(1, fad.code(), fad.err());
        assertTrue(fad.errLine().contains("pass --clap /path/to/a/local/folder"), fad.err());
        Cli.Run codec = Cli.process(offline, "fad", a, b, "--embedding", "encodec", "--codec", "nobody/codec");
        assertTrue(codec.errLine().contains("pass --codec /path/to/a/local/folder"), codec.err());
        Cli.Run clapScore = Cli.process(offline, "clap-score", a, "--text", "x", "--clap", "nobody/clap");
        assertTrue(clapScore.errLine().contains("pass --clap /path/to/a/local/folder"), clapScore.err());
    }

    /** Item 10: "<command> -V" printed nothing, and "-V" no commit. */
    @Test
    void everyCommandPrintsTheVersionAndCommit() throws Exception {
        String head = gitHead();
        for (String[] args : List.of(new String[]{"-V"}, new String[]{"generate", "-V"}, new String[]{"train", "-V"},
                new String[]{"fad", "--version"}, new String[]{"bench", "eval", "-V"})) {
            Cli.Run r = Cli.run(args);
            assertEquals(0, r.code(), String.join(" ", args) + ": " + r.err());
            String line = r.out().strip();
            assertTrue(line.matches("musicgen-ti \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? \\(commit ([0-9a-f]{7,40}(-dirty)?|unknown)\\)"),
                    String.join(" ", args) + ": '" + line + "'");
            if (head != null) {
                String commit = line.replaceAll(".*\\(commit ([0-9a-f]+).*", "$1");
                assertTrue(head.startsWith(commit), "built from " + head + ", says " + line);
            }
        }
    }

    /** The commit of the checkout the tests run in, or null outside one (then the jar says "unknown"). */
    private static String gitHead() throws Exception {
        Process p;
        try {
            p = new ProcessBuilder("git", "rev-parse", "HEAD").redirectErrorStream(true).start();
        } catch (IOException noGit) {
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : null;
    }

    /** Friction: a bad option value printed the whole usage; --out x.mp3 made a folder named x.mp3. */
    @Test
    void badValuesAreOneLine() {
        Cli.Run r = Cli.run("generate", "--duration", "abc", "--prompt", "x");
        assertUserError(r, "--duration", "abc", "see 'musicgen-ti generate --help'");
        Path mp3 = tmp.resolve("x.mp3");
        assertUserError(Cli.run(generate("--prompt", "x", "--out", mp3.toString())), "--out " + mp3, "only WAV");
        assertFalse(Files.exists(mp3));
        // the tiny model's 1,024 positions at 50 frames/s, less the delay of its 4 codebooks
        assertUserError(Cli.run("generate", "--model", model.toString(), "--prompt", "x", "--duration", "30", "--out", tmp.resolve("long.wav").toString()),
                "at most 20.4 s of audio", "asked for 30.0 s");
    }

    /** Item 2: the same folder typed two ways was "other settings", and relative paths were stored. */
    @Test
    void aModelIsTheSameHoweverItsFolderIsTyped() throws Exception {
        Path clips = TrainCommandTest.clips(tmp.resolve("paths"));
        Path ds = tmp.resolve("paths/ds");
        String relative = Path.of("").toAbsolutePath().relativize(model).toString();
        Cli.Run first = Cli.run("prepare", clips.toString(), "--dataset", ds.toString(), "--model", relative, "--fragment-seconds", "0.4");
        assertEquals(0, first.code(), first.err());
        JsonNode info = JSON.readTree(ds.resolve("dataset.json").toFile());
        assertEquals(model.toRealPath().toString(), info.path("model").asText(), "stored absolute: " + info);
        assertEquals(64, info.path("model_hash").asText().length(), info.toString());
        Cli.Run again = Cli.run("prepare", clips.toString(), "--dataset", ds.toString(), "--model", model.toAbsolutePath() + "/.",
                "--fragment-seconds", "0.4");
        assertEquals(0, again.code(), again.err());
        assertTrue(again.out().contains("0 fragments from 0 new clip(s) prepared now, 8 unchanged clip(s) kept"), again.out());
    }

    /** Item 11: a dataset whose fragment file was deleted stayed "unchanged", and train kept failing. */
    @Test
    void prepareRemakesMissingFragmentFiles() throws Exception {
        Path clips = TrainCommandTest.clips(tmp.resolve("repair"));
        Path ds = tmp.resolve("repair/ds");
        String[] prepare = {"prepare", clips.toString(), "--dataset", ds.toString(), "--model", model.toString(), "--fragment-seconds", "0.4"};
        assertEquals(0, Cli.run(prepare).code());
        JsonNode first = JSON.readTree(ds.resolve("metadata_train.json").toFile()).path("fragments").get(0);
        Path codes = ds.resolve(first.path("codes").asText()), audio = ds.resolve(first.path("audio").asText());
        byte[] before = Files.readAllBytes(codes);
        Files.delete(codes);
        Cli.Run r = Cli.run(prepare);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("from 1 new clip(s) prepared now, 7 unchanged clip(s) kept"), r.out());
        assertTrue(Files.exists(audio));
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(codes)), "the same codes again");
    }

    /**
     * Items 9 and 12, and epochs counted from 1: --resume dropped --lr without a word, ignored the run's base model,
     * demanded --dataset and did nothing silently on a finished run; metrics.jsonl wrote NaN as "NaN" and counted
     * epochs from 0.
     */
    @Test
    void trainingAndResumingAsANewUserDoes() throws Exception {
        Path clips = TrainCommandTest.clips(tmp.resolve("resume"));
        Path ds = tmp.resolve("resume/ds");
        // no validation data: the validation loss is NaN
        assertEquals(0, Cli.run("prepare", clips.toString(), "--dataset", ds.toString(), "--model", model.toString(), "--fragment-seconds", "0.4",
                "--val-fraction", "0").code());
        Path runs = tmp.resolve("resume/runs"), out = tmp.resolve("resume/models");
        String[] where = {"--runs", runs.toString(), "--out", out.toString()};
        Cli.Run train = Cli.run(concat(new String[]{"train", "--model", Path.of("").toAbsolutePath().relativize(model).toString(), "--dataset",
                ds.toString(), "--concepts", "a", "--tokens", "2", "--epochs", "1", "--music-len", "8", "--batch-size", "4", "--run", "r"}, where));
        assertEquals(0, train.code(), train.err());
        Path conceptsFile = out.resolve("ds/r.safetensors");
        try (ai.musicgenti.core.Safetensors st = ai.musicgenti.core.Safetensors.open(conceptsFile)) {
            assertEquals(model.toRealPath().toString(), st.metadata().get("base_model"));
            JsonNode metrics = JSON.readTree(st.metadata().get("metrics"));
            assertEquals(1, metrics.path("epoch").asInt(), metrics.toString());
            assertTrue(metrics.path("valid_ce").isNull(), metrics.toString());
        }
        List<JsonNode> lines = jsonLines(runs.resolve("r/metrics.jsonl"));
        for (JsonNode line : lines) assertEquals(1, line.path("epoch").asInt(), "the first epoch is epoch 1: " + line);
        JsonNode epochLine = lines.stream().filter(l -> l.path("type").asText().equals("epoch")).findFirst().orElseThrow();
        assertTrue(epochLine.path("valid_ce").isNull(), "null, as eval.json writes it: " + epochLine);

        assertUserError(Cli.run(concat(new String[]{"train", "--resume", "r", "--lr", "0.5", "--tokens", "3", "--music-len", "8", "--epochs", "2"}, where)),
                "--resume r: --tokens 3 (the run's: 2), --lr 0.5 (the run's: 0.1) would change the run's settings");
        assertUserError(Cli.run(concat(new String[]{"train", "--resume", "r"}, where)), "run r finished 1/1 epochs; pass --epochs 2");
        // neither --model (the default would be a download) nor --dataset: the run's own
        Cli.Run resumed = Cli.run(concat(new String[]{"train", "--resume", "r", "--epochs", "2"}, where));
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.err().contains("epoch 2 done"), resumed.err());
        assertEquals(List.of(1, 2), jsonLines(runs.resolve("r/metrics.jsonl")).stream().filter(l -> l.path("type").asText().equals("epoch"))
                .map(l -> l.path("epoch").asInt()).toList());
    }

    /**
     * Item 3: eval --descriptions none was read as a file name, so a dataset with descriptions could not be scored
     * with a CLAP without a text tower, nor trained with --eval-every. Also: eval's clips last as long as the
     * dataset's fragments unless told, and its warnings reach the console.
     */
    @Test
    void descriptionsNoneTurnsTheClapScoreOff() throws Exception {
        Path root = tmp.resolve("none");
        Path clips = TrainCommandTest.clips(root);
        Files.writeString(clips.resolve("metadata_concepts.json"), "{\"a\": \"slow piano\"}");
        Path ds = root.resolve("ds");
        assertEquals(0, Cli.run("prepare", clips.toString(), "--dataset", ds.toString(), "--model", model.toString(), "--fragment-seconds", "0.4",
                "--val-fraction", "0.25").code());
        String clap = Golden.firstOfKind("clap_audio").dir().toString(); // no tokenizer.json: no text tower to use
        String[] where = {"--runs", root.resolve("runs").toString(), "--out", root.resolve("models").toString(), "--cache", root.resolve("cache").toString()};
        Cli.Run train = Cli.run(concat(new String[]{"train", "--model", model.toString(), "--dataset", ds.toString(), "--concepts", "a", "--tokens", "2",
                "--epochs", "1", "--music-len", "8", "--run", "r", "--eval-every", "1", "--eval-clips", "2", "--clap", clap, "--descriptions", "none",
                "--device", "cpu"}, where));
        assertEquals(0, train.code(), train.err());

        Path out = root.resolve("eval");
        Cli.Run eval = Cli.run("eval", "--concepts", root.resolve("models/ds/r.safetensors").toString(), "--dataset", ds.toString(), "--model",
                model.toString(), "--per-concept", "2", "--clap", clap, "--cache", root.resolve("cache").toString(), "--descriptions", "none",
                "--out", out.toString(), "--device", "cpu");
        assertEquals(0, eval.code(), eval.err());
        JsonNode report = JSON.readTree(out.resolve("eval.json").toFile());
        assertTrue(report.path("concepts").path("a").path("systems").path("musicgen-ti").path("clap_score").isNull(), report.toString());
        assertEquals(0.4, report.path("duration").asDouble(), 1e-9, "the dataset's fragment length: " + report);
        assertEquals(ds.toAbsolutePath().normalize().toString(), report.path("dataset").asText());
        assertTrue(eval.err().contains("warning: a / musicgen-ti: reference only"), "warnings on the console too: " + eval.err());
    }

    /** Friction: concept folder names were checked only by train, after all the encoding. */
    @Test
    void prepareChecksConceptNamesBeforeEncoding() throws Exception {
        Path clips = TrainCommandTest.clips(tmp.resolve("names"));
        Files.move(clips.resolve("b"), clips.resolve("my band"));
        Path ds = tmp.resolve("names/ds");
        assertUserError(Cli.run("prepare", clips.toString(), "--dataset", ds.toString(), "--model", "nobody/never-downloaded"),
                "my band (rename the folder)", "letters A-Z and a-z, digits, '.', '_' and '-'");
        assertFalse(Files.exists(ds));
    }

    /** Friction: inspecting a concepts file needed Python. */
    @Test
    void infoDescribesAConceptsFile() {
        Cli.Run r = Cli.run("info", concepts.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("concepts   [\"clicks\"]") && r.out().contains("<clicks_1>") && r.out().contains("clicks           2 x 24"), r.out());
        assertTrue(r.out().contains("base model " + model) && r.out().contains("epoch      1 (step 1)"), r.out());
        assertUserError(Cli.run("info", model.resolve("config.json").toString()), "config.json");
    }

    /** Friction: a broken config.json leaked the JSON parser's wording. */
    @Test
    void aBrokenConfigSaysWhereNotHowTheParserFailed() throws IOException {
        Path broken = Files.createDirectories(tmp.resolve("broken-model"));
        Files.writeString(broken.resolve("config.json"), "{\n  \"model_type\": \"musicgen\",\n  }\n");
        Cli.Run r = Cli.run("info", "--model", broken.toString());
        assertUserError(r, broken.resolve("config.json") + ": not valid JSON at line 3, column 3");
        assertFalse(r.err().contains("Unexpected character"), r.err());
    }

    private static Path dataset;

    /** The two-concept sine dataset of TrainCommandTest, prepared once. */
    static synchronized Path dataset() {
        if (dataset == null) {
            try {
                dataset = TrainCommandTest.preparedDataset(tmp.resolve("prepared"), model);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return dataset;
    }

    static List<JsonNode> jsonLines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) out.add(JSON.readTree(line));
        return out;
    }
}
