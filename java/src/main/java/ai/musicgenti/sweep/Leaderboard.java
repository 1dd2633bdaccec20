package ai.musicgenti.sweep;

import ai.musicgenti.data.FiniteJson;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A sweep's trials ranked by its metric, read from each trial's run folder ({@code metrics.jsonl}: epoch lines for
 * the losses, eval lines for the per-concept metrics). A run's value of a metric is its best over the run:
 * <ul>
 *   <li>{@code val_ce} (also {@code valid_ce}), {@code train_ce}: the lowest epoch value;</li>
 *   <li>{@code fad_<concept>}, {@code kncc_<concept>}, {@code knco_<concept>}, {@code clap_score_<concept>}: that
 *       concept's best evaluation (lowest FAD, highest others);</li>
 *   <li>{@code fad_avg} (and {@code kncc_avg}, {@code knco_avg}, {@code clap_score_avg}): the mean over concepts of
 *       each concept's best, as the best concepts file holds them; its epoch is the last at which a concept's best
 *       was reached.</li>
 * </ul>
 */
public final class Leaderboard {
    private static final Pattern CONCEPT_METRIC = Pattern.compile("(fad|kncc|knco|clap_score)_(.+)");
    private static final ObjectMapper JSON = FiniteJson.mapper();

    /** One trial's line. {@code value} is null when the run has not produced the metric yet. */
    public record Row(int index, String run, Map<String, Object> parameters, Double value, Integer bestEpoch, int epochs, String state) {
    }

    private final SweepFolder folder;
    private final List<Row> rows;

    private Leaderboard(SweepFolder folder, List<Row> rows) {
        this.folder = folder;
        this.rows = rows;
    }

    /** Whether the metric comes from evaluations ({@code train --eval-every}) rather than the losses. */
    public static boolean needsEvaluation(String name) {
        return CONCEPT_METRIC.matcher(name).matches();
    }

    public static boolean isMetric(String name) {
        return List.of("val_ce", "valid_ce", "train_ce").contains(name) || CONCEPT_METRIC.matcher(name).matches();
    }

    /**
     * The trials sorted best first by the sweep's metric (trials without a value last, by index).
     *
     * @param schedulerStates a state from the scheduler per trial index (Slurm's PENDING, RUNNING, ...), used for
     *                        trials that have not written a state of their own; may be empty
     */
    public static Leaderboard of(SweepFolder folder, Map<Integer, String> schedulerStates) {
        String metric = folder.spec().metric().name();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < folder.trials(); i++) {
            TrialState st = folder.state(i);
            String state = st.state().toString();
            String scheduled = schedulerStates.containsKey(i) ? schedulerStates.get(i).toLowerCase(Locale.ROOT) : null;
            if (st.state() == TrialState.State.running && !st.alive()) state = "interrupted";
            // not started yet, or ended by the scheduler (time limit, cancelled) before it could record that
            if (scheduled != null && (st.state() == TrialState.State.pending
                    || st.state() == TrialState.State.running && !List.of("running", "completing").contains(scheduled))) state = scheduled;
            Value v = value(folder.runDir(i).resolve("metrics.jsonl"), metric);
            Map<String, Object> shown = new LinkedHashMap<>();
            folder.space().trial(i).forEach((k, x) -> shown.put(folder.spec().names().getOrDefault(k, k), x));
            rows.add(new Row(i, SweepFolder.runName(i), shown, v.value, v.epoch, v.epochs, state));
        }
        Comparator<Double> byGoal = folder.spec().metric().goal() == SweepSpec.Goal.MINIMIZE ? Comparator.naturalOrder() : Comparator.reverseOrder();
        rows.sort(Comparator.comparing(Row::value, Comparator.nullsLast(byGoal)).thenComparing(Row::index));
        return new Leaderboard(folder, List.copyOf(rows));
    }

    public List<Row> rows() {
        return rows;
    }

    private record Value(Double value, Integer epoch, int epochs) {
    }

    /** The run's best value of {@code metric}; an absent or partly written file counts what it holds. */
    private static Value value(Path metricsFile, String metric) {
        if (!Files.exists(metricsFile)) return new Value(null, null, 0);
        List<String> lines;
        try {
            lines = Files.readAllLines(metricsFile);
        } catch (IOException e) {
            throw new UncheckedIOException(metricsFile + ": unreadable", e);
        }
        int epochs = 0;
        Double best = null;
        Integer bestEpoch = null;
        String lossKey = metric.equals("val_ce") ? "valid_ce" : metric;
        Matcher m = CONCEPT_METRIC.matcher(metric);
        boolean perConcept = m.matches();
        String kind = perConcept ? m.group(1) : null, concept = perConcept ? m.group(2) : null;
        boolean lowerIsBetter = !perConcept || kind.equals("fad");
        // per concept: its best value and the epoch it was reached
        Map<String, double[]> conceptBest = new LinkedHashMap<>();
        for (String line : lines) {
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (IOException e) {
                continue; // a line cut by a kill mid-write
            }
            if (n == null || !n.has("type")) continue;
            int epoch = n.path("epoch").asInt();
            if (n.get("type").asText().equals("epoch")) {
                epochs = Math.max(epochs, epoch);
                if (!perConcept && n.path(lossKey).isNumber()) {
                    double x = n.get(lossKey).asDouble();
                    if (best == null || x < best) {
                        best = x;
                        bestEpoch = epoch;
                    }
                }
            } else if (perConcept && n.get("type").asText().equals("eval")) {
                for (var it = n.path("concepts").fields(); it.hasNext(); ) {
                    var c = it.next();
                    JsonNode x = c.getValue().get(kind);
                    if (x == null || !x.isNumber()) continue;
                    double[] b = conceptBest.get(c.getKey());
                    double val = x.asDouble();
                    if (b == null || (lowerIsBetter ? val < b[0] : val > b[0])) conceptBest.put(c.getKey(), new double[]{val, epoch});
                }
            }
        }
        if (perConcept) {
            if (concept.equals("avg")) {
                if (conceptBest.isEmpty()) return new Value(null, null, epochs);
                double sum = 0;
                int last = 0;
                for (double[] b : conceptBest.values()) {
                    sum += b[0];
                    last = Math.max(last, (int) b[1]);
                }
                return new Value(sum / conceptBest.size(), last, epochs);
            }
            double[] b = conceptBest.get(concept);
            return b == null ? new Value(null, null, epochs) : new Value(b[0], (int) b[1], epochs);
        }
        return new Value(best, bestEpoch, epochs);
    }

    /** An aligned text table: rank, trial, parameters, metric, best epoch, epochs, state. */
    public String table() {
        List<String> header = new ArrayList<>(List.of("#", "trial"));
        List<String> names = parameterNames();
        header.addAll(names);
        header.addAll(List.of(folder.spec().metric().name(), "best epoch", "epochs", "state"));
        List<List<String>> cells = new ArrayList<>();
        cells.add(header);
        int rank = 1;
        for (Row r : rows) {
            List<String> line = new ArrayList<>(List.of(r.value() == null ? "-" : Integer.toString(rank++), r.run()));
            for (String n : names) line.add(format(r.parameters().get(n)));
            line.addAll(List.of(r.value() == null ? "-" : String.format(Locale.ROOT, "%.6g", r.value()),
                    r.bestEpoch() == null ? "-" : r.bestEpoch().toString(), Integer.toString(r.epochs()), r.state()));
            cells.add(line);
        }
        int[] width = new int[header.size()];
        for (List<String> line : cells) for (int k = 0; k < line.size(); k++) width[k] = Math.max(width[k], line.get(k).length());
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "sweep %s: %d trial(s), %s %s%n", folder.id(), rows.size(), folder.spec().metric().name(),
                folder.spec().metric().goal().toString().toLowerCase(Locale.ROOT) + "d"));
        for (List<String> line : cells) {
            StringBuilder l = new StringBuilder();
            for (int k = 0; k < line.size(); k++) l.append(k == 0 ? "" : "  ").append(String.format("%-" + width[k] + "s", line.get(k)));
            out.append(l.toString().stripTrailing()).append('\n');
        }
        return out.toString();
    }

    /** The same as CSV (RFC 4180 quoting), one header line. */
    public String csv() {
        List<String> names = parameterNames();
        List<String> header = new ArrayList<>(List.of("trial", "run"));
        header.addAll(names);
        header.addAll(List.of(folder.spec().metric().name(), "best_epoch", "epochs", "state"));
        StringBuilder out = new StringBuilder(String.join(",", header.stream().map(Leaderboard::csvCell).toList())).append('\n');
        for (Row r : rows) {
            List<String> line = new ArrayList<>(List.of(Integer.toString(r.index()), r.run()));
            for (String n : names) line.add(format(r.parameters().get(n)));
            line.addAll(List.of(r.value() == null ? "" : Double.toString(r.value()), r.bestEpoch() == null ? "" : r.bestEpoch().toString(),
                    Integer.toString(r.epochs()), r.state()));
            out.append(String.join(",", line.stream().map(Leaderboard::csvCell).toList())).append('\n');
        }
        return out.toString();
    }

    public String json() {
        ObjectNode root = JSON.createObjectNode();
        root.put("sweep", folder.id());
        root.put("metric", folder.spec().metric().name());
        root.put("goal", folder.spec().metric().goal().toString().toLowerCase(Locale.ROOT));
        ArrayNode trials = root.putArray("trials");
        for (Row r : rows) {
            ObjectNode t = trials.addObject();
            t.put("trial", r.index());
            t.put("run", r.run());
            t.put("run_dir", folder.runDir(r.index()).toString());
            t.set("parameters", JSON.valueToTree(r.parameters()));
            if (r.value() == null) t.putNull("value");
            else t.put("value", r.value());
            if (r.bestEpoch() == null) t.putNull("best_epoch");
            else t.put("best_epoch", r.bestEpoch());
            t.put("epochs", r.epochs());
            t.put("state", r.state());
        }
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private List<String> parameterNames() {
        return rows.isEmpty() ? List.of() : List.copyOf(rows.get(0).parameters().keySet());
    }

    /** A parameter value as a user reads it: lists joined by spaces, numbers without a trailing ".0". */
    static String format(Object value) {
        if (value instanceof List<?> list) return String.join(" ", list.stream().map(Leaderboard::format).toList());
        if (value instanceof Double d) return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString(d.longValue()) : String.format(Locale.ROOT, "%.6g", d).replaceFirst("\\.?0+(e|$)", "$1");
        return String.valueOf(value);
    }

    private static String csvCell(String s) {
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
}
