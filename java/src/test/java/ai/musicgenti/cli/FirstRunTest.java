package ai.musicgenti.cli;

import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.text.ConceptPrompts;
import ai.musicgenti.train.LearnedConcepts;
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
