package ai.musicgenti.cli;

import ai.musicgenti.audio.Wav;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.data.PreparedDataset;
import ai.musicgenti.eval.ClapEmbedder;
import ai.musicgenti.eval.ClapWindows;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.train.LearnedConcepts;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static ai.musicgenti.cli.TrainCommandTest.concat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Evaluation on the tiny golden MusicGen and CLAP: during training (best file, early stopping) and as `eval`. */
class EvalCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void evaluatesDuringTrainingAndFromTheCommandLine(@TempDir Path dir) throws Exception {
        Path model = Golden.firstOfKind("musicgen_generate").dir();
        String clap = Golden.firstOfKind("clap_audio").dir().toString();
        Path ds = TrainCommandTest.preparedDataset(dir, model);
        // descriptions for the CLAP score: the dataset's own file during training, --descriptions for eval below
        // (the tiny CLAP gets a word-level tokenizer that fits its 99-token vocabulary)
        Files.writeString(ds.resolve("metadata_concepts.json"), "{\"a\": \"slow piano\"}");
        Path clapText = clapWithTokenizer(Path.of(clap), dir.resolve("clap-text"));
        String[] common = {"--model", model.toString(), "--dataset", ds.toString(), "--out", dir.resolve("models").toString(),
                "--runs", dir.resolve("runs").toString(), "--music-len", "16", "--tokens", "2", "--batch-size", "4",
                "--clap", clapText.toString(), "--cache", dir.resolve("cache").toString(), "--eval-duration", "0.3", "--device", "cpu"};
        Cli.Run train = Cli.run(concat(new String[]{"train", "--concepts", "a", "b", "--epochs", "2", "--run", "r",
                "--eval-every", "1", "--eval-clips", "2"}, common));
        assertEquals(0, train.code(), train.err());
        List<JsonNode> evals = lines(dir.resolve("runs/r/metrics.jsonl"), "eval");
        assertEquals(2, evals.size(), "one evaluation per epoch");
        for (JsonNode e : evals) {
            for (String c : List.of("a", "b")) {
                assertTrue(Double.isFinite(e.path("concepts").path(c).path("fad").asDouble(Double.NaN)), e.toString());
                assertTrue(e.path("concepts").path(c).path("kncc").isNumber(), e.toString());
            }
            assertTrue(Double.isFinite(e.path("concepts").path("a").path("clap_score").asDouble(Double.NaN)), e.toString());
            assertTrue(e.path("concepts").path("b").path("clap_score").isMissingNode(), "b has no description: " + e);
        }
        Path best = dir.resolve("models/my-ds/r.best.safetensors");
        assertTrue(Files.exists(best));
        try (ModelFolder folder = ModelFolder.open(model)) {
            LearnedConcepts loaded = LearnedConcepts.load(best, folder);
            assertEquals(List.of("a", "b"), List.copyOf(loaded.tokenCounts().keySet()));
            assertTrue(loaded.info().metricsJson().contains("best_fad"), loaded.info().metricsJson());
        }
        assertTrue(Files.exists(dir.resolve("runs/r/eval/epoch-001/eval.json")));

        // eval from the command line, beside another "system": plain sine clips of each concept
        Path descriptions = dir.resolve("descriptions.json");
        Files.writeString(descriptions, "{\"a\": \"a low calm hum\", \"b\": \"a bright high whistle\"}");
        Path other = dir.resolve("baseline");
        for (String c : List.of("a", "b")) {
            for (int i = 0; i < 3; i++) {
                float[] x = new float[16000];
                for (int n = 0; n < x.length; n++) x[n] = (float) (0.3 * Math.sin(2 * Math.PI * (300 + 200 * i) * n / 32000.0));
                Wav.write(other.resolve(c).resolve("clip" + i + ".wav"), new float[][]{x}, 32000, Wav.Format.PCM16);
            }
        }
        Path concepts = dir.resolve("models/my-ds/r.safetensors");
        Path out = dir.resolve("eval");
        String[] evalArgs = {"eval", "--concepts", concepts.toString(), "--dataset", ds.toString(), "--model", model.toString(),
                "--per-concept", "4", "--duration", "0.3", "--clap", clapText.toString(), "--cache", dir.resolve("cache").toString(),
                "--other", other.toString(), "--out", out.toString(), "--device", "cpu", "--descriptions", descriptions.toString(), "--inf"};
        Cli.Run run = Cli.run(evalArgs);
        assertEquals(0, run.code(), run.err());
        JsonNode report = JSON.readTree(out.resolve("eval.json").toFile());
        assertTrue(report.path("windowing").asText().contains("10 s"), report.toString());
        for (String c : List.of("a", "b")) {
            JsonNode concept = report.path("concepts").path(c);
            assertTrue(concept.path("train_fragments").asInt() > 0, concept.toString());
            for (String system : List.of("musicgen-ti", "baseline")) {
                JsonNode s = concept.path("systems").path(system);
                assertEquals(system.equals("baseline") ? 3 : 4, s.path("clips").asInt(), system + ": " + s);
                for (String metric : List.of("fad", "kncc", "knco", "clap_score")) {
                    assertTrue(s.path(metric).isNumber() && Double.isFinite(s.path(metric).asDouble()), system + " " + metric + ": " + s);
                }
                assertTrue(s.path("warnings").toString().contains("rank-deficient"), "a few windows of 32-dim embeddings: " + s);
            }
            // 0.3 s generated and 0.5 s baseline clips against 0.4 s fragments: the length mismatch is named
            assertTrue(concept.path("systems").path("musicgen-ti").path("warnings").toString().contains("clips last 0.3 s on average but the reference fragments 0.4 s"), concept.toString());
            assertTrue(concept.path("systems").path("baseline").path("warnings").toString().contains("clips last 0.5 s"), concept.toString());
            // FAD-inf needs 4 windows: the 4 generated clips have it, the baseline's 3 say why not
            assertTrue(Double.isFinite(concept.path("systems").path("musicgen-ti").path("fad_inf").asDouble(Double.NaN)), concept.toString());
            assertTrue(concept.path("systems").path("baseline").path("warnings").toString().contains("no FAD-inf"), concept.toString());
            assertEquals(4, Files.list(out.resolve(c)).filter(p -> p.toString().endsWith(".wav")).count());
        }
        // the CLAP score pairs each concept with its own description: recompute the reference one here
        try (ClapEmbedder embedder = ClapEmbedder.load(clapText, ClapWindows.SINGLE, Compute.cpu(), dir.resolve("cache2"))) {
            PreparedDataset data = PreparedDataset.open(ds);
            for (var e : java.util.Map.of("a", "a low calm hum", "b", "a bright high whistle").entrySet()) {
                float[] text = embedder.embedTexts(List.of(e.getValue()))[0];
                double sum = 0;
                int n = 0;
                for (var f : java.util.stream.Stream.concat(data.train().stream(), data.valid().stream()).toList()) {
                    if (!f.concept().equals(e.getKey())) continue;
                    for (float[] row : embedder.embed(data.audio(f))) {
                        for (int i = 0; i < text.length; i++) sum += (double) text[i] * row[i];
                        n++;
                    }
                }
                JsonNode concept = report.path("concepts").path(e.getKey());
                assertEquals(e.getValue(), concept.path("description").asText());
                assertEquals(sum / n, concept.path("reference_clap_score").asDouble(), 1e-5, concept.toString());
            }
        }
        String md = Files.readString(out.resolve("eval.md"));
        assertTrue(md.contains("| a | musicgen-ti | 4 |") && md.contains("| b | baseline | 3 |"), md);
        assertTrue(md.contains("| a | a low calm hum |"), md);

        // descriptions with a CLAP checkpoint that has no text tokenizer: refused before anything is generated
        String[] noTokenizer = evalArgs.clone();
        noTokenizer[java.util.Arrays.asList(evalArgs).indexOf(clapText.toString())] = clap;
        Cli.Run refused = Cli.run(noTokenizer);
        assertEquals(1, refused.code(), refused.err());
        assertEquals(1, refused.err().strip().lines().count(), refused.err());
        assertTrue(refused.err().contains("tokenizer.json"), refused.err());

        // bad inputs: one line, exit 1
        Cli.Run missing = Cli.run(concat(new String[]{"eval", "--concepts", dir.resolve("nope.safetensors").toString()},
                java.util.Arrays.copyOfRange(evalArgs, 3, evalArgs.length)));
        assertEquals(1, missing.code());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
        assertTrue(missing.err().contains("nope.safetensors"), missing.err());

        Path renamed = withoutConcept(ds, dir.resolve("other-ds"), "a");
        String[] noConcept = evalArgs.clone();
        noConcept[4] = renamed.toString();
        Cli.Run absent = Cli.run(noConcept);
        assertEquals(1, absent.code());
        assertEquals(1, absent.err().strip().lines().count(), absent.err());
        assertTrue(absent.err().contains("concept a"), absent.err());
    }

    /**
     * The tiny golden CLAP plus a word-level tokenizer.json in RoBERTa's layout whose ids fit the tiny text tower's 99
     * rows. (Byte-level BPE, the real one, needs 256 ids for its alphabet alone; its ids are checked against
     * transformers in native's RobertaTokenizerTest.)
     */
    static Path clapWithTokenizer(Path golden, Path dest) throws Exception {
        Files.createDirectories(dest);
        for (String f : List.of("config.json", "preprocessor_config.json", "weights.safetensors")) {
            Files.createSymbolicLink(dest.resolve(f), golden.resolve(f).toAbsolutePath());
        }
        ObjectNode vocab = JSON.createObjectNode();
        String[] specials = {"<s>", "<pad>", "</s>", "<unk>"};
        for (int i = 0; i < specials.length; i++) vocab.put(specials[i], i);
        String[] words = "a an the low high calm bright hum whistle music song slow fast piano synth drums".split(" ");
        for (int i = 0; i < words.length; i++) vocab.put(words[i], specials.length + i);
        ObjectNode tok = JSON.createObjectNode();
        tok.put("version", "1.0");
        var added = tok.putArray("added_tokens");
        for (int i = 0; i < specials.length; i++) {
            added.addObject().put("id", i).put("content", specials[i]).put("single_word", false).put("lstrip", false)
                    .put("rstrip", false).put("normalized", false).put("special", true);
        }
        tok.putObject("normalizer").put("type", "Lowercase");
        tok.putObject("pre_tokenizer").put("type", "Whitespace");
        ObjectNode post = tok.putObject("post_processor");
        post.put("type", "RobertaProcessing");
        post.putArray("sep").add("</s>").add(2);
        post.putArray("cls").add("<s>").add(0);
        post.put("trim_offsets", true).put("add_prefix_space", false);
        ObjectNode model = tok.putObject("model");
        model.put("type", "WordLevel");
        model.set("vocab", vocab);
        model.put("unk_token", "<unk>");
        Files.writeString(dest.resolve("tokenizer.json"), JSON.writeValueAsString(tok));
        return dest;
    }

    /** Trains run "r" of concept "a" (2 tokens, 16 frames) into dir/models and dir/runs, with more options. */
    private static void trainRunR(Path dir, Path model, Path ds, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of("train", "--model", model.toString(), "--dataset", ds.toString(),
                "--out", dir.resolve("models").toString(), "--runs", dir.resolve("runs").toString(), "--music-len", "16",
                "--tokens", "2", "--concepts", "a", "--run", "r", "--device", "cpu"));
        args.addAll(List.of(more));
        Cli.Run train = Cli.run(args.toArray(String[]::new));
        assertEquals(0, train.code(), train.err());
    }

    @Test
    void anotherSystemsLongClipsAreCountedAsClipsNotWindows(@TempDir Path dir) throws Exception {
        Path model = Golden.firstOfKind("musicgen_generate").dir();
        String clap = Golden.firstOfKind("clap_audio").dir().toString();
        Path ds = TrainCommandTest.preparedDataset(dir, model);
        trainRunR(dir, model, ds, "--epochs", "1");
        // 25 s clips: each several 10 s CLAP windows
        Path other = dir.resolve("baseline");
        for (int i = 0; i < 2; i++) {
            float[] x = new float[25 * 32000];
            for (int n = 0; n < x.length; n++) x[n] = (float) (0.3 * Math.sin(2 * Math.PI * (300 + 200 * i) * n / 32000.0));
            Wav.write(other.resolve("a").resolve("clip" + i + ".wav"), new float[][]{x}, 32000, Wav.Format.PCM16);
        }
        Path out = dir.resolve("eval");
        Cli.Run run = Cli.run("eval", "--concepts", dir.resolve("models/my-ds/r.safetensors").toString(), "--dataset", ds.toString(),
                "--model", model.toString(), "--per-concept", "2", "--duration", "0.3", "--clap", clap, "--cache", dir.resolve("cache").toString(),
                "--other", other.toString(), "--out", out.toString(), "--device", "cpu");
        assertEquals(0, run.code(), run.err());
        JsonNode baseline = JSON.readTree(out.resolve("eval.json").toFile()).path("concepts").path("a").path("systems").path("baseline");
        assertEquals(2, baseline.path("clips").asInt(), baseline.toString());
        assertTrue(baseline.path("windows").asInt() > 2, baseline.toString());
        assertTrue(Files.readString(out.resolve("eval.md")).contains("| a | baseline | 2 |"), Files.readString(out.resolve("eval.md")));
    }

    /** --eval-cfg is the guidance of the evaluation clips: the model's own 3.0 gives the clips of no flag, 1.0 others; the run keeps it. */
    @Test
    void evalCfgSetsTheGuidanceOfTheEvaluationClips(@TempDir Path dir) throws Exception {
        Path model = Golden.firstOfKind("musicgen_generate").dir();
        String clap = Golden.firstOfKind("clap_audio").dir().toString();
        Path ds = TrainCommandTest.preparedDataset(dir, model);
        String[] eval = {"--epochs", "1", "--eval-every", "1", "--eval-clips", "2", "--eval-duration", "0.3", "--clap", clap,
                "--cache", dir.resolve("cache").toString()};
        trainRunR(dir.resolve("none"), model, ds, eval);
        trainRunR(dir.resolve("three"), model, ds, concat(eval, new String[]{"--eval-cfg", "3.0"}));
        trainRunR(dir.resolve("one"), model, ds, concat(eval, new String[]{"--eval-cfg", "1.0"}));
        byte[] none = Files.readAllBytes(dir.resolve("none/runs/r/eval/epoch-001/a/000.wav"));
        assertArrayEquals(none, Files.readAllBytes(dir.resolve("three/runs/r/eval/epoch-001/a/000.wav")), "3.0 is the model's own guidance");
        assertFalse(java.util.Arrays.equals(none, Files.readAllBytes(dir.resolve("one/runs/r/eval/epoch-001/a/000.wav"))), "1.0 turns guidance off");
        try (Safetensors st = Safetensors.open(dir.resolve("one/runs/r/checkpoint.safetensors"))) {
            assertEquals("1.0", JSON.readTree(st.metadata().get("eval_config")).path("cfg").asText(), "stored for --resume");
        }
    }

    @Test
    void stopsEarlyWhenNoConceptImproves(@TempDir Path dir) throws Exception {
        Path model = Golden.firstOfKind("musicgen_generate").dir();
        String clap = Golden.firstOfKind("clap_audio").dir().toString();
        Path ds = TrainCommandTest.preparedDataset(dir, model);
        // a rate far below a float's resolution: the rows never change, so neither do the clips nor their FAD
        trainRunR(dir, model, ds, "--epochs", "5", "--lr", "1e-30", "--eval-every", "1", "--eval-clips", "2", "--eval-duration", "0.3",
                "--patience", "1", "--clap", clap, "--cache", dir.resolve("cache").toString());
        Path metrics = dir.resolve("runs/r/metrics.jsonl");
        assertEquals(2, lines(metrics, "epoch").size(), "the first evaluation sets the best, the second does not improve it: stop");
        List<JsonNode> evals = lines(metrics, "eval");
        assertEquals(2, evals.size());
        assertEquals(evals.get(0).path("concepts").path("a").path("fad").asDouble(), evals.get(1).path("concepts").path("a").path("fad").asDouble());
        assertEquals(1, evals.get(1).path("stale").asInt());
        try (ModelFolder folder = ModelFolder.open(model)) {
            assertEquals(2, LearnedConcepts.load(dir.resolve("models/my-ds/r.safetensors"), folder).info().epoch());
            LearnedConcepts.Info best = LearnedConcepts.load(dir.resolve("models/my-ds/r.best.safetensors"), folder).info();
            assertEquals(1, best.epoch(), "best of epoch 1");
            // one epoch convention in every output: the best rows name the epoch as metrics.jsonl's lines do
            int bestEpoch = JSON.readTree(best.metricsJson()).path("best_epoch").path("a").asInt(-1);
            assertEquals(evals.get(0).path("epoch").asInt(), bestEpoch, best.metricsJson());
            assertEquals(lines(metrics, "epoch").get(0).path("epoch").asInt(), bestEpoch, best.metricsJson());
        }
        // resuming keeps the evaluation state: one more epoch without improvement stops again at once
        assertEquals(0, Cli.run("train", "--resume", "r", "--model", model.toString(), "--dataset", ds.toString(),
                "--out", dir.resolve("models").toString(), "--runs", dir.resolve("runs").toString(), "--device", "cpu",
                "--cache", dir.resolve("cache").toString()).code());
        List<JsonNode> after = lines(metrics, "eval");
        assertEquals(3, after.size(), "resumed with the stored --eval-every");
        assertEquals(2, after.get(2).path("stale").asInt(), "the stale count survived the checkpoint");
        assertFalse(after.get(2).path("improved").elements().hasNext());
    }

    @Test
    void benchEvalPrintsEmbeddingThroughput() throws Exception {
        String clap = Golden.firstOfKind("clap_audio").dir().toString();
        Cli.Run r = Cli.run("bench", "eval", "--clap", clap, "--clips", "2", "--seconds", "12", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("2 clips x 12.0 s \\(4 windows of 10 s\\): ([0-9.]+) audio s embedded per s").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertTrue(Double.parseDouble(m.group(1)) > 0, r.out());
    }

    private static List<JsonNode> lines(Path metrics, String type) throws Exception {
        List<JsonNode> out = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            JsonNode n = JSON.readTree(line);
            if (n.path("type").asText().equals(type)) out.add(n);
        }
        return out;
    }

    /** A copy of a prepared dataset with concept {@code name} renamed away (its fragments belong to "z"). */
    private static Path withoutConcept(Path ds, Path copy, String name) throws Exception {
        try (var files = Files.walk(ds)) {
            for (Path p : files.toList()) {
                Path target = copy.resolve(ds.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
        for (String meta : List.of("metadata_train.json", "metadata_valid.json")) {
            Path f = copy.resolve(meta);
            if (!Files.exists(f)) continue;
            JsonNode root = JSON.readTree(f.toFile());
            for (JsonNode fragment : root.path("fragments")) {
                if (fragment.path("concept").asText().equals(name)) ((ObjectNode) fragment).put("concept", "z");
            }
            JSON.writeValue(f.toFile(), root);
        }
        return copy;
    }
}
