package ai.musicgenti.app;

import ai.musicgenti.core.AtomicFiles;
import ai.musicgenti.core.BadInputException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One self-contained HTML file about a run, for people who do not run the server: the run's data as the API gives
 * it, the page's own chart code, and the evaluation clips as WAV data URIs, so it opens offline from anywhere.
 */
public final class Report {
    /** Clips are embedded up to this many bytes in all (newest evaluations first); the rest are listed by name. */
    static final long MAX_AUDIO_BYTES = 64L * 1024 * 1024;

    private Report() {
    }

    /** Writes the report of {@code runDir} to {@code out} (atomically); BadInputException when it is not a run folder. */
    public static void write(Path runDir, Path out) throws IOException {
        Path dir = runDir.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir) || !RunFolders.isRun(dir)) {
            throw new BadInputException(runDir + ": not a run folder (no metrics.jsonl, config.json or checkpoint); give runs/<run>");
        }
        Path runs = dir.getParent();
        Map<String, Object> run = RunFolders.run(runs, dir);
        Map<String, String> audio = new LinkedHashMap<>();
        long budget = MAX_AUDIO_BYTES;
        @SuppressWarnings("unchecked")
        Map<String, List<String>> clips = (Map<String, List<String>>) run.get("clips");
        List<String> epochs = new ArrayList<>(clips.keySet());
        java.util.Collections.reverse(epochs);
        for (String epoch : epochs) {
            for (String clip : clips.get(epoch)) {
                Path file = runs.resolve(clip);
                long size = Files.size(file);
                if (size > budget) continue;
                budget -= size;
                audio.put(clip, "data:audio/wav;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(file)));
            }
        }
        run.put("audio", audio);
        String json = RunFolders.JSON.writeValueAsString(run).replace("</", "<\\/").replace("<!--", "<\\!--");
        String html = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                + "<title>musicgen-ti run " + escape(dir.getFileName().toString()) + "</title>\n"
                + "<style>\n" + asset("app.css") + "\n</style></head>\n<body class=\"report\">\n"
                + "<header><h1>Run " + escape(dir.getFileName().toString()) + "</h1><p class=\"muted\">written by musicgen-ti report; opens offline</p></header>\n"
                + "<main id=\"run\"></main>\n"
                + "<script type=\"application/json\" id=\"run-data\">" + json + "</script>\n"
                + "<script>\n" + asset("charts.js") + "\n</script>\n"
                + "<script>\nconst run = JSON.parse(document.getElementById('run-data').textContent);\n"
                + "RunView.render(document.getElementById('run'), run, clip => run.audio[clip] || null);\n</script>\n"
                + "</body></html>\n";
        AtomicFiles.writeBytes(out, html.getBytes(StandardCharsets.UTF_8));
    }

    static String asset(String name) throws IOException {
        try (InputStream in = Report.class.getResourceAsStream("static/" + name)) {
            if (in == null) throw new IllegalStateException("the launcher lacks its page asset " + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
