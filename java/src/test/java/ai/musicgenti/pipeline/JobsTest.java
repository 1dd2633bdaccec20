package ai.musicgenti.pipeline;

import ai.musicgenti.audio.Wav;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.data.FiniteJson;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.train.MetricsLog;
import ai.musicgenti.train.Trainer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The jobs themselves, on the tiny golden models: their events, results, files and cancellation. */
class JobsTest {
    private static final ObjectMapper JSON = FiniteJson.mapper();
    @TempDir
    static Path shared;
    static Path model;
    static Path dataset;

    /** Prepares a dataset through {@link PrepareJob}: two concepts of three 1 s clips, 0.4 s fragments. */
    @BeforeAll
    static void prepare() throws Exception {
        model = Golden.firstOfKind("musicgen_generate").dir();
        Path clips = shared.resolve("clips");
        for (String concept : List.of("lo", "hi")) {
            for (int i = 0; i < 3; i++) {
                float[] x = new float[32000];
                double f = (concept.equals("lo") ? 200 : 1800) * (1 + 0.1 * i);
                for (int n = 0; n < x.length; n++) x[n] = (float) (0.4 * Math.sin(2 * Math.PI * f * n / 32000.0));
                Wav.write(clips.resolve(concept).resolve("c" + i + ".wav"), new float[][]{x}, 32000, Wav.Format.PCM16);
            }
        }
        dataset = shared.resolve("ds");
        List<JobEvent> events = new ArrayList<>();
        PrepareJob.Result r = new PrepareJob(PrepareJob.Settings.of(clips, dataset).withModel(ModelChoice.defaults().withModel(model.toString()))
                .withFragmentSeconds(0.4).withValFraction(0.34)).run(events::add, Cancellation.none());
        r.requireFragments(clips);
        assertEquals(List.of("hi", "lo"), r.report().concepts().stream().map(c -> c.name()).sorted().toList());
        List<JobEvent.PrepareProgress> progress = events.stream().filter(e -> e instanceof JobEvent.PrepareProgress)
                .map(e -> (JobEvent.PrepareProgress) e).toList();
        assertTrue(progress.stream().anyMatch(p -> p.concept().equals("lo") && p.clipsDone() == 3 && p.clips() == 3), progress.toString());
        assertEquals(r.report().newFragments(), progress.stream().filter(p -> p.concept().equals("hi")).mapToInt(JobEvent.PrepareProgress::newFragments).max().orElseThrow()
                + progress.stream().filter(p -> p.concept().equals("lo")).mapToInt(JobEvent.PrepareProgress::newFragments).max().orElseThrow());
    }

    private static GenerateJob.Builder generation(Path out) {
        return GenerateJob.Settings.builder().model(ModelChoice.defaults().withModel(model.toString())).prompts(List.of("calm piano"))
                .seed(3L).duration(0.3).out(out);
    }

    @Test
    void generationReportsEachStepAndTheFilesItWrote(@TempDir Path dir) throws Exception {
        List<JobEvent> events = new ArrayList<>();
        GenerateJob.Result r = new GenerateJob(generation(dir.resolve("clip.wav")).saveCodes(true).build()).run(events::add, Cancellation.none());
        assertEquals(1, r.clips().size());
        assertEquals(3L, r.seed());
        assertTrue(Files.size(r.clips().get(0).wav()) > 44);
        assertTrue(Files.exists(r.clips().get(0).codes()));
        List<JobEvent.Progress> steps = events.stream().filter(e -> e instanceof JobEvent.Progress).map(e -> (JobEvent.Progress) e).toList();
        assertFalse(steps.isEmpty());
        for (int i = 0; i < steps.size(); i++) {
            assertEquals(i + 1, steps.get(i).done());
            assertEquals(steps.size(), steps.get(i).total());
        }
        assertEquals(1.0, steps.get(steps.size() - 1).fraction());
        assertTrue(events.contains(new JobEvent.FileWritten(r.clips().get(0).wav(), "wav")), events.toString());
        assertTrue(events.contains(new JobEvent.FileWritten(r.clips().get(0).codes(), "codes")), events.toString());
    }

    @Test
    void cancelledGenerationStopsAtTheNextStepAndWritesNothing(@TempDir Path dir) {
        Cancellation cancel = new Cancellation();
        List<Long> seen = new ArrayList<>();
        JobListener listener = e -> {
            if (e instanceof JobEvent.Progress p) {
                seen.add(p.done());
                if (p.done() == 2) cancel.cancel();
            }
        };
        assertThrows(CancelledException.class, () -> new GenerateJob(generation(dir.resolve("out")).build()).run(listener, cancel));
        assertEquals(List.of(1L, 2L), seen);
        assertFalse(Files.exists(dir.resolve("out").resolve("calm-piano.wav")));
    }

    private static TrainJob.Settings training(Path dir, String run, int epochs, int batch) {
        return TrainJob.Settings.builder().model(ModelChoice.defaults().withModel(model.toString())).dataset(dataset)
                .training(Trainer.Settings.builder().tokens(2).epochs(epochs).batchSize(batch).musicLen(16).seed(5).build())
                .run(run).out(dir.resolve("models")).runs(dir.resolve("runs")).build();
    }

    @Test
    void trainingReportsStepsWithEachConceptsLossAndLogsThemWithTheirTime(@TempDir Path dir) throws Exception {
        List<JobEvent> events = new ArrayList<>();
        Instant before = Instant.now();
        TrainJob.Result r = new TrainJob(training(dir, "r", 2, 1)).run(events::add, Cancellation.none());
        assertEquals(2, r.epochsDone());
        assertFalse(r.cancelled());
        assertNull(r.bestFile());
        List<JobEvent.TrainStep> steps = events.stream().filter(e -> e instanceof JobEvent.TrainStep).map(e -> (JobEvent.TrainStep) e).toList();
        assertEquals(r.steps(), steps.size());
        for (JobEvent.TrainStep s : steps) {
            // batches of one fragment: the step's loss is its one concept's own
            assertEquals(1, s.metrics().conceptCrossEntropy().size());
            assertEquals(s.metrics().crossEntropy(), s.metrics().conceptCrossEntropy().values().iterator().next(), 1e-5);
            assertTrue(s.stepsPerSecond() > 0);
        }
        assertTrue(steps.stream().anyMatch(s -> s.metrics().conceptCrossEntropy().containsKey("lo")));
        assertTrue(steps.stream().anyMatch(s -> s.metrics().conceptCrossEntropy().containsKey("hi")));
        List<JobEvent.EpochEnd> epochs = events.stream().filter(e -> e instanceof JobEvent.EpochEnd).map(e -> (JobEvent.EpochEnd) e).toList();
        assertEquals(2, epochs.size());
        assertTrue(epochs.get(0).metrics().secondsLeft() > 0, "one epoch still to go");
        assertEquals(0.0, epochs.get(1).metrics().secondsLeft());
        assertTrue(events.contains(new JobEvent.FileWritten(r.conceptsFile(), "concepts")));

        List<JsonNode> lines = new ArrayList<>();
        for (String l : Files.readAllLines(r.runDir().resolve(MetricsLog.FILE))) lines.add(JSON.readTree(l));
        assertEquals(r.steps() + 2, lines.size());
        Instant after = Instant.now();
        for (JsonNode line : lines) {
            Instant t = Instant.parse(line.path("time").asText());
            assertFalse(t.isBefore(before.minus(Duration.ofMillis(1))) || t.isAfter(after), line.toString());
            if (line.path("type").asText().equals("step")) {
                assertEquals(line.path("ce").asDouble(), line.path("concept_ce").elements().next().asDouble(), 1e-5, line.toString());
            } else {
                assertTrue(line.has("seconds_left"), line.toString());
            }
        }
        JsonNode config = JSON.readTree(Trainer.configFile(r.runDir()).toFile());
        assertEquals("r", config.path("run").asText());
        assertEquals(2, config.path("settings").path("tokens").asInt());
        assertEquals(List.of("hi", "lo"), List.of(config.path("settings").path("concepts").get(0).asText(), config.path("settings").path("concepts").get(1).asText()));
        assertEquals(dataset.toAbsolutePath().normalize().toString(), Path.of(config.path("dataset").asText()).toAbsolutePath().normalize().toString());
    }

    @Test
    void cancelledTrainingSavesACheckpointThatResumes(@TempDir Path dir) throws Exception {
        Cancellation cancel = new Cancellation();
        JobListener stopAtThird = e -> {
            if (e instanceof JobEvent.TrainStep s && s.metrics().step() == 3) cancel.cancel();
        };
        TrainJob.Result stopped = new TrainJob(training(dir, "c", 3, 2)).run(stopAtThird, cancel);
        assertTrue(stopped.cancelled());
        assertEquals(3, stopped.steps());
        Trainer.RunInfo info = TrainJob.describe(dir.resolve("runs"), "c");
        assertTrue(info.epochsDone() < 3, "stopped mid-run");
        try (Safetensors st = Safetensors.open(stopped.runDir().resolve("checkpoint.safetensors"))) {
            assertEquals("3", st.metadata().get("step"));
        }
        assertTrue(Files.exists(stopped.conceptsFile()));

        TrainJob.Settings resume = TrainJob.Settings.builder().model(new ModelChoice(null, "auto", "auto", 0)).resume("c")
                .out(dir.resolve("models")).runs(dir.resolve("runs")).build();
        TrainJob.Result resumed = new TrainJob(resume).run(JobListener.NONE, Cancellation.none());
        assertFalse(resumed.cancelled());
        assertEquals(3, resumed.epochsDone());
        TrainJob.Result straight = new TrainJob(training(dir, "s", 3, 2)).run(JobListener.NONE, Cancellation.none());
        assertEquals(straight.steps(), resumed.steps());
        float[] a = ai.musicgenti.core.Tensors.toFloats(Safetensors.readAll(straight.conceptsFile()).get("lo"));
        float[] b = ai.musicgenti.core.Tensors.toFloats(Safetensors.readAll(resumed.conceptsFile()).get("lo"));
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-6, "learned value " + i);
        try (Stream<Path> files = Files.list(resumed.runDir())) {
            assertEquals(List.of(), files.filter(f -> f.toString().endsWith(".part")).toList());
        }
    }
}
