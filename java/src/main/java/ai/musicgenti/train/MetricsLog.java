package ai.musicgenti.train;

import ai.musicgenti.core.AtomicFiles;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.data.FiniteJson;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A run's {@code metrics.jsonl}: one JSON object a line, keys sorted, each with {@code "time"}, the wall-clock time it
 * was written as ISO-8601 UTC with milliseconds ({@code 2026-12-01T23:45:10.123Z}), for charts over time.
 */
public final class MetricsLog {
    public static final String FILE = "metrics.jsonl";
    private static final ObjectMapper JSON = FiniteJson.mapper();

    private final Path file;
    private final Clock clock;

    MetricsLog(Path runDir, Clock clock) {
        this.file = runDir.resolve(FILE);
        this.clock = clock;
    }

    /** An empty log, for a new run. */
    void clear() {
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, new byte[0]);
        } catch (IOException e) {
            throw new BadInputException("run folder " + file.getParent() + ": cannot be written (" + e.getMessage() + ")");
        }
    }

    /** A run killed between a checkpoint and the next one logged steps it will redo: forget them. */
    void dropAfter(long lastStep) {
        try {
            if (!Files.exists(file)) return;
            List<String> kept = new ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank() || !line.endsWith("}")) continue; // a line cut short by a kill is redone anyway
                if (JSON.readTree(line).path("step").asLong(Long.MAX_VALUE) <= lastStep) kept.add(line);
            }
            AtomicFiles.writeBytes(file, (String.join("\n", kept) + (kept.isEmpty() ? "" : "\n")).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void append(Map<String, Object> line) throws IOException {
        Map<String, Object> stamped = new TreeMap<>(line);
        stamped.put("time", clock.instant().truncatedTo(ChronoUnit.MILLIS).toString());
        Files.writeString(file, JSON.writeValueAsString(stamped) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
