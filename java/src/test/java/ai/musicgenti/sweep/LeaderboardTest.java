package ai.musicgenti.sweep;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

public class LeaderboardTest {
    private static final String GRID = "method: grid\nmetric: {name: %s, goal: %s}\nparameters:\n  tokens_num: {values: [1, 2, 3]}\n";

    /** Eval lines as train writes them: per concept fad, kncc, knco, clap_score. */
    private static String eval(int epoch, double fadA, double fadB, double clapA, double clapB) {
        return String.format(java.util.Locale.ROOT, "{\"type\":\"eval\",\"epoch\":%d,\"step\":9,\"concepts\":{\"a\":{\"clap_score\":%s,\"fad\":%s,\"kncc\":0.5,\"knco\":0.5},"
                + "\"b\":{\"clap_score\":%s,\"fad\":%s,\"kncc\":0.5,\"knco\":null}},\"improved\":[],\"best_fad\":{},\"stale\":0}", epoch, clapA, fadA, clapB, fadB);
    }

    /** An epoch line as train writes it. */
    public static String epoch(int epoch, Double validCe) {
        return "{\"type\":\"epoch\",\"epoch\":" + epoch + ",\"step\":9,\"train_ce\":5.0,\"valid_ce\":" + validCe + "}";
    }

    /** Sweep "s" in {@code dir/s} (tokens_num 1, 2, 3), trial i's metrics.jsonl holding {@code runs[i]} (null: no run). */
    public static SweepFolder sweep(Path dir, String metric, String goal, List<List<String>> runs) throws Exception {
        String yaml = String.format(GRID, metric, goal);
        SweepFolder folder = SweepFolder.create(dir.resolve("s"), "s", yaml, "s.yaml", "/data/ds", "m");
        for (int i = 0; i < runs.size(); i++) {
            if (runs.get(i) == null) continue;
            Files.createDirectories(folder.runDir(i));
            Files.write(folder.runDir(i).resolve("metrics.jsonl"), runs.get(i));
        }
        return folder;
    }

    @Test
    void fadAvgIsTheMeanOfEachConceptsBestFad(@TempDir Path dir) throws Exception {
        SweepFolder folder = sweep(dir, "fad_avg", "minimize", List.of(
                // a's best 4 (epoch 1), b's best 2 (epoch 2): 3, reached at epoch 2, though no single epoch averages 3
                List.of(epoch(1, 6.0), eval(1, 4, 8, 0.1, 0.2), epoch(2, 5.0), eval(2, 6, 2, 0.3, 0.1), "{\"type\":\"ev"),
                List.of(epoch(1, 6.0), eval(1, 1, 2, 0.1, 0.1)),
                List.of(epoch(1, 6.0))));
        List<Leaderboard.Row> rows = Leaderboard.of(folder, Map.of()).rows();
        assertEquals(List.of(1, 0, 2), rows.stream().map(Leaderboard.Row::index).toList(), "lowest first; no value last");
        assertEquals(1.5, rows.get(0).value(), 1e-12);
        assertEquals(3.0, rows.get(1).value(), 1e-12);
        assertEquals(2, rows.get(1).bestEpoch());
        assertEquals(2, rows.get(1).epochs());
        assertNull(rows.get(2).value());
        assertEquals(Map.of("tokens_num", 2L), rows.get(0).parameters(), "parameters in the file's own names");
    }

    @Test
    void maximisedMetricsPerConceptAndLossesRankTheirWay(@TempDir Path dir) throws Exception {
        List<List<String>> runs = List.of(
                List.of(epoch(1, 6.0), eval(1, 4, 8, 0.1, 0.2), epoch(2, 4.5), eval(2, 6, 2, 0.3, 0.1)),
                List.of(epoch(1, 5.0), eval(1, 1, 2, 0.2, 0.6), epoch(2, 5.5)));
        List<Leaderboard.Row> clap = Leaderboard.of(sweep(dir.resolve("1"), "clap_score_avg", "maximize", runs), Map.of()).rows();
        assertEquals(List.of(1, 0, 2), clap.stream().map(Leaderboard.Row::index).toList());
        assertEquals(0.4, clap.get(0).value(), 1e-12);
        assertEquals(0.25, clap.get(1).value(), 1e-12, "mean of a's best 0.3 and b's best 0.2");
        List<Leaderboard.Row> ce = Leaderboard.of(sweep(dir.resolve("2"), "val_ce", "minimize", runs), Map.of()).rows();
        assertEquals(List.of(0, 1, 2), ce.stream().map(Leaderboard.Row::index).toList());
        assertEquals(4.5, ce.get(0).value());
        assertEquals(2, ce.get(0).bestEpoch());
        List<Leaderboard.Row> fadB = Leaderboard.of(sweep(dir.resolve("3"), "fad_b", "minimize", runs), Map.of()).rows();
        assertEquals(2.0, fadB.get(0).value());
        assertEquals(2.0, fadB.get(1).value());
        assertEquals(List.of(0, 1), fadB.subList(0, 2).stream().map(Leaderboard.Row::index).toList(), "ties by index");
        assertEquals(2, fadB.get(0).bestEpoch());
    }

    @Test
    void tableCsvAndJsonShowTheSameOrder(@TempDir Path dir) throws Exception {
        SweepFolder folder = sweep(dir, "val_ce", "minimize", List.of(List.of(epoch(1, 6.0)), List.of(epoch(1, 5.0))));
        Leaderboard board = Leaderboard.of(folder, Map.of(2, "PENDING"));
        String csv = board.csv();
        assertEquals("trial,run,tokens_num,val_ce,best_epoch,epochs,state", csv.lines().findFirst().orElseThrow());
        assertEquals(List.of("1,trial-001,2,5.0,1,1,pending", "0,trial-000,1,6.0,1,1,pending", "2,trial-002,3,,,0,pending"),
                csv.lines().skip(1).toList());
        String table = board.table();
        assertTrue(table.indexOf("trial-001") < table.indexOf("trial-000"), table);
        String json = board.json();
        assertTrue(json.indexOf("\"trial-001\"") < json.indexOf("\"trial-000\""), json);
        assertTrue(json.contains("\"value\" : null"), json);
    }
}
