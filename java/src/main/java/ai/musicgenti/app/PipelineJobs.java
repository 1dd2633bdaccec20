package ai.musicgenti.app;

import ai.musicgenti.data.DatasetInfo;
import ai.musicgenti.data.DatasetPreparer;
import ai.musicgenti.pipeline.Cancellation;
import ai.musicgenti.pipeline.GenerateJob;
import ai.musicgenti.pipeline.JobEvent;
import ai.musicgenti.pipeline.JobListener;
import ai.musicgenti.pipeline.ModelChoice;
import ai.musicgenti.pipeline.PrepareJob;
import ai.musicgenti.pipeline.TrainJob;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the pipeline's jobs (the same PrepareJob, TrainJob and GenerateJob the commands run) for the server: a
 * job's cancellation follows the run manager's, its events go to the bus as JSON, its result comes back as JSON
 * with paths relative to the folders the app serves.
 */
final class PipelineJobs {
    /** Step and progress events are sent at most this often; an epoch's last step always. */
    static final long EVENT_NANOS = 200_000_000L;

    /** A model choice and the device and dtype it resolves to, which the status shows on every poll. */
    private record Chosen(ModelChoice model, String computeLabel) {
        Chosen(ModelChoice model) {
            this(model, model.compute().toString());
        }
    }

    // switched from the page; each job keeps the choice it was submitted with
    private volatile Chosen chosen;
    private final SafePaths paths;

    PipelineJobs(ModelChoice model, SafePaths paths) {
        this.chosen = new Chosen(model);
        this.paths = paths;
    }

    ModelChoice model() {
        return chosen.model();
    }

    /** The resolved device and dtype of {@link #model()}, e.g. cpu/f32. */
    String computeLabel() {
        return chosen.computeLabel();
    }

    /**
     * The model, device and dtype of jobs submitted from now on.
     *
     * @throws ai.musicgenti.core.BadInputException when the device or dtype cannot be used here (CUDA absent)
     */
    void use(ModelChoice choice) {
        chosen = new Chosen(choice);
    }

    /** Jobs on the same device wait for each other. */
    String device() {
        return chosen.model().device();
    }

    Object prepare(PrepareJob.Settings settings, RunManager.Handle h) throws IOException {
        PrepareJob.Result r = new PrepareJob(settings).run(new Events(h, null, 0), cancellation(h));
        Map<String, Object> result = new LinkedHashMap<>();
        List<Map<String, Object>> concepts = new ArrayList<>();
        for (DatasetInfo.Concept c : r.report().concepts()) {
            concepts.add(Map.of("name", c.name(), "clips", c.sources(), "train", c.trainFragments(), "valid", c.validFragments()));
        }
        result.put("dataset", paths.relative("data", r.dataset()));
        result.put("concepts", concepts);
        result.put("new_fragments", r.report().newFragments());
        List<Map<String, String>> skipped = new ArrayList<>();
        for (DatasetPreparer.Skip s : r.report().skipped()) skipped.add(Map.of("file", s.file(), "reason", s.reason()));
        result.put("skipped", skipped);
        result.put("warnings", r.warnings());
        // the list of skipped files is the answer to "why nothing": send it before the one-line failure
        h.publish("prepared", result);
        r.requireFragments(settings.root());
        return result;
    }

    /** A new run or a resumed one, as {@code settings} say; the model is the app's unless the run names its own. */
    Object train(TrainJob.Settings settings, String run, int epochs, RunManager.Handle h) throws IOException {
        TrainJob.Result r = new TrainJob(settings).run(new Events(h, run, epochs), cancellation(h));
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("run", r.run());
        result.put("epochs_done", r.epochsDone());
        result.put("steps", r.steps());
        result.put("stopped", r.cancelled());
        result.put("concepts_file", paths.relative("models", r.conceptsFile()));
        result.put("best_file", r.bestFile() == null ? null : paths.relative("models", r.bestFile()));
        return result;
    }

    Object generate(GenerateJob.Settings settings, RunManager.Handle h) throws IOException {
        GenerateJob.Result r = new GenerateJob(settings).run(new Events(h, null, 0), cancellation(h));
        List<Map<String, Object>> files = new ArrayList<>();
        for (GenerateJob.Clip c : r.clips()) {
            files.add(Map.of("prompt", c.prompt(), "file", c.wav().getFileName().toString(), "path", paths.relative("runs", c.wav())));
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("files", files);
        result.put("seed", r.seed());
        result.put("seconds", r.seconds());
        h.publish("result", result);
        return result;
    }

    private static Cancellation cancellation(RunManager.Handle h) {
        Cancellation c = new Cancellation();
        h.onCancel(c::cancel);
        return c;
    }

    /** A job's events as bus events; steps and progress thinned to a few a second. */
    private static final class Events implements JobListener {
        private final RunManager.Handle h;
        private final String run;
        private final int epochs;
        private long lastStep, lastProgress;
        private Double secondsLeft;

        Events(RunManager.Handle h, String run, int epochs) {
            this.h = h;
            this.run = run;
            this.epochs = epochs;
        }

        @Override
        public void on(JobEvent event) {
            long now = System.nanoTime();
            Map<String, Object> d = new LinkedHashMap<>();
            if (run != null) d.put("run", run);
            if (event instanceof JobEvent.TrainStep s) {
                if (s.stepInEpoch() < s.stepsInEpoch() && now - lastStep < EVENT_NANOS) return;
                lastStep = now;
                d.put("epoch", s.metrics().epoch());
                d.put("epochs", epochs);
                d.put("step", s.metrics().step());
                d.put("step_in_epoch", s.stepInEpoch());
                d.put("steps_in_epoch", s.stepsInEpoch());
                d.put("loss", finite(s.metrics().loss()));
                d.put("ce", finite(s.metrics().crossEntropy()));
                d.put("concept_ce", s.metrics().conceptCrossEntropy());
                d.put("lr", s.metrics().lr());
                d.put("steps_per_second", s.stepsPerSecond());
                d.put("seconds_left", secondsLeft);
                h.publish("step", d);
            } else if (event instanceof JobEvent.EpochEnd e) {
                secondsLeft = finite(e.metrics().secondsLeft());
                d.put("epoch", e.metrics().epoch());
                d.put("step", e.metrics().step());
                d.put("train_ce", finite(e.metrics().trainCrossEntropy()));
                d.put("valid_ce", finite(e.metrics().validCrossEntropy()));
                d.put("seconds_left", secondsLeft);
                h.publish("epoch", d);
            } else if (event instanceof JobEvent.EvalDone e) {
                d.put("epoch", e.epochsDone());
                d.put("concepts", e.metrics());
                d.put("improved", e.improved());
                d.put("stale", e.stale());
                h.publish("eval", d);
            } else if (event instanceof JobEvent.Progress p) {
                if (p.done() < p.total() && now - lastProgress < EVENT_NANOS) return;
                lastProgress = now;
                d.put("stage", p.stage());
                d.put("done", p.done());
                d.put("total", p.total());
                h.publish("progress", d);
            } else if (event instanceof JobEvent.PrepareProgress p) {
                d.put("stage", "prepare");
                d.put("concept", p.concept());
                d.put("done", p.clipsDone());
                d.put("total", p.clips());
                d.put("new_fragments", p.newFragments());
                h.publish("progress", d);
            } else if (event instanceof JobEvent.Stage s) {
                d.put("stage", s.name());
                d.put("detail", s.detail());
                h.publish("stage", d);
            }
            // Log (the evaluator's console lines) and FileWritten are for a console; the page reads results and runs
        }

        private static Double finite(double v) {
            return Double.isFinite(v) ? v : null;
        }
    }
}
