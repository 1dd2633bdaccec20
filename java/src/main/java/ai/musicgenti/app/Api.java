package ai.musicgenti.app;

import ai.musicgenti.concepts.ConceptPrompts;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.hub.HubClient;
import ai.musicgenti.pipeline.GenerateJob;
import ai.musicgenti.pipeline.ModelChoice;
import ai.musicgenti.pipeline.PrepareJob;
import ai.musicgenti.pipeline.TrainJob;
import ai.musicgenti.sweep.Leaderboard;
import ai.musicgenti.sweep.SweepFolder;
import ai.musicgenti.train.Trainer;
import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The JSON API the page and scripts use; every handler validates before anything runs. */
final class Api {
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("MMdd-HHmmss", Locale.ROOT);

    private final SafePaths paths;
    private final RunManager manager;
    private final PipelineJobs jobs;
    private final EventBus bus;
    private final String clap;

    /** {@code clap}: the CLAP checkpoint of evaluations during training (null: the default). */
    Api(SafePaths paths, RunManager manager, PipelineJobs jobs, EventBus bus, String clap) {
        this.paths = paths;
        this.manager = manager;
        this.jobs = jobs;
        this.bus = bus;
        this.clap = clap;
    }

    private String device() {
        return jobs.device();
    }

    Object status() {
        Runtime rt = Runtime.getRuntime();
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("model", jobs.model().model());
        s.put("device", jobs.computeLabel());
        s.put("device_setting", jobs.model().device());
        s.put("dtype_setting", jobs.model().dtype());
        s.put("memory", Map.of("jvm_used", rt.totalMemory() - rt.freeMemory(), "jvm_max", rt.maxMemory(), "process_rss", rss()));
        Map<String, String> roots = new LinkedHashMap<>();
        paths.roots().forEach((k, v) -> roots.put(k, v.toString()));
        s.put("roots", roots);
        s.put("clients", bus.clients());
        s.put("jobs", manager.list());
        return s;
    }

    /** The process's resident memory (native tensors included), from /proc where there is one; null elsewhere. */
    private static Long rss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return null;
    }

    Object datasets() {
        return Map.of("datasets", RunFolders.datasets(paths.root("data")), "clip_folders", RunFolders.clipFolders(paths.root("data")));
    }

    Object conceptsFiles() {
        return RunFolders.conceptsFiles(paths.root("models"));
    }

    Object runs() {
        List<Map<String, Object>> runs = RunFolders.runs(paths.root("runs"), name -> manager.active("train", name) != null);
        for (Map<String, Object> r : runs) r.put("job", manager.active("train", (String) r.get("name")));
        return runs;
    }

    Object run(String name) {
        Path dir = runDir(name);
        Map<String, Object> r = RunFolders.run(paths.root("runs"), dir);
        r.put("job", manager.active("train", name));
        return r;
    }

    private Path runDir(String name) {
        Path dir = paths.existing("runs", SafePaths.name(name, "run"), "run");
        // a run just queued has its folder but nothing in it yet
        if (!Files.isDirectory(dir) || !RunFolders.isRun(dir) && manager.active("train", name) == null) {
            throw HttpError.notFound("run '" + name + "': no such run");
        }
        return dir;
    }

    /** Every sweep under runs/sweeps: its metric and how many trials are in each state; a damaged one as an error entry. */
    Object sweeps() {
        List<Map<String, Object>> out = new ArrayList<>();
        Path root = paths.root("runs").resolve(SweepFolder.UNDER_RUNS);
        if (!Files.isDirectory(root)) return out;
        List<Path> dirs;
        try (Stream<Path> list = Files.list(root)) {
            dirs = list.sorted().toList();
        } catch (IOException e) {
            return out;
        }
        for (Path d : dirs) {
            String id = d.getFileName().toString();
            SweepFolder folder;
            try {
                folder = sweepFolder(id);
            } catch (HttpError e) {
                continue; // not a sweep, or not one the app would open (a link out of runs, an odd name)
            } catch (RuntimeException e) {
                out.add(Map.of("id", id, "error", "unreadable sweep: " + e.getMessage()));
                continue;
            }
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("id", id);
            try {
                Map<String, Integer> states = new TreeMap<>();
                for (Leaderboard.Row r : Leaderboard.of(folder, Map.of()).rows()) states.merge(r.state(), 1, Integer::sum);
                s.put("metric", folder.spec().metric().name());
                s.put("goal", folder.spec().metric().goal().toString().toLowerCase(Locale.ROOT));
                s.put("trials", folder.trials());
                s.put("states", states);
                s.put("dataset", folder.dataset());
            } catch (RuntimeException e) {
                s.put("error", "unreadable trials: " + e.getMessage());
            }
            out.add(s);
        }
        return out;
    }

    /** The sweep's leaderboard, best first; each trial's run folder as a path under runs, for the run view. */
    Object sweep(String id) {
        SweepFolder folder = sweepFolder(id);
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("id", id);
        s.put("metric", folder.spec().metric().name());
        s.put("goal", folder.spec().metric().goal().toString().toLowerCase(Locale.ROOT));
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Leaderboard.Row r : Leaderboard.of(folder, Map.of()).rows()) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("trial", r.index());
            t.put("run", r.run());
            t.put("path", paths.relative("runs", folder.runDir(r.index())));
            t.put("has_run", RunFolders.isRun(folder.runDir(r.index())));
            t.put("parameters", r.parameters());
            t.put("value", r.value());
            t.put("best_epoch", r.bestEpoch());
            t.put("epochs", r.epochs());
            t.put("state", r.state());
            rows.add(t);
        }
        s.put("trials", rows);
        return s;
    }

    /** One trial's run, as {@link #run} shows an ordinary one; its clips are paths under runs like any run's. */
    Object sweepRun(String id, String trial) {
        SweepFolder folder = sweepFolder(id);
        SafePaths.name(trial, "trial");
        for (int i = 0; i < folder.trials(); i++) {
            Path dir = folder.runDir(i);
            if (SweepFolder.runName(i).equals(trial) && RunFolders.isRun(dir)) return RunFolders.run(paths.root("runs"), dir);
        }
        throw HttpError.notFound("trial '" + trial + "': sweep " + id + " has no such run yet");
    }

    private SweepFolder sweepFolder(String id) {
        String relative = SweepFolder.UNDER_RUNS + "/" + SafePaths.name(id, "sweep");
        Path dir = paths.existing("runs", relative, "sweep");
        if (!Files.isDirectory(dir) || !SweepFolder.isSweep(dir)) throw HttpError.notFound("sweep '" + id + "': no such sweep");
        // checked with links followed; opened by its path under the root so that its runs' paths are named under it
        return SweepFolder.open(paths.resolve("runs", relative, "sweep"));
    }

    static final Set<String> MODEL_FIELDS = Set.of("model", "device", "dtype");

    /**
     * Switches the model, device and dtype of the jobs submitted from now on (running and queued ones keep theirs):
     * small, medium or large (facebook/musicgen-*), a hub id (downloaded by the first job that needs it), or a folder
     * under --models. The device and dtype are checked at once, so a page on a machine without CUDA hears so now.
     */
    Object model(Fields f) {
        String model = f.text("model", SafePaths.MAX_LENGTH, true);
        String id;
        if (model.matches("small|medium|large")) id = "facebook/musicgen-" + model;
        else if (HubClient.isModelId(model) && !Files.exists(paths.root("models").resolve(model))) id = model;
        else {
            Path folder = paths.existing("models", model, "field model");
            if (!Files.isRegularFile(folder.resolve("config.json"))) {
                throw HttpError.badRequest("field model: '" + SafePaths.shown(model) + "' under --models has no config.json; give small, medium, large, a hub id or a model folder");
            }
            id = folder.toString();
        }
        String device = f.has("device") ? f.text("device", 16, true) : jobs.model().device();
        String dtype = f.has("dtype") ? f.text("dtype", 8, true) : jobs.model().dtype();
        // Compute is the one judge of both; the device is asked apart so that the error names the right field
        try {
            Compute.device(device);
        } catch (BadInputException e) {
            throw HttpError.badRequest("field device: " + e.getMessage());
        }
        try {
            jobs.use(new ModelChoice(id, device, dtype, jobs.model().threads()));
        } catch (BadInputException e) {
            throw HttpError.badRequest("field dtype: " + e.getMessage());
        }
        return status();
    }

    Object prepare(Fields f) {
        Path clips = paths.existing("data", f.text("clips", SafePaths.MAX_LENGTH, true), "field clips");
        if (!Files.isDirectory(clips)) throw HttpError.badRequest("field clips: must be a folder of concept folders");
        String name = SafePaths.name(f.text("dataset", 100, true), "field dataset");
        Path dataset = paths.resolve("data", "prepared/" + name, "field dataset");
        PrepareJob.Settings settings = PrepareJob.Settings.of(clips, dataset)
                .withFragmentSeconds(f.number("fragment_seconds", 0, true, 30, PrepareJob.FRAGMENT_SECONDS))
                .withValFraction(f.number("val_fraction", 0, false, 0.9, PrepareJob.VAL_FRACTION))
                .withSeed(f.longValue("seed", 0, Long.MAX_VALUE, PrepareJob.SEED)).withModel(jobs.model());
        return manager.submit("prepare", name, device(), h -> jobs.prepare(settings, h));
    }

    static final Set<String> TRAIN_FIELDS = Set.of("dataset", "concepts", "run", "tokens", "epochs", "batch_size", "examples_num",
            "music_len", "lr", "seed", "shuffle_tokens", "init_word", "eval_every", "eval_clips", "eval_duration", "patience");

    Object train(Fields f) throws IOException {
        String datasetName = f.text("dataset", SafePaths.MAX_LENGTH, true);
        List<String> concepts = f.texts("concepts", 100, 1, 64);
        for (String c : concepts) SafePaths.name(c, "field concepts");
        String initWord = f.text("init_word", 50, false);
        Trainer.Settings training = Trainer.Settings.builder().concepts(concepts).tokens(f.integer("tokens", 1, 100, 10))
                .epochs(f.integer("epochs", 1, 10_000, 10)).batchSize(f.integer("batch_size", 1, 256, 4))
                .examplesNum(f.integer("examples_num", 0, 1_000_000, 0)).musicLen(f.integer("music_len", 1, 3000, 250))
                .lr(f.number("lr", 0, true, 100, 0.1)).shuffleTokens(f.flag("shuffle_tokens", false))
                .initWord(initWord == null || initWord.isBlank() ? null : initWord).seed(f.longValue("seed", 0, Long.MAX_VALUE, 0L)).build();
        TrainJob.Evaluation eval = new TrainJob.Evaluation(f.integer("eval_every", 0, 10_000, TrainJob.EVAL_EVERY),
                f.integer("eval_clips", 1, 64, TrainJob.EVAL_CLIPS), f.has("eval_duration") ? f.number("eval_duration", 0, true, 60, null) : null,
                null, null, f.integer("patience", 0, 10_000, TrainJob.PATIENCE), clap, null, null);
        String name = f.has("run") ? SafePaths.name(f.text("run", 100, true), "field run") : freshName(String.join("-", concepts));
        // the fields' form first, so that a bad number is named even when the dataset is wrong too
        Path dataset = paths.existing("data", datasetName, "field dataset");
        if (!Files.isRegularFile(dataset.resolve("dataset.json"))) throw HttpError.badRequest("field dataset: not a prepared dataset (no dataset.json)");
        Path runDir = paths.resolve("runs", name, "field run");
        if (RunFolders.isRun(runDir) || manager.active("train", name) != null) {
            throw HttpError.badRequest("field run '" + name + "': already exists; resume it, or choose another name");
        }
        Files.createDirectories(runDir);
        TrainJob.Settings settings = TrainJob.Settings.builder().model(jobs.model()).dataset(dataset).training(training).run(name)
                .out(paths.root("models")).runs(paths.root("runs")).evaluation(eval).build();
        return manager.submit("train", name, device(), h -> jobs.train(settings, name, training.epochs(), h));
    }

    /** The concepts joined, then the time: "8bit-synthwave-1201-2350"; -2, -3 when taken. */
    private String freshName(String concepts) {
        String base = (concepts.length() > 60 ? concepts.substring(0, 60) : concepts) + "-" + LocalDateTime.now().format(STAMP);
        String name = base;
        for (int n = 2; Files.exists(paths.root("runs").resolve(name)); n++) name = base + "-" + n;
        return name;
    }

    Object stop(String name) {
        String job = manager.active("train", SafePaths.name(name, "run"));
        if (job == null) throw HttpError.notFound("run '" + name + "': not running or queued");
        return manager.cancel(job);
    }

    /** Continues a stopped run; {@code epochs} sets a new target, {@code extend} adds to its current one. */
    Object resume(String name, Fields f) {
        Path dir = runDir(name);
        if (manager.active("train", name) != null) throw HttpError.badRequest("run '" + name + "': already running or queued");
        if (!Files.exists(dir.resolve("checkpoint.safetensors"))) throw HttpError.badRequest("run '" + name + "': has no checkpoint to resume from");
        Trainer.RunInfo info = Trainer.describe(dir);
        if (f.has("epochs") && f.has("extend")) throw HttpError.badRequest("fields epochs and extend: give one");
        int target = f.has("extend") ? info.epochsDone() + f.integer("extend", 1, 10_000, null)
                : f.integer("epochs", 1, 10_000, info.settings().epochs());
        if (target <= info.epochsDone()) {
            throw HttpError.badRequest("field epochs: run " + name + " finished " + info.epochsDone() + "/" + target
                    + " epochs; ask for more (extend)");
        }
        // the run's own base model, dataset, settings and evaluation (its CLAP included); the app's device
        TrainJob.Settings settings = TrainJob.Settings.builder().model(jobs.model().withModel(null).withDtype(null)).resume(name).epochs(target)
                .out(paths.root("models")).runs(paths.root("runs")).evaluation(TrainJob.Evaluation.runsOwn()).build();
        return manager.submit("train", name, device(), h -> jobs.train(settings, name, target, h));
    }

    static final Set<String> GENERATE_FIELDS = Set.of("concepts_files", "concepts", "template", "prompt", "count", "duration", "seed",
            "guidance", "top_k", "top_p", "temperature", "audio_prompt");

    Object generate(Fields f) throws IOException {
        List<Path> files = new ArrayList<>();
        for (String file : f.texts("concepts_files", SafePaths.MAX_LENGTH, 0, 16)) {
            Path p = paths.existing("models", file, "field concepts_files");
            if (!p.getFileName().toString().endsWith(".safetensors")) throw HttpError.badRequest("field concepts_files: '" + file + "' is not a .safetensors file");
            files.add(p);
        }
        List<String> concepts = f.texts("concepts", 100, 0, 64);
        for (String c : concepts) SafePaths.name(c, "field concepts");
        String template = f.text("template", 500, false);
        String prompt = f.text("prompt", 1000, false);
        List<String> prompts = new ArrayList<>();
        if (template != null && !template.isBlank()) {
            if (concepts.isEmpty()) throw HttpError.badRequest("field concepts: tick at least one concept to fill the template with");
            try {
                ConceptPrompts.requireSlot(template, "field template");
            } catch (RuntimeException e) {
                throw HttpError.badRequest("field template: must hold %s once, where the concept goes");
            }
            for (String c : concepts) prompts.add(ConceptPrompts.fill(template, c));
        }
        if (prompt != null && !prompt.isBlank()) prompts.add(prompt);
        if (prompts.isEmpty()) throw HttpError.badRequest("field template: give a template with %s (and concepts) or a prompt");
        if (files.isEmpty() && !concepts.isEmpty()) throw HttpError.badRequest("field concepts_files: choose the concepts file the concepts come from");
        Path audio = f.has("audio_prompt") ? paths.existing("data", f.text("audio_prompt", SafePaths.MAX_LENGTH, true), "field audio_prompt") : null;
        if (audio != null && !Files.isRegularFile(audio)) throw HttpError.badRequest("field audio_prompt: must be an audio file");
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS", Locale.ROOT));
        Path out = paths.resolve("runs", "generated/" + stamp, "output");
        GenerateJob.Settings settings = GenerateJob.Settings.builder().model(jobs.model()).prompts(prompts).conceptFiles(files)
                .batch(f.integer("count", 1, 16, 1)).duration(f.number("duration", 0, true, 120, 5.0))
                .cfg(f.has("guidance") ? f.number("guidance", 0, false, 30, null) : null)
                .topK(f.has("top_k") ? f.integer("top_k", 0, 100_000, null) : null).topP(f.has("top_p") ? f.number("top_p", 0, true, 1, null) : null)
                .temperature(f.has("temperature") ? f.number("temperature", 0, true, 10, null) : null)
                .seed(f.has("seed") ? f.longValue("seed", 0, Long.MAX_VALUE, null) : null).audioPrompt(audio).out(out).build();
        return manager.submit("generate", stamp, device(), h -> jobs.generate(settings, h));
    }

    Object cancel(String id) {
        if (!id.matches("j[0-9]{1,18}")) throw HttpError.badRequest("job '" + SafePaths.shown(id) + "': job ids look like j12");
        return manager.cancel(id);
    }

    Object job(String id) {
        if (!id.matches("j[0-9]{1,18}")) throw HttpError.badRequest("job '" + SafePaths.shown(id) + "': job ids look like j12");
        return manager.find(id);
    }

    /** A file under data, models or runs, by its relative path; only kinds a page shows. */
    void file(HttpExchange ex, List<String> segments) throws IOException {
        if (segments.size() < 2) throw HttpError.badRequest("path: give /api/files/<data|models|runs>/<path>");
        String root = segments.get(0);
        if (!List.of("data", "models", "runs").contains(root)) throw HttpError.badRequest("root '" + SafePaths.shown(root) + "': use data, models or runs");
        String relative = String.join("/", segments.subList(1, segments.size()));
        Path p = paths.existing(root, relative, "path");
        if (!Files.isRegularFile(p)) throw HttpError.notFound("path '" + relative + "': not a file");
        String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
        String type = name.endsWith(".wav") ? "audio/wav" : name.endsWith(".json") || name.endsWith(".jsonl") ? "application/json"
                : name.endsWith(".md") || name.endsWith(".txt") ? "text/plain; charset=utf-8" : name.endsWith(".html") ? "text/plain; charset=utf-8"
                : name.endsWith(".safetensors") ? "application/octet-stream" : null;
        if (type == null) throw HttpError.notFound("path '" + relative + "': not a kind of file the app serves");
        if (name.endsWith(".safetensors")) {
            ex.getResponseHeaders().set("Content-Disposition", "attachment; filename=\"" + p.getFileName().toString().replace("\"", "") + "\"");
        }
        byte[] bytes = Files.readAllBytes(p);
        ex.getResponseHeaders().set("Accept-Ranges", "bytes");
        String range = ex.getRequestHeaders().getFirst("Range");
        // a player seeks in a clip by asking for the bytes from there on
        java.util.regex.Matcher m = range == null ? null : java.util.regex.Pattern.compile("bytes=([0-9]{1,15})-([0-9]{0,15})").matcher(range.strip());
        if (m != null && m.matches()) {
            long from = Long.parseLong(m.group(1)), to = m.group(2).isEmpty() ? bytes.length - 1 : Math.min(Long.parseLong(m.group(2)), bytes.length - 1);
            if (from >= bytes.length || from > to) {
                ex.getResponseHeaders().set("Content-Range", "bytes */" + bytes.length);
                throw new HttpError(416, "Range '" + SafePaths.shown(range) + "': outside the file's " + bytes.length + " bytes");
            }
            ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + to + "/" + bytes.length);
            Http.send(ex, 206, type, java.util.Arrays.copyOfRange(bytes, (int) from, (int) to + 1));
            return;
        }
        Http.send(ex, 200, type, bytes);
    }
}
