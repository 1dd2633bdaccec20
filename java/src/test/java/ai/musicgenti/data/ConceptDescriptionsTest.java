package ai.musicgenti.data;

import ai.musicgenti.core.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConceptDescriptionsTest {
    @TempDir
    Path tmp;

    private Map<String, String> read(String json) throws Exception {
        Path f = tmp.resolve("metadata_concepts.json");
        Files.writeString(f, json);
        return ConceptDescriptions.read(f);
    }

    @Test
    void readsTheThreeSpellings() throws Exception {
        Map<String, String> expected = Map.of("8bit", "chiptune from consoles", "synthwave", "retro synths");
        assertEquals(expected, read("{\"8bit\": \"chiptune from consoles\", \"synthwave\": \" retro synths \"}"));
        assertEquals(expected, read("{\"8bit\": {\"description\": \"chiptune from consoles\"}, \"synthwave\": {\"description\": \"retro synths\"}}"));
        assertEquals(expected, read("[{\"concept\": \"8bit\", \"description\": \"chiptune from consoles\"}, {\"name\": \"synthwave\", \"description\": \"retro synths\"}]"));
    }

    @Test
    void malformedFilesAreOneLineErrorsNamingTheFile() {
        for (String bad : new String[]{"{\"8bit\": 3}", "{\"8bit\": \"\"}", "[{\"description\": \"x\"}]", "\"text\"", "{broken",
                "[{\"concept\": \"a\", \"description\": \"x\"}, {\"concept\": \"a\", \"description\": \"y\"}]"}) {
            BadInputException e = assertThrows(BadInputException.class, () -> read(bad), bad);
            assertTrue(e.getMessage().contains("metadata_concepts.json") && !e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void aDatasetWithoutTheFileHasNoDescriptions() {
        assertEquals(Map.of(), ConceptDescriptions.of(tmp));
    }
}
