package ai.musicgenti.data;

import ai.musicgenti.core.AtomicFiles;
import ai.musicgenti.core.BadInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code metadata_concepts.json}: a plain-text description of each concept ("chiptune from 8-bit consoles"), which
 * the CLAP text–audio score compares generated audio with. Put it beside the concept folders; {@code prepare} copies
 * it into the dataset. Three spellings are read, so a seed's file works unchanged:
 * <pre>
 * {"8bit": "chiptune from 8-bit consoles", ...}
 * {"8bit": {"description": "chiptune from 8-bit consoles"}, ...}
 * [{"concept": "8bit", "description": "chiptune from 8-bit consoles"}, ...]   ("name" for "concept" too)
 * </pre>
 */
public final class ConceptDescriptions {
    public static final String FILE = "metadata_concepts.json";
    private static final String FIX = "write it as {\"<concept>\": \"<description>\", ...}";

    private ConceptDescriptions() {
    }

    /** What {@code --descriptions} takes to turn the CLAP score off (say, with a CLAP checkpoint that has no text tower). */
    public static final String NONE = "none";

    /**
     * The descriptions a command uses: {@code choice} null = the dataset's own (if any), {@link #NONE} = none, else a
     * file; {@code option} names the flag in errors.
     */
    public static Map<String, String> choose(String choice, String option, PreparedDataset dataset) {
        if (choice == null) return dataset.descriptions();
        if (choice.equals(NONE)) return Map.of();
        Path file = Path.of(choice);
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(option + " " + choice + ": no such file; give a " + FILE + " or " + NONE + " (no CLAP score)");
        }
        return read(file);
    }

    /** Concept name to description, in file order; BadInputException naming the file and the fix when it is malformed. */
    public static Map<String, String> read(Path file) {
        JsonNode json;
        try {
            json = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new BadInputException(file + ": not readable JSON (" + String.valueOf(e.getMessage()).lines().findFirst().orElse("")
                    + "); " + FIX, e);
        }
        Map<String, String> out = new LinkedHashMap<>();
        if (json != null && json.isObject()) {
            json.fields().forEachRemaining(e -> put(out, file, e.getKey(), e.getValue().isObject() ? e.getValue().get("description") : e.getValue()));
        } else if (json != null && json.isArray()) {
            for (JsonNode item : json) {
                JsonNode name = item.has("concept") ? item.get("concept") : item.get("name");
                if (name == null || !name.isTextual()) throw new BadInputException(file + ": an entry has no \"concept\" name; " + FIX);
                put(out, file, name.asText(), item.get("description"));
            }
        } else {
            throw new BadInputException(file + ": expected an object or a list of concepts; " + FIX);
        }
        return out;
    }

    private static void put(Map<String, String> out, Path file, String concept, JsonNode description) {
        if (description == null || !description.isTextual() || description.asText().isBlank()) {
            throw new BadInputException(file + ": concept " + concept + " has no text description; " + FIX);
        }
        if (out.put(concept, description.asText().strip()) != null) {
            throw new BadInputException(file + ": concept " + concept + " is described twice; keep one description");
        }
    }

    /** The descriptions kept in a prepared dataset folder; empty when it has none. */
    public static Map<String, String> of(Path datasetDir) {
        Path file = datasetDir.resolve(FILE);
        return Files.isRegularFile(file) ? read(file) : Map.of();
    }

    /** Writes descriptions in the first spelling, atomically. */
    public static void write(Path file, Map<String, String> descriptions) throws IOException {
        AtomicFiles.writeBytes(file, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(descriptions));
    }
}
