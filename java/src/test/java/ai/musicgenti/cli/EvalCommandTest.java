package ai.musicgenti.cli;

import ai.musicgenti.audio.Wav;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.data.PreparedDataset;
import ai.musicgenti.eval.ClapEmbedder;
import ai.musicgenti.eval.ClapWindows;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.concepts.LearnedConcepts;
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
                "--eval-every", "1", "--eval-clips", "2", "--windows", "fadtk"}, common));
        assertEquals(0, train.code(), train.err());
        List<JsonNode> evals = lines(dir.resolve("runs/r/metrics.jsonl"), "eval");
        assertEquals(2, evals.size(), "one evaluation per epoch");
        String clapSha = ai.musicgenti.core.Caches.sha256(Path.of(clap).resolve("weights.safetensors"));
        for (JsonNode e : evals) {
            // every metrics line names what produced its numbers
            assertEquals("fadtk", e.path("eval_config").path("windows").asText(), e.toString());
            assertEquals(clapSha, e.path("eval_config").path("clap_weights_sha256").asText(), e.toString());
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
        JsonNode epoch1 = JSON.readTree(dir.resolve("runs/r/eval/epoch-001/eval.json").toFile());
        assertEquals("fadtk", epoch1.path("windows").asText(), epoch1.toString());
        assertEquals(clapSha, epoch1.path("clap").path("weights_sha256").asText(), epoch1.toString());
        assertEquals(2, epoch1.path("concepts").path("a").path("systems").path("musicgen-ti").path("clips").asInt(), epoch1.toString());
        assertTrue(Files.readString(dir.resolve("runs/r/eval/epoch-001/eval.md")).contains("windows fadtk: one CLAP embedding per 10 s window every 1 s"));
        Cli.Run badTrainWindows = Cli.run(concat(new String[]{"train", "--concepts", "a", "--epochs", "1", "--run", "r2",
                "--eval-every", "1", "--windows", "sliding"}, common));
        assertEquals(1, badTrainWindows.code());
        assertEquals(1, badTrainWindows.err().strip().lines().count(), badTrainWindows.err());
        assertTrue(badTrainWindows.err().contains("--windows sliding: use fadtk"), badTrainWindows.err());

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
        // the default windowing, the checkpoint's identity and the per-clip rule are recorded
        assertEquals("fadtk", report.path("windows").asText(), report.toString());
        assertTrue(report.path("windowing").asText().contains("every 1 s"), report.toString());
        assertEquals(clapText.toRealPath().toString(), report.path("clap").path("id").asText(), report.toString());
        assertEquals(clapSha, report.path("clap").path("weights_sha256").asText(), report.toString());
        assertTrue(report.path("clap").path("revision").isNull(), "a local folder has no hub revision: " + report);
        assertTrue(report.path("per_clip").asText().contains("one embedding per clip"), report.toString());
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
            // FAD-inf by fad --inf's procedure, with its fit, over each system's windows (sub-second clips: one window each)
            for (String system : List.of("musicgen-ti", "baseline")) {
                JsonNode s = concept.path("systems").path(system);
                int windows = system.equals("baseline") ? 3 : 4;
                assertEquals(windows, s.path("windows").asInt(), s.toString());
                assertTrue(Double.isFinite(s.path("fad_inf").asDouble(Double.NaN)), s.toString());
                assertTrue(s.path("fad_inf_slope").isNumber() && s.path("fad_inf_r2").isNumber(), s.toString());
                assertEquals("fadtk score_inf: 25 sizes linspace(500, " + windows + ") drawn with replacement, seed 0, fit in 1/N",
                        s.path("fad_inf_procedure").asText(), s.toString());
            }
            assertEquals(4, Files.list(out.resolve(c)).filter(p -> p.toString().endsWith(".wav")).count());
        }
        // the CLAP score pairs each concept with its own description, one embedding per fragment: recompute it here
        try (ClapEmbedder embedder = ClapEmbedder.load(clapText, ClapWindows.FADTK, Compute.cpu(), dir.resolve("cache2"))) {
            PreparedDataset data = PreparedDataset.open(ds);
            for (var e : java.util.Map.of("a", "a low calm hum", "b", "a bright high whistle").entrySet()) {
                float[] text = embedder.embedTexts(List.of(e.getValue()))[0];
                double sum = 0;
                int n = 0;
                for (var f : java.util.stream.Stream.concat(data.train().stream(), data.valid().stream()).toList()) {
                    if (!f.concept().equals(e.getKey())) continue;
                    float[] clip = ClapEmbedder.clipEmbedding(embedder.embed(data.audio(f)));
                    for (int i = 0; i < text.length; i++) sum += (double) text[i] * clip[i];
                    n++;
                }
                JsonNode concept = report.path("concepts").path(e.getKey());
                assertEquals(e.getValue(), concept.path("description").asText());
                assertEquals(sum / n, concept.path("reference_clap_score").asDouble(), 1e-5, concept.toString());
            }
        }
        String md = Files.readString(out.resolve("eval.md"));
        assertTrue(md.contains("| a | musicgen-ti | 4 | 4 |") && md.contains("| b | baseline | 3 | 3 |"), md);
        assertTrue(md.contains("weights sha256 " + clapSha) && md.contains("FAD∞"), md);

        String[] badWindows = concat(evalArgs, new String[]{"--windows", "overlap"});
        Cli.Run refusedWindows = Cli.run(badWindows);
        assertEquals(1, refusedWindows.code());
        assertEquals(1, refusedWindows.err().strip().lines().count(), refusedWindows.err());
        assertTrue(refusedWindows.err().contains("--windows overlap: use fadtk"), refusedWindows.err());
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

    /**
     * 25 s clips of another system: 25 fadtk windows or 3 single ones each, counted as clips, and scored per clip by
     * kNCC, kNCO and the CLAP score (one embedding per clip), while FAD takes every window.
     */
    @Test
    void anotherSystemsLongClipsAreCountedAsClipsNotWindows(@TempDir Path dir) throws Exception {
        Path model = Golden.firstOfKind("musicgen_generate").dir();
        Path clap = clapWithTokenizer(Golden.firstOfKind("clap_audio").dir(), dir.resolve("clap"));
        Path ds = TrainCommandTest.preparedDataset(dir, model);
        trainRunR(dir, model, ds, "--epochs", "1");
        Path other = dir.resolve("baseline");
        for (int i = 0; i < 2; i++) {
            float[] x = new float[25 * 32000];
            for (int n = 0; n < x.length; n++) x[n] = (float) (0.3 * Math.sin(2 * Math.PI * (300 + 200 * i) * n / 32000.0 * (1 + n / 4e5)));
            Wav.write(other.resolve("a").resolve("clip" + i + ".wav"), new float[][]{x}, 32000, Wav.Format.PCM16);
        }
        Path descriptions = dir.resolve("descriptions.json");
        Files.writeString(descriptions, "{\"a\": \"a low calm hum\"}");
        for (ClapWindows mode : ClapWindows.values()) {
            Path out = dir.resolve("eval-" + mode.id());
            Cli.Run run = Cli.run("eval", "--concepts", dir.resolve("models/my-ds/r.safetensors").toString(), "--dataset", ds.toString(),
                    "--model", model.toString(), "--per-concept", "2", "--duration", "0.3", "--clap", clap.toString(), "--cache",
                    dir.resolve("cache").toString(), "--other", other.toString(), "--out", out.toString(), "--device", "cpu",
                    "--windows", mode.id(), "--descriptions", descriptions.toString());
            assertEquals(0, run.code(), run.err());
            JsonNode report = JSON.readTree(out.resolve("eval.json").toFile());
            assertEquals(mode.id(), report.path("windows").asText());
            JsonNode baseline = report.path("concepts").path("a").path("systems").path("baseline");
            assertEquals(2, baseline.path("clips").asInt(), baseline.toString());
            assertEquals(mode == ClapWindows.FADTK ? 2 * 25 : 2 * 3, baseline.path("windows").asInt(), mode + ": " + baseline);
            assertTrue(Files.readString(out.resolve("eval.md")).contains("| a | baseline | 2 | " + baseline.path("windows").asInt() + " |"),
                    Files.readString(out.resolve("eval.md")));
            // the CLAP score is the mean over clips of each clip's mean window, not the mean over windows
            try (ClapEmbedder embedder = ClapEmbedder.load(clap, mode, Compute.cpu(), dir.resolve("cache-" + mode.id()))) {
                float[] text = embedder.embedTexts(List.of("a low calm hum"))[0];
                double perClip = 0, perWindow = 0;
                int windows = 0;
                for (Path f : ai.musicgenti.audio.AudioDecoder.audioFiles(other.resolve("a"))) {
                    float[][] rows = embedder.embed(f);
                    perClip += ClapEmbedder.score(text, new float[][]{ClapEmbedder.clipEmbedding(rows)}) / 2;
                    perWindow += ClapEmbedder.score(text, rows) * rows.length;
                    windows += rows.length;
                }
                perWindow /= windows;
                assertEquals(perClip, baseline.path("clap_score").asDouble(), 1e-5, baseline.toString());
                assertTrue(Math.abs(perClip - perWindow) > 1e-4, "the two readings differ on these clips, so the check above can fail: "
                        + perClip + " " + perWindow);
            }
        }
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
        // the run keeps the windowing its best FADs were measured with
        Cli.Run otherWindows = Cli.run("train", "--resume", "r", "--model", model.toString(), "--dataset", ds.toString(),
                "--out", dir.resolve("models").toString(), "--runs", dir.resolve("runs").toString(), "--device", "cpu",
                "--cache", dir.resolve("cache").toString(), "--windows", "single");
        assertEquals(1, otherWindows.code());
        assertEquals(1, otherWindows.err().strip().lines().count(), otherWindows.err());
        assertTrue(otherWindows.err().contains("--windows single: the run measured its best FADs with fadtk windows"), otherWindows.err());
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
