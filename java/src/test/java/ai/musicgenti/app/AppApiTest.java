package ai.musicgenti.app;

import ai.musicgenti.audio.Wav;
import ai.musicgenti.cli.TrainCommandTest;
import ai.musicgenti.pipeline.ModelChoice;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.sweep.LeaderboardTest;
import ai.musicgenti.sweep.SweepFolder;
import ai.musicgenti.sweep.TrialState;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static ai.musicgenti.app.AppClient.ok;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The API as the page and scripts use it, over real HTTP on loopback, with the tiny golden MusicGen. */
class AppApiTest {
    @TempDir
    static Path dir;
    static AppServer server;
    static AppClient client;

    @BeforeAll
    static void start() throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        TrainCommandTest.clips(data);
        server = AppServer.start(AppServer.Settings.builder().data(data).models(dir.resolve("models")).runs(dir.resolve("runs"))
                .port(0).model(ModelChoice.defaults().withModel(Golden.firstOfKind("musicgen_generate").dir().toString()))
                .clap(Golden.firstOfKind("clap_audio").dir().toString()).build());
        client = new AppClient(server.port(), Map.of());
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    /** Prepare, train live, stop, queue, resume, generate and fetch the WAV: the whole path a page takes. */
    @Test
    void preparesTrainsStopsResumesAndGenerates() throws Exception {
        awaitPrepared();
        JsonNode ds = ok(client.get("/api/datasets"), 200).path("datasets").get(0);
        assertEquals("prepared/my-ds", ds.path("path").asText());
        assertEquals(List.of("a", "b"), List.of(ds.path("concepts").get(0).path("name").asText(), ds.path("concepts").get(1).path("name").asText()));

        AppClient.Events first = client.events(), second = client.events();
        JsonNode train = ok(client.post("/api/train", Map.of("dataset", "prepared/my-ds", "concepts", List.of("a", "b"), "tokens", 2,
                "epochs", 1000, "music_len", 16, "run", "r")), 202);
        String trainJob = train.path("id").asText();
        // both clients see the same live training: steps, then a whole epoch; the concepts file exists once epoch 2 steps
        for (AppClient.Events e : List.of(first, second)) {
            JsonNode step = e.await(ev -> ev.type().equals("step"), 120).data();
            assertEquals("r", step.path("run").asText());
            assertTrue(step.path("loss").isNumber() && step.path("steps_per_second").isNumber(), step.toString());
        }
        first.await(ev -> ev.type().equals("epoch"), 120);
        first.await(ev -> ev.type().equals("step") && ev.data().path("epoch").asInt() >= 2, 120);

        // the device is busy: a generation waits in the visible queue behind the run
        JsonNode gen = ok(client.post("/api/generate", Map.of("concepts_files", List.of("my-ds/r.safetensors"), "concepts", List.of("a", "b"),
                "template", "music in the style of %s", "count", 2, "duration", 0.3, "seed", 3)), 202);
        String genJob = gen.path("id").asText();
        assertEquals("queued", gen.path("state").asText());
        assertEquals(1, gen.path("position").asInt());
        JsonNode jobs = ok(client.get("/api/jobs"), 200).path("jobs");
        assertTrue(jobs.toString().contains("\"id\":\"" + genJob + "\""), jobs.toString());
        assertEquals("running", client.get("/api/jobs/" + trainJob).json().path("state").asText());

        ok(client.post("/api/runs/r/stop", Map.of()), 202);
        JsonNode stopped = client.awaitJob(trainJob, 120);
        assertEquals("cancelled", stopped.path("state").asText());
        int done = stopped.path("result").path("epochs_done").asInt();
        assertTrue(done >= 1 && done < 1000, stopped.toString());
        assertTrue(Files.exists(dir.resolve("runs/r/checkpoint.safetensors")));

        JsonNode generated = client.awaitJob(genJob, 120);
        assertEquals("done", generated.path("state").asText(), generated.toString());
        JsonNode files = generated.path("result").path("files");
        assertEquals(4, files.size(), "two clips for each of two concepts");
        assertEquals("music in the style of <b>", files.get(3).path("prompt").asText());
        AppClient.Reply wav = client.get("/api/files/runs/" + files.get(0).path("path").asText());
        assertEquals(200, wav.status());
        assertEquals("audio/wav", wav.raw().headers().firstValue("Content-Type").orElse(""));
        Path copy = dir.resolve("fetched.wav");
        Files.write(copy, wav.raw().body());
        assertEquals(15 * 640, Wav.read(copy).frames(), "0.3 s at the golden model's 50 Hz and 640 samples a frame");
        first.await(ev -> ev.type().equals("result") && ev.data().path("job").asText().equals(genJob), 30);
        // a player seeking: the bytes from an offset on, and a range past the end refused
        String wavPath = "/api/files/runs/" + files.get(0).path("path").asText();
        AppClient.Reply part = client.send(client.request(wavPath).header("Range", "bytes=44-").GET().build());
        assertEquals(206, part.status());
        byte[] whole = wav.raw().body();
        assertEquals(java.util.Arrays.toString(java.util.Arrays.copyOfRange(whole, 44, whole.length)), java.util.Arrays.toString(part.raw().body()));
        assertEquals("bytes 44-" + (whole.length - 1) + "/" + whole.length, part.raw().headers().firstValue("Content-Range").orElse(""));
        assertEquals(416, client.send(client.request(wavPath).header("Range", "bytes=" + whole.length + "-").GET().build()).status());

        // the run shows its curve; resume by extending it one epoch, from where it stopped
        JsonNode run = ok(client.get("/api/runs/r"), 200);
        assertEquals(done, run.path("epochs").size());
        assertTrue(run.path("steps").size() > 0);
        JsonNode resumed = ok(client.post("/api/runs/r/resume", Map.of("extend", 1)), 202);
        JsonNode after = client.awaitJob(resumed.path("id").asText(), 120);
        assertEquals("done", after.path("state").asText(), after.toString());
        assertEquals(done + 1, after.path("result").path("epochs_done").asInt());
        JsonNode listed = ok(client.get("/api/concepts-files"), 200);
        assertEquals("my-ds/r.safetensors", listed.get(0).path("path").asText());
        assertEquals(done + 1, listed.get(0).path("epoch").asInt());
        assertEquals(done + 1, ok(client.get("/api/runs"), 200).get(0).path("epochs_done").asInt());

        Path report = dir.resolve("report.html");
        Report.write(dir.resolve("runs/r"), report);
        String html = Files.readString(report);
        assertTrue(html.contains("RunView.render") && html.contains("\"step_count\""), "the run's data and the chart code are inline");
        assertFalse(html.matches("(?s).*(src|href)=\"https?:.*"), "nothing is loaded from elsewhere");
    }

    /** Every endpoint that takes a name, a path or a number refuses what it must not take, naming the field. */
    @Test
    void refusesTraversalAndBadParameters() throws Exception {
        Path secret = dir.resolve("secret.txt");
        Files.writeString(secret, "secret");
        Files.createDirectories(dir.resolve("runs/linked"));
        Files.createSymbolicLink(dir.resolve("runs/linked/metrics.jsonl"), secret);
        Files.createSymbolicLink(dir.resolve("runs/out.wav"), secret);
        record Case(String method, String path, Object body, int status, String says) {
        }
        List<Case> cases = new ArrayList<>(List.of(
                new Case("GET", "/api/files/runs/../secret.txt", null, 400, "'..'"),
                new Case("GET", "/api/files/runs/..%2fsecret.txt", null, 400, "encoded separator"),
                new Case("GET", "/api/files/runs/%2e%2e/secret.txt", null, 400, "'..'"),
                new Case("GET", "/api/files/runs/%252e%252e/secret.txt", null, 400, "'%'"),
                new Case("GET", "/api/files/runs/%2fetc/passwd", null, 400, "encoded separator"),
                new Case("GET", "/api/files/runs/a%5c..%5csecret.txt", null, 400, "encoded separator"),
                new Case("GET", "/api/files/runs/out.wav", null, 404, "not found"),
                new Case("GET", "/api/files/runs/linked/metrics.jsonl", null, 404, "not found"),
                new Case("GET", "/api/files/etc/passwd", null, 400, "use data, models or runs"),
                new Case("GET", "/api/files/runs/nope.wav", null, 404, "not found"),
                new Case("GET", "/api/runs/..", null, 400, "'..'"),
                new Case("GET", "/api/runs/a%00b", null, 400, "encoded separator"),
                new Case("GET", "/api/runs/nope", null, 404, "not found"),
                new Case("GET", "/api/jobs/j999", null, 404, "no such job"),
                new Case("GET", "/api/jobs/..", null, 400, "'..'"),
                new Case("GET", "/api/jobs/x1", null, 400, "job ids"),
                new Case("POST", "/api/jobs/x1/cancel", Map.of(), 400, "job ids"),
                new Case("POST", "/api/runs/..%2f..%2fx/stop", Map.of(), 400, "encoded separator"),
                new Case("POST", "/api/runs/-x/stop", Map.of(), 400, "run '-x'"),
                new Case("POST", "/api/runs/nope/resume", Map.of(), 404, "not found"),
                new Case("POST", "/api/prepare", Map.of("clips", "../..", "dataset", "x"), 400, "field clips"),
                new Case("POST", "/api/prepare", Map.of("clips", "/etc", "dataset", "x"), 400, "must be relative"),
                new Case("POST", "/api/prepare", Map.of("clips", "clips", "dataset", "../x"), 400, "field dataset"),
                new Case("POST", "/api/prepare", Map.of("clips", "clips", "dataset", "x", "fragment_seconds", -1), 400, "field fragment_seconds"),
                new Case("POST", "/api/prepare", Map.of("clips", "clips", "dataset", "x", "val_fraction", 2), 400, "field val_fraction"),
                new Case("POST", "/api/prepare", Map.of("clips", "clips", "dataset", "x", "seed", "1"), 400, "field seed"),
                new Case("POST", "/api/prepare", Map.of("clips", "clips", "dataset", "x", "bogus", 1), 400, "field bogus"),
                new Case("POST", "/api/train", Map.of("dataset", "../data", "concepts", List.of("a")), 400, "field dataset"),
                new Case("POST", "/api/train", Map.of("dataset", "clips", "concepts", List.of("a")), 400, "not a prepared dataset"),
                new Case("POST", "/api/train", Map.of("dataset", "clips/a", "concepts", List.of()), 400, "field concepts"),
                new Case("POST", "/api/train", Map.of("dataset", "clips", "concepts", List.of("a"), "epochs", 0), 400, "field epochs"),
                new Case("POST", "/api/train", Map.of("dataset", "clips", "concepts", List.of("a"), "epochs", 1.5), 400, "field epochs"),
                new Case("POST", "/api/train", Map.of("dataset", "clips", "concepts", List.of("a"), "lr", 0), 400, "field lr"),
                new Case("POST", "/api/train", Map.of("dataset", "clips", "concepts", List.of("a"), "tokens", 100000), 400, "field tokens"),
                new Case("POST", "/api/train", Map.of("dataset", "clips", "concepts", List.of("a"), "run", "../r"), 400, "field run"),
                new Case("POST", "/api/generate", Map.of("concepts_files", List.of("../secret.txt"), "prompt", "x"), 400, "'..'"),
                new Case("POST", "/api/generate", Map.of("concepts_files", List.of("nope.safetensors"), "prompt", "x"), 404, "concepts_files"),
                new Case("POST", "/api/generate", Map.of("prompt", "x", "count", 0), 400, "field count"),
                new Case("POST", "/api/generate", Map.of("prompt", "x", "duration", 1e9), 400, "field duration"),
                new Case("POST", "/api/generate", Map.of("prompt", "x", "top_p", 0), 400, "field top_p"),
                new Case("POST", "/api/generate", Map.of("prompt", "x", "top_k", -1), 400, "field top_k"),
                new Case("POST", "/api/generate", Map.of("prompt", "x", "temperature", 0), 400, "field temperature"),
                new Case("POST", "/api/generate", Map.of("prompt", "x", "guidance", -1), 400, "field guidance"),
                new Case("POST", "/api/generate", Map.of("prompt", "x", "seed", -1), 400, "field seed"),
                new Case("POST", "/api/generate", Map.of("template", "no slot", "concepts", List.of("a")), 400, "field template"),
                new Case("POST", "/api/generate", Map.of("prompt", "x\u0000"), 400, "field prompt"),
                new Case("POST", "/api/generate", Map.of(), 400, "field template"),
                new Case("POST", "/api/generate", "[1]", 400, "JSON object"),
                new Case("POST", "/api/generate", "{nope", 400, "not valid JSON"),
                new Case("POST", "/api/generate", "{\"prompt\":\"" + "x".repeat(Http.MAX_BODY) + "\"}", 413, "larger than"),
                new Case("DELETE", "/api/runs/r", null, 405, "method DELETE")));
        for (Case c : cases) {
            AppClient.Reply r = c.method.equals("GET") ? client.get(c.path)
                    : c.method.equals("POST") ? client.post(c.path, c.body)
                    : client.send(client.request(c.path).method(c.method, java.net.http.HttpRequest.BodyPublishers.noBody()).build());
            assertEquals(c.status, r.status(), c.method + " " + c.path + " " + c.body + ": " + r.body());
            assertTrue(r.error().contains(c.says), c.method + " " + c.path + ": " + r.error());
            assertFalse(r.body().contains("secret\""), "never the file's content");
        }
        AppClient.Reply plain = client.send(client.request("/api/prepare").header("Content-Type", "text/plain")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build());
        assertEquals(415, plain.status(), "a cross-site form cannot post JSON without a preflight");
        AppClient.Reply foreign = client.send(client.request("/api/train").header("Content-Type", "application/json").header("Origin", "http://evil.example")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build());
        assertEquals(403, foreign.status());
    }

    /** The sweeps list and a leaderboard in the metric's order, each trial's run readable like any run; ids are names only. */
    @Test
    void showsSweepsAndTheirLeaderboards() throws Exception {
        Path sweeps = dir.resolve("runs/sweeps");
        SweepFolder folder = LeaderboardTest.sweep(sweeps, "val_ce", "minimize",
                Arrays.asList(List.of(LeaderboardTest.epoch(1, 6.0)), List.of(LeaderboardTest.epoch(1, 5.0), LeaderboardTest.epoch(2, 3.0)), null));
        folder.write(new TrialState(1, Map.of(), TrialState.State.finished, 1, "host", 0, null, null));
        // a sweep outside runs, reached through a link, is neither listed nor served
        SweepFolder outside = LeaderboardTest.sweep(dir.resolve("outside"), "val_ce", "minimize", List.of());
        Files.createSymbolicLink(sweeps.resolve("linked"), outside.dir());

        JsonNode list = ok(client.get("/api/sweeps"), 200);
        assertEquals(1, list.size(), list.toString());
        JsonNode s = list.get(0);
        assertEquals("s", s.path("id").asText());
        assertEquals("val_ce", s.path("metric").asText());
        assertEquals("minimize", s.path("goal").asText());
        assertEquals(3, s.path("trials").asInt());
        assertEquals(1, s.path("states").path("finished").asInt(), s.toString());
        assertEquals(2, s.path("states").path("pending").asInt(), s.toString());

        JsonNode board = ok(client.get("/api/sweeps/s"), 200);
        assertEquals("val_ce", board.path("metric").asText());
        List<String> order = new ArrayList<>();
        board.path("trials").forEach(t -> order.add(t.path("run").asText()));
        assertEquals(List.of("trial-001", "trial-000", "trial-002"), order, "lowest val_ce first, no value last");
        JsonNode best = board.path("trials").get(0);
        assertEquals(3.0, best.path("value").asDouble());
        assertEquals(2, best.path("best_epoch").asInt());
        assertEquals(2, best.path("epochs").asInt());
        assertEquals("finished", best.path("state").asText());
        assertEquals(2L, best.path("parameters").path("tokens_num").asLong());
        assertEquals("sweeps/s/runs/trial-001", best.path("path").asText());
        assertTrue(best.path("has_run").asBoolean());
        assertTrue(board.path("trials").get(2).path("value").isNull());
        assertFalse(board.path("trials").get(2).path("has_run").asBoolean());

        JsonNode run = ok(client.get("/api/sweeps/s/runs/trial-001"), 200);
        assertEquals("trial-001", run.path("name").asText());
        assertEquals(2, run.path("epochs").size());

        for (String bad : List.of("/api/sweeps/..", "/api/sweeps/..%2fs", "/api/sweeps/%2e%2e", "/api/sweeps/%252e%252e", "/api/sweeps/-s",
                "/api/sweeps/s/runs/..", "/api/sweeps/s/runs/..%2f..%2fr")) {
            AppClient.Reply r = client.get(bad);
            assertEquals(400, r.status(), bad + ": " + r.body());
        }
        for (String missing : List.of("/api/sweeps/nope", "/api/sweeps/linked", "/api/sweeps/s/runs/trial-002", "/api/sweeps/s/runs/trial-999",
                "/api/sweeps/s/x", "/api/sweeps/s/runs")) {
            AppClient.Reply r = client.get(missing);
            assertEquals(404, r.status(), missing + ": " + r.body());
        }
    }

    /** The page picks the model of later jobs: a size, a hub id or a folder under --models; a bad one is a 400 naming the field. */
    @Test
    void switchesTheModelOfLaterJobs(@TempDir Path own) throws Exception {
        Path models = own.resolve("models");
        Files.createDirectories(models.resolve("tiny"));
        Files.copy(Golden.firstOfKind("musicgen_generate").dir().resolve("config.json"), models.resolve("tiny/config.json"));
        Files.createDirectories(models.resolve("empty"));
        try (AppServer app = AppServer.start(AppServer.Settings.builder().data(own.resolve("data")).models(models).runs(own.resolve("runs"))
                .port(0).build())) {
            AppClient c = new AppClient(app.port(), Map.of());
            JsonNode status = ok(c.post("/api/model", Map.of("model", "small", "device", "cpu", "dtype", "f32")), 200);
            assertEquals("facebook/musicgen-small", status.path("model").asText());
            assertEquals("cpu", status.path("device_setting").asText());
            assertEquals("f32", status.path("dtype_setting").asText());
            assertEquals("facebook/musicgen-small", ok(c.get("/api/status"), 200).path("model").asText(), "kept for later jobs");
            assertEquals(models.resolve("tiny").toRealPath().toString(), ok(c.post("/api/model", Map.of("model", "tiny")), 200).path("model").asText());
            assertEquals("cpu", ok(c.get("/api/status"), 200).path("device_setting").asText(), "an omitted device stays");
            assertEquals("someone/their-musicgen", ok(c.post("/api/model", Map.of("model", "someone/their-musicgen")), 200).path("model").asText());
            AppClient.Reply missing = c.post("/api/model", Map.of("model", "nothing-here"));
            assertEquals(404, missing.status(), "a folder that is not there, as for every path: " + missing.body());
            for (Map<String, String> bad : List.of(Map.of("model", "../models/tiny"), Map.of("model", "/etc"), Map.of("model", "empty"),
                    Map.of("model", "small", "device", "tpu"), Map.of("model", "small", "device", "cuda:x"), Map.of("model", "small", "dtype", "f64"),
                    Map.of("device", "cpu"))) {
                AppClient.Reply r = c.post("/api/model", bad);
                assertEquals(400, r.status(), bad + ": " + r.body());
                String field = bad.containsKey("device") && bad.containsKey("model") ? "field device" : bad.containsKey("dtype") ? "field dtype" : "model";
                assertTrue(r.error().contains(field), bad + ": " + r.error());
            }
            assertEquals("someone/their-musicgen", ok(c.get("/api/status"), 200).path("model").asText(), "refused choices change nothing");
        }
    }

    @Test
    void servesThePageAndItsAssetsOnly() throws Exception {
        AppClient.Reply page = client.get("/");
        assertEquals(200, page.status());
        assertTrue(page.body().contains("<script src=\"/static/app.js\">"));
        assertEquals(200, client.get("/static/charts.js").status());
        assertEquals(404, client.get("/static/secret.js").status());
        assertEquals(400, client.get("/static/..%2fAppServer.class").status());
        assertFalse(page.body().matches("(?s).*(src|href)=\"(https?:)?//.*"), "no CDN");
    }

    /** Ending the server (Ctrl-C runs this) saves the running run at the step it reached; a new server resumes it. */
    @Test
    void closingTheServerSavesTheRunningRunForResume(@TempDir Path own) throws Exception {
        Path data = own.resolve("data");
        Files.createDirectories(data);
        TrainCommandTest.clips(data);
        AppServer.Settings settings = AppServer.Settings.builder().data(data).models(own.resolve("models")).runs(own.resolve("runs"))
                .port(0).model(ModelChoice.defaults().withModel(Golden.firstOfKind("musicgen_generate").dir().toString())).build();
        long stoppedAt;
        try (AppServer first = AppServer.start(settings)) {
            AppClient c = new AppClient(first.port(), Map.of());
            assertEquals("done", c.awaitJob(ok(c.post("/api/prepare", Map.of("clips", "clips", "dataset", "ds", "fragment_seconds", 0.4,
                    "val_fraction", 0.25)), 202).path("id").asText(), 120).path("state").asText());
            AppClient.Events events = c.events();
            ok(c.post("/api/train", Map.of("dataset", "prepared/ds", "concepts", List.of("a"), "tokens", 2, "epochs", 1000, "music_len", 16,
                    "batch_size", 1, "run", "k")), 202);
            events.await(ev -> ev.type().equals("step") && ev.data().path("epoch").asInt() >= 2, 120);
        }
        try (var st = ai.musicgenti.core.Safetensors.open(own.resolve("runs/k/checkpoint.safetensors"))) {
            stoppedAt = Long.parseLong(st.metadata().get("step"));
        }
        try (AppServer second = AppServer.start(settings)) {
            AppClient c = new AppClient(second.port(), Map.of());
            JsonNode run = ok(c.get("/api/runs/k"), 200);
            assertEquals(stoppedAt, run.path("step_count").asLong(), "metrics.jsonl holds every step up to the save");
            int done = run.path("epochs").size();
            JsonNode resumed = c.awaitJob(ok(c.post("/api/runs/k/resume", Map.of("epochs", done + 1)), 202).path("id").asText(), 120);
            assertEquals("done", resumed.path("state").asText(), resumed.toString());
            assertEquals(done + 1, resumed.path("result").path("epochs_done").asInt());
        }
    }

    /** Evaluation during training: eval events, FAD per epoch and the best epoch in the run, and a report with the clips inside. */
    @Test
    void evaluatesDuringTrainingAndWritesAReport() throws Exception {
        awaitPrepared();
        AppClient.Events events = client.events();
        JsonNode train = ok(client.post("/api/train", Map.of("dataset", "prepared/my-ds", "concepts", List.of("a", "b"), "tokens", 2,
                "epochs", 2, "music_len", 16, "run", "evaluated", "eval_every", 1, "eval_clips", 2, "eval_duration", 0.3)), 202);
        String id = train.path("id").asText();
        AppClient.Event first = events.await(ev -> ev.type().equals("eval") && ev.data().path("run").asText().equals("evaluated")
                || ev.type().equals("job") && ev.data().path("id").asText().equals(id) && ev.data().path("state").asText().matches("done|failed|cancelled"), 300);
        assertEquals("eval", first.type(), "the run ended before its first evaluation: " + first.data());
        assertTrue(first.data().path("concepts").path("a").path("fad").isNumber(), first.data().toString());
        JsonNode done = client.awaitJob(id, 300);
        assertEquals("done", done.path("state").asText(), done.toString());
        JsonNode run = ok(client.get("/api/runs/evaluated"), 200);
        assertEquals(2, run.path("evals").size());
        assertTrue(run.path("best").path("a").path("epoch").asInt() >= 1, run.path("best").toString());
        JsonNode clips = run.path("clips").path("epoch-002");
        assertEquals(4, clips.size(), "two clips of each concept: " + run.path("clips"));
        AppClient.Reply clip = client.get("/api/files/runs/" + clips.get(0).asText());
        assertEquals(200, clip.status());

        Path report = dir.resolve("evaluated.html");
        assertEquals(0, ai.musicgenti.cli.Main.run("report", dir.resolve("runs/evaluated").toString(), "--out", report.toString()));
        String html = Files.readString(report);
        assertTrue(html.contains("data:audio/wav;base64," + java.util.Base64.getEncoder().encodeToString(clip.raw().body())),
                "the clip itself is inside the report");
        assertTrue(html.contains("\"evals\""));
        assertFalse(html.matches("(?s).*(src|href)=\"https?:.*"), "nothing is loaded from elsewhere");
    }

    /** The dataset both flows train on, prepared once whichever test runs first. */
    private static synchronized void awaitPrepared() throws Exception {
        if (Files.exists(dir.resolve("data/prepared/my-ds/dataset.json"))) return;
        JsonNode prep = ok(client.post("/api/prepare", Map.of("clips", "clips", "dataset", "my-ds", "fragment_seconds", 0.4, "val_fraction", 0.25)), 202);
        JsonNode prepared = client.awaitJob(prep.path("id").asText(), 120);
        assertEquals("done", prepared.path("state").asText(), prepared.toString());
    }
}
