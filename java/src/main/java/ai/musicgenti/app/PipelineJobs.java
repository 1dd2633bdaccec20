package ai.musicgenti.app;

import ai.musicgenti.audio.Wav;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.data.DatasetInfo;
import ai.musicgenti.data.DatasetPreparer;
import ai.musicgenti.generate.Generator;
import ai.musicgenti.hub.HubClient;
import ai.musicgenti.hub.ProgressListener;
import ai.musicgenti.models.EnCodec;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.text.ConceptPrompts;
import ai.musicgenti.text.PromptTokenizer;
import ai.musicgenti.train.LearnedConcepts;
import ai.musicgenti.train.PreparedTrainingData;
import ai.musicgenti.train.Trainer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;

/**
 * Binds validated requests to the library's jobs and turns their progress into bus events.
 * TODO(phase 2): replace each body by the pipeline layer's PrepareJob / TrainJob / GenerateJob, which the CLI
 * runs too; until that lands this calls the library classes the CLI commands call.
 */
final class PipelineJobs {
    /** Step events are sent at most this often; the last step of an epoch always. */
    static final long STEP_EVENT_NANOS = 200_000_000L;

    private final String model;
    private final Compute compute;

    PipelineJobs(String model, Compute compute) {
        this.model = model;
        this.compute = compute;
    }

    String model() {
        return model;
    }

    Compute compute() {
        return compute;
    }

    private Path modelFolder() {
        return HubClient.fromEnvironment().resolveModel(model, ProgressListener.NONE);
    }

    Object prepare(Path clips, Path dataset, double fragmentSeconds, double valFraction, long seed, RunManager.Handle h) throws IOException {
        DatasetPreparer.conceptFolders(clips, dataset);
        try (ModelFolder folder = ModelFolder.open(modelFolder())) {
            List<String> codecWeights = folder.store().names().stream().filter(n -> n.startsWith("audio_encoder.")).sorted().toList();
            var settings = new DatasetPreparer.Settings(HubClient.canonicalId(model), folder.store().sha256(codecWeights), fragmentSeconds,
                    DatasetPreparer.Last.DROP, valFraction, seed, 8, "musicgen-ti app");
            Compute f32 = new Compute(compute.device(), org.bytedeco.pytorch.global.torch.ScalarType.Float);
            EnCodec codec = new EnCodec(EnCodec.Config.fromJson(folder.config().path("audio_encoder")), folder.weights(f32).pp("audio_encoder"));
            int codebooks = folder.config().path("decoder").path("num_codebooks").asInt(codec.numCodebooks());
            List<Map<String, String>> skipped = new ArrayList<>();
            int[] files = {0};
            DatasetPreparer.Report report = new DatasetPreparer(codec, codebooks, settings, new DatasetPreparer.Listener() {
                @Override
                public void fileDone(String concept, String source) {
                    if (h.cancelled()) throw new CancellationException("cancelled");
                    files[0]++;
                    h.publish("progress", Map.of("done", files[0], "unit", "clips", "message", concept + ": " + source));
                }

                @Override
                public void skipped(DatasetPreparer.Skip skip) {
                    skipped.add(Map.of("file", skip.file(), "reason", skip.reason()));
                }
            }).prepare(clips, dataset);
            Map<String, Object> result = new LinkedHashMap<>();
            List<Map<String, Object>> concepts = new ArrayList<>();
            for (DatasetInfo.Concept c : report.concepts()) {
                concepts.add(Map.of("name", c.name(), "clips", c.sources(), "train", c.trainFragments(), "valid", c.validFragments()));
            }
            result.put("concepts", concepts);
            result.put("new_fragments", report.newFragments());
            result.put("skipped", skipped);
            return result;
        }
    }

    /** Starts ({@code settings} non-null) or resumes ({@code moreEpochs} may raise the target) the run in {@code runDir}. */
    Object train(Path dataset, Trainer.Settings settings, Path conceptsDir, Path runDir, Integer epochs, RunManager.Handle h) throws IOException {
        Path folderPath = modelFolder();
        try (ModelFolder folder = ModelFolder.open(folderPath); PromptTokenizer tokenizer = PromptTokenizer.load(folderPath)) {
            MusicGen m = MusicGen.load(folder, compute);
            PreparedTrainingData data = PreparedTrainingData.open(dataset, m);
            String name = runDir.getFileName().toString();
            Trainer.Outputs outputs = new Trainer.Outputs(conceptsDir.resolve(data.name()).resolve(name + ".safetensors"), runDir);
            Trainer.Base base = new Trainer.Base(m, tokenizer, HubClient.canonicalId(model), LearnedConcepts.baseModelHash(folder));
            Trainer.Templates templates = new Trainer.Templates(bundled("train.txt"), bundled("valid.txt"));
            Trainer trainer = settings != null ? Trainer.start(base, data, templates, settings, outputs)
                    : Trainer.resume(base, data, templates, outputs, epochs);
            h.onCancel(trainer::requestStop);
            int totalEpochs = trainer.settings().epochs();
            long start = System.nanoTime();
            long firstStep = trainer.step();
            trainer.run(new Trainer.Listener() {
                private long last;

                @Override
                public void onStep(Trainer.StepMetrics m, int stepInEpoch, int stepsInEpoch) {
                    long now = System.nanoTime();
                    if (stepInEpoch < stepsInEpoch && now - last < STEP_EVENT_NANOS) return;
                    last = now;
                    double rate = (m.step() - firstStep) / Math.max((now - start) / 1e9, 1e-9);
                    long left = (long) (totalEpochs - m.epoch()) * stepsInEpoch + (stepsInEpoch - stepInEpoch);
                    Map<String, Object> d = new LinkedHashMap<>();
                    d.put("run", name);
                    d.put("epoch", m.epoch());
                    d.put("epochs", totalEpochs);
                    d.put("step", m.step());
                    d.put("step_in_epoch", stepInEpoch);
                    d.put("steps_in_epoch", stepsInEpoch);
                    d.put("loss", m.loss());
                    d.put("ce", m.crossEntropy());
                    d.put("steps_per_second", rate);
                    d.put("seconds_left", rate > 0 ? left / rate : null);
                    h.publish("step", d);
                }

                @Override
                public void onEpoch(Trainer.EpochMetrics m) {
                    Map<String, Object> d = new LinkedHashMap<>();
                    d.put("run", name);
                    d.put("epoch", m.epoch());
                    d.put("step", m.step());
                    d.put("train_ce", finite(m.trainCrossEntropy()));
                    d.put("valid_ce", finite(m.validCrossEntropy()));
                    h.publish("epoch", d);
                }

                @Override
                public void onEval(int epochsDone, Map<String, Map<String, Double>> metrics, List<String> improved, int stale) {
                    h.publish("eval", Map.of("run", name, "epoch", epochsDone, "concepts", metrics, "improved", improved));
                }
            });
            return Map.of("run", name, "epochs_done", trainer.epoch(), "epochs", totalEpochs,
                    "concepts_file", outputs.conceptsFile().getParent().getFileName() + "/" + outputs.conceptsFile().getFileName());
        }
    }

    /** One clip per (prompt, copy) into {@code outDir}; returns the files written. */
    Object generate(List<Path> conceptsFiles, List<String> prompts, int count, double duration, Sampling sampling,
                    Path outDir, RunManager.Handle h) throws IOException {
        Path folderPath = modelFolder();
        try (ModelFolder folder = ModelFolder.open(folderPath); PromptTokenizer tokenizer = PromptTokenizer.load(folderPath)) {
            LearnedConcepts concepts = conceptsFiles.isEmpty() ? null : LearnedConcepts.loadAll(conceptsFiles, folder);
            ConceptPrompts known = concepts == null ? null : concepts.prompts(tokenizer);
            for (String p : prompts) {
                if (known != null) known.requireKnown(p, "prompt '" + p + "'");
                else if (!ConceptPrompts.placeholders(p).isEmpty()) throw new BadInputException("prompt '" + p + "': names a concept, but no concepts file is chosen");
            }
            MusicGen m = MusicGen.load(folder, compute);
            int rate = m.audioEncoder().samplingRate();
            int k = m.config().decoder().numCodebooks();
            Generator.Settings d = Generator.Settings.fromGenerationConfig(folder.generationConfig(), sampling.seed());
            Generator.Settings s = new Generator.Settings(Generator.maxNewTokensFor(duration, m.audioEncoder().frameRate(), k),
                    sampling.guidance() != null ? sampling.guidance() : d.guidanceScale(), true,
                    sampling.topK() != null ? sampling.topK() : d.topK(), sampling.topP() != null ? sampling.topP() : d.topP(),
                    sampling.temperature() != null ? sampling.temperature() : d.temperature(), sampling.seed());
            m.checkLength(0, s);
            List<String> rows = new ArrayList<>();
            for (String p : prompts) for (int i = 0; i < count; i++) rows.add(p);
            Generator.StepListener progress = (step, c, u, sc, t) -> {
                if (h.cancelled()) throw new CancellationException("cancelled");
                if (step % 5 == 0 || step + 1 == s.maxNewTokens()) {
                    h.publish("progress", Map.of("done", step + 1, "total", s.maxNewTokens(), "unit", "steps"));
                }
            };
            MusicGen.Music music;
            if (concepts != null) {
                LearnedConcepts.Conditioning c = concepts.condition(m, tokenizer, rows);
                music = m.generateMusicFromEmbeddings(c.inputsEmbeds(), c.attentionMask(), null, s, progress);
            } else {
                PromptTokenizer.Batch tokens = tokenizer.encode(rows);
                music = m.generateMusic(tokens.inputIds(), tokens.attentionMask(), null, s, progress);
            }
            List<Map<String, Object>> files = new ArrayList<>();
            for (int i = 0; i < rows.size(); i++) {
                Path file = outDir.resolve(String.format(Locale.ROOT, "%03d.wav", i + 1));
                Wav.write(file, music.audio(), i, rate, Wav.Options.DEFAULT);
                files.add(Map.of("prompt", rows.get(i), "file", file.getFileName().toString()));
            }
            return Map.of("files", files, "seed", s.seed());
        }
    }

    /** Sampling knobs a request may leave out (null: the checkpoint's generation_config.json). */
    record Sampling(Double guidance, Integer topK, Double topP, Double temperature, long seed) {
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    private static List<String> bundled(String name) throws IOException {
        try (InputStream in = PipelineJobs.class.getResourceAsStream("/prompts/" + name)) {
            if (in == null) throw new IllegalStateException("the launcher lacks its bundled /prompts/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().map(String::strip)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        }
    }
}
