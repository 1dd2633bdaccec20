package ai.musicgenti.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** metrics.jsonl lines for comparing two runs: the same but for when they were written (wall-clock time, time left). */
public final class MetricsLines {
    private MetricsLines() {
    }

    public static List<String> withoutClock(Path metrics) throws IOException {
        return Files.readAllLines(metrics).stream()
                .map(l -> l.replaceAll(",\"seconds_left\":[^,}]*", "").replaceAll(",\"time\":\"[^\"]*\"", "")).toList();
    }
}
