package ai.musicgenti.app;

import ai.musicgenti.core.Safetensors;
import ai.musicgenti.data.FiniteJson;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What the page, the API and the static report read from the folders training and preparation write: datasets
 * (dataset.json), concepts files (their safetensors header), runs (config.json or the checkpoint's settings,
 * metrics.jsonl, eval/epoch-NNN/). Read-only; a damaged file shows as an {@code error} entry, never a failed page.
 */
final class RunFolders {
    static final ObjectMapper JSON = FiniteJson.mapper();
    /** The loss curve sent to a page keeps at most this many step points, the last one always. */
    static final int MAX_STEP_POINTS = 1500;
    private static final int DEPTH = 4;

    private RunFolders() {
    }

    /** Every prepared dataset under {@code data}: its path there, model, fragment length and per-concept counts. */
    static List<Map<String, Object>> datasets(Path data) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Path info : find(data, p -> p.getFileName().toString().equals("dataset.json"))) {
            Map<String, Object> d = new LinkedHashMap<>();
            Path dir = info.getParent();
            d.put("path", relative(data, dir));
            d.put("name", dir.getFileName().toString());
            try {
                JsonNode n = JSON.readTree(info.toFile());
                d.put("model", n.path("model").asText());
                d.put("fragment_seconds", n.path("fragment_seconds").asDouble());
                List<Map<String, Object>> concepts = new ArrayList<>();
                for (JsonNode c : n.path("concepts")) {
                    concepts.add(Map.of("name", c.path("name").asText(), "clips", c.path("sources").asInt(),
                            "train", c.path("train_fragments").asInt(), "valid", c.path("valid_fragments").asInt()));
                }
                d.put("concepts", concepts);
            } catch (IOException e) {
                d.put("error", "unreadable dataset.json: " + e.getMessage());
            }
            out.add(d);
        }
        return out;
    }

    /** Folders under {@code data} holding audio in concept subfolders, which Prepare can take as its source. */
    static List<String> clipFolders(Path data) {
        List<String> out = new ArrayList<>();
        try (Stream<Path> top = Files.list(data)) {
            for (Path dir : top.filter(Files::isDirectory).sorted().toList()) {
                if (Files.exists(dir.resolve("dataset.json"))) continue;
                try (Stream<Path> sub = Files.list(dir)) {
                    if (sub.anyMatch(p -> Files.isDirectory(p) && !Files.exists(p.resolve("dataset.json")))) out.add(relative(data, dir));
                }
            }
        } catch (IOException e) {
            // no data folder yet: nothing to list
        }
        return out;
    }

    /** Every concepts file under {@code models}: its path there, concepts, epoch and base model, from the header alone. */
    static List<Map<String, Object>> conceptsFiles(Path models) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Path f : find(models, p -> p.getFileName().toString().endsWith(".safetensors"))) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("path", relative(models, f));
            try (Safetensors st = Safetensors.open(f)) {
                Map<String, String> meta = st.metadata();
                if (!meta.containsKey("concepts")) continue;
                d.put("concepts", JSON.readValue(meta.get("concepts"), List.class));
                d.put("epoch", meta.containsKey("epoch") ? Integer.parseInt(meta.get("epoch")) : null);
                d.put("base_model", meta.get("base_model"));
                d.put("best", f.getFileName().toString().endsWith(".best.safetensors"));
            } catch (RuntimeException | IOException e) {
                d.put("error", "unreadable: " + e.getMessage());
            }
            d.put("modified", lastModified(f));
            out.add(d);
        }
        out.sort(Comparator.comparing((Map<String, Object> m) -> (Long) m.get("modified")).reversed());
        return out;
    }

    /** Run folders (a metrics.jsonl, config.json or checkpoint inside), newest first, with their settings and progress. */
    static List<Map<String, Object>> runs(Path runs, java.util.function.Predicate<String> active) {
        List<Map<String, Object>> out = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(runs)) {
            for (Path dir : dirs.filter(Files::isDirectory).toList()) {
                if (!isRun(dir) && !active.test(dir.getFileName().toString())) continue;
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("name", dir.getFileName().toString());
                d.put("settings", settings(dir));
                Metrics m = metrics(dir, 0);
                d.put("epochs_done", m.epochs.isEmpty() ? 0 : m.epochs.get(m.epochs.size() - 1).path("epoch").asInt());
                d.put("steps", m.stepCount);
                d.put("modified", lastModified(dir));
                out.add(d);
            }
        } catch (IOException e) {
            // no runs folder yet
        }
        out.sort(Comparator.comparing((Map<String, Object> m) -> (Long) m.get("modified")).reversed());
        return out;
    }

    static boolean isRun(Path dir) {
        return Files.exists(dir.resolve("metrics.jsonl")) || Files.exists(dir.resolve("config.json")) || Files.exists(dir.resolve("checkpoint.safetensors"));
    }

    /** One run: settings, the loss curve (thinned), epochs, evaluations, and its evaluation clips (paths under runs). */
    static Map<String, Object> run(Path runs, Path dir) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("name", dir.getFileName().toString());
        d.put("settings", settings(dir));
        Metrics m = metrics(dir, MAX_STEP_POINTS);
        d.put("steps", m.steps);
        d.put("step_count", m.stepCount);
        d.put("epochs", m.epochs);
        d.put("evals", m.evals);
        d.put("best", best(m.evals));
        Map<String, List<String>> clips = new LinkedHashMap<>();
        Path eval = dir.resolve("eval");
        for (Path wav : find(eval, p -> p.getFileName().toString().endsWith(".wav"))) {
            String epoch = eval.relativize(wav).getName(0).toString();
            clips.computeIfAbsent(epoch, k -> new ArrayList<>()).add(relative(runs, wav));
        }
        d.put("clips", clips);
        return d;
    }

    /** The run's settings: config.json when it has one, else what its checkpoint stores. */
    static JsonNode settings(Path dir) {
        try {
            Path config = dir.resolve("config.json");
            if (Files.exists(config)) return JSON.readTree(config.toFile());
            Path checkpoint = dir.resolve("checkpoint.safetensors");
            if (Files.exists(checkpoint)) {
                try (Safetensors st = Safetensors.open(checkpoint)) {
                    return JSON.readTree(st.metadata().getOrDefault("settings", "{}"));
                }
            }
        } catch (IOException | RuntimeException e) {
            return JSON.createObjectNode().put("error", "unreadable settings: " + e.getMessage());
        }
        return JSON.createObjectNode();
    }

    /** The lowest FAD seen per concept and its epoch, from the eval lines. */
    static Map<String, Map<String, Object>> best(List<JsonNode> evals) {
        Map<String, Map<String, Object>> best = new LinkedHashMap<>();
        for (JsonNode e : evals) {
            e.path("concepts").fields().forEachRemaining(c -> {
                JsonNode fad = c.getValue().path("fad");
                if (!fad.isNumber()) return;
                Map<String, Object> b = best.get(c.getKey());
                if (b == null || fad.asDouble() < (double) b.get("fad")) {
                    best.put(c.getKey(), new LinkedHashMap<>(Map.of("fad", fad.asDouble(), "epoch", e.path("epoch").asInt())));
                }
            });
        }
        return best;
    }

    record Metrics(List<JsonNode> steps, long stepCount, List<JsonNode> epochs, List<JsonNode> evals) {
    }

    /** metrics.jsonl split by line type; steps thinned to at most {@code maxSteps} (0 = none kept). */
    static Metrics metrics(Path dir, int maxSteps) {
        List<JsonNode> steps = new ArrayList<>(), epochs = new ArrayList<>(), evals = new ArrayList<>();
        Path file = dir.resolve("metrics.jsonl");
        long count = 0;
        if (Files.exists(file)) {
            try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.isBlank()) continue;
                    JsonNode n;
                    try {
                        n = JSON.readTree(line);
                    } catch (IOException torn) {
                        continue; // a line being written right now
                    }
                    switch (n.path("type").asText()) {
                        case "step" -> {
                            count++;
                            if (maxSteps > 0) steps.add(n);
                        }
                        case "epoch" -> epochs.add(n);
                        case "eval" -> evals.add(n);
                        default -> { }
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return new Metrics(thin(steps, maxSteps), count, epochs, evals);
    }

    /** Every k-th point so that at most {@code max} remain, the last one kept. */
    static <T> List<T> thin(List<T> points, int max) {
        if (max <= 0 || points.size() <= max) return points;
        int k = (points.size() + max - 1) / max;
        List<T> out = new ArrayList<>();
        for (int i = 0; i < points.size(); i += k) out.add(points.get(i));
        if ((points.size() - 1) % k != 0) out.add(points.get(points.size() - 1));
        return out;
    }

    private static List<Path> find(Path root, java.util.function.Predicate<Path> match) {
        if (!Files.isDirectory(root)) return List.of();
        try (Stream<Path> all = Files.walk(root, DEPTH)) {
            return all.filter(p -> Files.isRegularFile(p) && match.test(p)).sorted().toList();
        } catch (IOException | UncheckedIOException e) {
            return List.of();
        }
    }

    static String relative(Path root, Path p) {
        return root.relativize(p).toString().replace('\\', '/');
    }

    private static long lastModified(Path p) {
        try {
            return Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }
}
