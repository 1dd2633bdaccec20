package ai.musicgenti.pipeline;

import ai.musicgenti.core.BadInputException;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Text files of one prompt or template per line: generate --prompts-file, train --train-prompts, eval --template-file. */
public final class LineFiles {
    private LineFiles() {
    }

    /**
     * The file's lines, stripped, without blank lines and {@code #} comments.
     *
     * @param option the flag that named the file, for the one-line error
     */
    public static List<String> read(Path file, String option) {
        String where = option + " " + file;
        if (Files.isDirectory(file)) throw new BadInputException(where + ": is a folder; give a text file with one line each");
        if (!Files.isReadable(file)) throw new BadInputException(where + ": cannot be read; check the path");
        try {
            return lines(Files.readString(file, StandardCharsets.UTF_8));
        } catch (CharacterCodingException e) {
            throw new BadInputException(where + ": is not UTF-8 text; save it as UTF-8 (most editors offer it under 'encoding')");
        } catch (IOException e) {
            throw new BadInputException(where + ": cannot be read (" + e.getMessage() + "); check the file");
        }
    }

    /** The lines of a text, stripped, without blank lines and {@code #} comments. */
    public static List<String> lines(String text) {
        // editors on Windows may start a UTF-8 file with a byte-order mark, which is not part of the first line
        return text.replace("\uFEFF", "").lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    }
}
