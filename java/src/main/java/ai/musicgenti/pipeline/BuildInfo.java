package ai.musicgenti.pipeline;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

/** The version and commit this build was made from, as recorded in the files jobs write. */
public final class BuildInfo {
    private BuildInfo() {
    }

    public static String version() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("/musicgen-ti-build.properties")) {
            if (in != null) p.load(new InputStreamReader(in, StandardCharsets.UTF_8));
        } catch (IOException e) {
            // a damaged jar: say so below rather than fail the job
        }
        return "musicgen-ti " + p.getProperty("version", "(version unknown)") + " (commit " + p.getProperty("commit", "unknown") + ")";
    }
}
