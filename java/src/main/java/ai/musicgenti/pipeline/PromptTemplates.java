package ai.musicgenti.pipeline;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** Prompt templates with {@code %s}: from a file, or the copies of {@code configs/prompts/} packed into the jar. */
public final class PromptTemplates {
    public static final String TRAIN = "train.txt";
    public static final String VALID = "valid.txt";

    private PromptTemplates() {
    }

    /** {@code file} ({@code field} names it in errors) when given, else the bundled {@code configs/prompts/<bundled>}. */
    public static List<String> read(Path file, String field, String bundled) {
        if (file != null) return LineFiles.read(file, field);
        try (InputStream in = PromptTemplates.class.getResourceAsStream("/prompts/" + bundled)) {
            if (in == null) throw new IllegalStateException("/prompts/" + bundled + " is not bundled in this build");
            return LineFiles.lines(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
