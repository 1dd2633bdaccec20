package ai.musicgenti.sweep;

import ai.musicgenti.core.BadInputException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A sweep in W&B's YAML format: {@code method} grid or random ({@code run_cap} trials), {@code metric} {name, goal},
 * and {@code parameters}, each a {@code value}, {@code values} (with optional {@code probabilities}) or a
 * {@code distribution} (uniform, log_uniform_values, int_uniform, q_uniform) over {@code min}..{@code max}.
 * Keys that only matter to W&B's own agent ({@code program}, {@code command}, {@code project}, ...) are kept as
 * notes; everything else unknown, and every wrong type, is a one-line error naming the key.
 *
 * @param parameters by the canonical name (see {@link TrainParameters}), in file order
 * @param names      the name the file gave each canonical parameter, for tables that show the user's words
 * @param runCap     the most trials to run; null when the file sets none (grid: all combinations)
 */
public record SweepSpec(Method method, Metric metric, Map<String, Parameter> parameters, Map<String, String> names,
                        Integer runCap, List<String> notes) {
    public enum Method { GRID, RANDOM }

    public enum Goal { MINIMIZE, MAXIMIZE }

    public record Metric(String name, Goal goal) {
    }

    /** One parameter's values: exactly one of {@code values} (a list, one for {@code value}) and {@code distribution}. */
    public record Parameter(List<Object> values, List<Double> probabilities, Distribution distribution, double min, double max, double q) {
        public boolean isFixedList() {
            return distribution == null;
        }
    }

    public enum Distribution {
        UNIFORM("uniform"), LOG_UNIFORM_VALUES("log_uniform_values"), INT_UNIFORM("int_uniform"), Q_UNIFORM("q_uniform");

        final String yaml;

        Distribution(String yaml) {
            this.yaml = yaml;
        }
    }

    private static final Set<String> TOP = Set.of("method", "metric", "parameters", "run_cap", "early_terminate", "program", "command",
            "project", "entity", "name", "description");
    private static final Set<String> PARAMETER_KEYS = Set.of("value", "values", "probabilities", "distribution", "min", "max", "q");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    public static SweepSpec read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": not found; give a sweep YAML file (see configs/sweeps/)");
        } catch (IOException e) {
            throw new BadInputException(file + ": unreadable (" + e.getMessage() + ")");
        }
        return parse(text, file.toString());
    }

    /** Parses a sweep; {@code source} names it in errors. */
    public static SweepSpec parse(String yaml, String source) {
        JsonNode root;
        try {
            root = YAML.readTree(yaml);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            String why = e.getOriginalMessage().strip().lines().findFirst().orElse("").strip();
            throw new BadInputException(source + ": not valid YAML" + where + " (" + why + "); fix the file (see configs/sweeps/ for examples)");
        }
        return new Reader(source).spec(root);
    }

    /** Validates with the source's name at hand for the messages. */
    private record Reader(String source) {
        SweepSpec spec(JsonNode root) {
            if (root == null || root.isMissingNode() || root.isNull()) throw bad("", "the file is empty", "write method, metric and parameters");
            if (!root.isObject()) throw bad("", "expected a mapping of keys (method, metric, parameters)", "see configs/sweeps/ for examples");
            for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
                String key = it.next();
                if (!TOP.contains(key)) {
                    throw bad(key, "unknown key", "a sweep takes method, metric, parameters and run_cap (program, command, project, entity, "
                            + "name and description are read and ignored)");
                }
            }
            if (root.has("early_terminate")) {
                throw bad("early_terminate", "not supported", "remove it: every trial runs its epochs (train's patience, a parameter, stops early)");
            }
            List<String> notes = new ArrayList<>();
            for (String key : List.of("program", "command")) {
                if (root.has(key)) notes.add(key + ": ignored; every trial runs musicgen-ti train with the trial's parameters");
            }
            Method method = method(root.get("method"));
            Integer runCap = null;
            if (root.has("run_cap")) {
                JsonNode cap = root.get("run_cap");
                if (!cap.isIntegralNumber() || cap.asLong() < 1 || cap.asLong() > 1_000_000) throw bad("run_cap", "expected a whole number from 1, got " + show(cap), "write e.g. run_cap: 20");
                runCap = cap.asInt();
            }
            if (method == Method.RANDOM && runCap == null) throw bad("run_cap", "missing; method random needs the number of trials", "add e.g. run_cap: 20");
            Metric metric = metric(root.get("metric"), notes);
            JsonNode params = root.get("parameters");
            if (params == null || params.isNull()) throw bad("parameters", "missing", "give at least one parameter, e.g. parameters: {lr: {values: [0.1, 0.01]}}");
            if (!params.isObject() || params.isEmpty()) throw bad("parameters", "expected a mapping of parameter names", "e.g. parameters: {lr: {values: [0.1, 0.01]}}");
            Map<String, Parameter> parameters = new LinkedHashMap<>();
            Map<String, String> names = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = params.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String key = "parameters." + e.getKey();
                String canonical = TrainParameters.canonical(e.getKey());
                if (canonical == null) throw bad(key, "unknown parameter", "use one of " + TrainParameters.known());
                if (names.containsKey(canonical)) throw bad(key, "the same setting as parameters." + names.get(canonical), "keep one of them");
                names.put(canonical, e.getKey());
                parameters.put(canonical, parameter(key, TrainParameters.type(canonical), e.getValue(), method));
            }
            if (Leaderboard.needsEvaluation(metric.name()) && !parameters.containsKey("eval_every")) {
                notes.add("metric " + metric.name() + " comes from evaluations: trials evaluate after every epoch (set eval_every to change it)");
            }
            return new SweepSpec(method, metric, parameters, names, runCap, notes);
        }

        private Method method(JsonNode node) {
            if (node == null) throw bad("method", "missing", "write method: grid or method: random");
            String m = node.isTextual() ? node.asText() : null;
            if ("grid".equals(m)) return Method.GRID;
            if ("random".equals(m)) return Method.RANDOM;
            if ("bayes".equals(m)) throw bad("method", "bayes is not supported", "use grid or random");
            throw bad("method", "expected grid or random, got " + show(node), "write method: grid or method: random");
        }

        private Metric metric(JsonNode node, List<String> notes) {
            if (node == null) {
                notes.add("metric: none given; trials are ranked by val_ce, minimised");
                return new Metric("val_ce", Goal.MINIMIZE);
            }
            if (!node.isObject()) throw bad("metric", "expected a mapping with name and goal, got " + show(node), "write metric: {name: fad_avg, goal: minimize}");
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String key = it.next();
                if (!Set.of("name", "goal", "target").contains(key)) throw bad("metric." + key, "unknown key", "a metric takes name and goal");
            }
            JsonNode name = node.get("name");
            if (name == null || !name.isTextual() || name.asText().isBlank()) throw bad("metric.name", "expected a metric name, got " + show(name), "e.g. fad_avg, clap_score_avg, val_ce, fad_<concept>");
            if (!Leaderboard.isMetric(name.asText())) {
                throw bad("metric.name", "unknown metric " + name.asText(), "use fad_avg, clap_score_avg, kncc_avg, knco_avg, val_ce, train_ce, or fad_/kncc_/knco_/clap_score_<concept>");
            }
            Goal goal = Goal.MINIMIZE;
            JsonNode g = node.get("goal");
            if (g != null) {
                if ("minimize".equals(g.asText(null)) && g.isTextual()) goal = Goal.MINIMIZE;
                else if ("maximize".equals(g.asText(null)) && g.isTextual()) goal = Goal.MAXIMIZE;
                else throw bad("metric.goal", "expected minimize or maximize, got " + show(g), "write goal: minimize or goal: maximize");
            }
            if (node.has("target")) notes.add("metric.target: ignored; every trial runs to its end");
            return new Metric(name.asText(), goal);
        }

        private Parameter parameter(String key, TrainParameters.Type type, JsonNode node, Method method) {
            if (!node.isObject()) throw bad(key, "expected a mapping with value, values or distribution, got " + show(node), "write e.g. {values: [1, 2]}");
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (k.equals("parameters")) throw bad(key + ".parameters", "nested parameters are not supported", "give each setting its own top-level parameter");
                if (!PARAMETER_KEYS.contains(k)) throw bad(key + "." + k, "unknown key", "a parameter takes value, values (with probabilities), or distribution with min, max and q");
            }
            int kinds = (node.has("value") ? 1 : 0) + (node.has("values") ? 1 : 0) + (node.has("distribution") || node.has("min") || node.has("max") ? 1 : 0);
            if (kinds != 1) throw bad(key, "give exactly one of value, values, or distribution with min and max", "keep one of them");
            if (node.has("value")) {
                if (node.has("probabilities") || node.has("q")) throw bad(key, "value takes no probabilities or q", "remove them");
                return new Parameter(List.of(value(key + ".value", type, node.get("value"))), null, null, 0, 0, 0);
            }
            if (node.has("values")) {
                JsonNode vs = node.get("values");
                if (!vs.isArray() || vs.isEmpty()) throw bad(key + ".values", "expected a non-empty list, got " + show(vs), "write e.g. values: [1, 2]");
                if (node.has("q")) throw bad(key + ".q", "q belongs to q_uniform", "remove it");
                List<Object> values = new ArrayList<>();
                for (int i = 0; i < vs.size(); i++) values.add(value(key + ".values[" + i + "]", type, vs.get(i)));
                List<Double> probabilities = null;
                if (node.has("probabilities")) {
                    JsonNode ps = node.get("probabilities");
                    if (method == Method.GRID) throw bad(key + ".probabilities", "a grid runs every value", "remove it, or use method: random");
                    if (!ps.isArray() || ps.size() != vs.size()) throw bad(key + ".probabilities", "expected a list of " + vs.size() + " numbers, one per value", "fix the list");
                    probabilities = new ArrayList<>();
                    double sum = 0;
                    for (int i = 0; i < ps.size(); i++) {
                        if (!ps.get(i).isNumber() || ps.get(i).asDouble() < 0) throw bad(key + ".probabilities[" + i + "]", "expected a number from 0, got " + show(ps.get(i)), "fix it");
                        probabilities.add(ps.get(i).asDouble());
                        sum += ps.get(i).asDouble();
                    }
                    if (Math.abs(sum - 1) > 1e-6) throw bad(key + ".probabilities", "they add up to " + sum + ", not 1", "fix them");
                }
                return new Parameter(values, probabilities, null, 0, 0, 0);
            }
            return range(key, type, node, method);
        }

        private Parameter range(String key, TrainParameters.Type type, JsonNode node, Method method) {
            if (type != TrainParameters.Type.INT && type != TrainParameters.Type.DOUBLE) {
                throw bad(key, "a distribution needs a numeric setting", "list the choices with values: [...]");
            }
            if (node.has("probabilities")) throw bad(key + ".probabilities", "belongs to values", "remove it");
            JsonNode minNode = node.get("min"), maxNode = node.get("max");
            if (minNode == null || maxNode == null) throw bad(key + (minNode == null ? ".min" : ".max"), "missing", "a distribution needs min and max");
            double min = number(key + ".min", minNode), max = number(key + ".max", maxNode);
            Distribution d;
            if (node.has("distribution")) {
                String name = node.get("distribution").asText("");
                d = null;
                for (Distribution x : Distribution.values()) if (x.yaml.equals(name) && node.get("distribution").isTextual()) d = x;
                if (d == null) {
                    throw bad(key + ".distribution", "not supported: " + show(node.get("distribution")),
                            "use uniform, log_uniform_values, int_uniform or q_uniform (or values: [...])");
                }
            } else {
                // as W&B does: whole-number bounds mean int_uniform
                d = minNode.isIntegralNumber() && maxNode.isIntegralNumber() ? Distribution.INT_UNIFORM : Distribution.UNIFORM;
            }
            if (method == Method.GRID) throw bad(key + ".distribution", "a grid needs value or values", "list the grid's values, or use method: random");
            if (!(min <= max)) throw bad(key + ".max", "max " + max + " is below min " + min, "swap them");
            double q = 1;
            if (node.has("q")) {
                if (d != Distribution.Q_UNIFORM) throw bad(key + ".q", "q belongs to q_uniform", "remove it, or write distribution: q_uniform");
                q = number(key + ".q", node.get("q"));
                if (!(q > 0)) throw bad(key + ".q", "expected a step above 0, got " + q, "fix it");
            }
            if (d == Distribution.INT_UNIFORM && (min != Math.rint(min) || max != Math.rint(max))) {
                throw bad(key, "int_uniform needs whole-number min and max", "fix them, or use uniform");
            }
            if (d == Distribution.LOG_UNIFORM_VALUES && !(min > 0)) throw bad(key + ".min", "log_uniform_values needs min above 0", "fix it");
            if (type == TrainParameters.Type.INT && (d == Distribution.UNIFORM || d == Distribution.LOG_UNIFORM_VALUES
                    || d == Distribution.Q_UNIFORM && q != Math.rint(q))) {
                throw bad(key + ".distribution", d.yaml + (d == Distribution.Q_UNIFORM ? " with a fractional q" : "") + " gives fractions, but the setting is a whole number",
                        "use int_uniform, or q_uniform with a whole q");
            }
            return new Parameter(null, null, d, min, max, q);
        }

        private double number(String key, JsonNode node) {
            if (node.isNumber()) return node.asDouble();
            if (node.isTextual()) {
                // YAML 1.1 reads 1e-3 (no dot) as text
                try {
                    return Double.parseDouble(node.asText());
                } catch (NumberFormatException e) {
                    // falls through to the error
                }
            }
            throw bad(key, "expected a number, got " + show(node), "write e.g. 0.001");
        }

        private Object value(String key, TrainParameters.Type type, JsonNode node) {
            switch (type) {
                case INT -> {
                    if (node.isIntegralNumber() && node.canConvertToLong()) return node.asLong();
                    if (node.isTextual()) {
                        try {
                            return Long.parseLong(node.asText().strip());
                        } catch (NumberFormatException e) {
                            // falls through to the error
                        }
                    }
                    throw bad(key, "expected a whole number, got " + show(node), "write e.g. 10");
                }
                case DOUBLE -> {
                    double v = number(key, node);
                    if (!Double.isFinite(v)) throw bad(key, "expected a finite number, got " + show(node), "fix it");
                    return v;
                }
                case BOOL -> {
                    if (node.isBoolean()) return node.asBoolean();
                    throw bad(key, "expected true or false, got " + show(node), "write true or false");
                }
                case STRING -> {
                    if (node.isTextual() || node.isNumber()) return node.asText();
                    throw bad(key, "expected text, got " + show(node), "write e.g. \"word\"");
                }
                case STRING_LIST -> {
                    if (node.isTextual()) return List.of(node.asText());
                    if (node.isArray() && !node.isEmpty()) {
                        List<String> list = new ArrayList<>();
                        for (JsonNode x : node) {
                            if (!x.isTextual() && !x.isNumber()) throw bad(key, "expected a list of names, got " + show(node), "write e.g. [8bit, synthwave]");
                            list.add(x.asText());
                        }
                        return List.copyOf(list);
                    }
                    throw bad(key, "expected a name or a non-empty list of names, got " + show(node), "write e.g. [8bit, synthwave]");
                }
            }
            throw new IllegalStateException(type.toString());
        }

        private BadInputException bad(String key, String problem, String fix) {
            return new BadInputException(source + ": " + (key.isEmpty() ? "" : key + ": ") + problem + "; " + fix);
        }

        private static String show(JsonNode node) {
            if (node == null || node.isMissingNode()) return "nothing";
            if (node.isNull()) return "null";
            if (node.isTextual()) return "\"" + node.asText() + "\"";
            if (node.isObject()) return "a mapping";
            if (node.isArray()) return "a list";
            return node.toString().toLowerCase(Locale.ROOT);
        }
    }
}
