package ai.musicgenti.golden;

import ai.musicgenti.text.PromptTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** The prompt tokenizer against SentencePiece / T5Tokenizer: exact ids for every entry of the case file. */
final class TokenizerGolden {
    private TokenizerGolden() {
    }

    static void run(GoldenCase c) {
        JsonNode entries;
        try {
            entries = new ObjectMapper().readTree(c.dir().resolve(c.spec().path("file").asText()).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertFalse(entries.isEmpty(), c.name() + ": no tokenizer entries");
        try (PromptTokenizer tokenizer = PromptTokenizer.load(c.dir().resolve(c.spec().path("tokenizer").asText()))) {
            for (JsonNode e : entries) {
                long[] expected = StreamSupport.stream(e.path("ids").spliterator(), false).mapToLong(JsonNode::asLong).toArray();
                long[] actual = tokenizer.encode(e.path("text").asText());
                assertArrayEquals(expected, actual, c.name() + " / " + e.path("name").asText() + ": ids "
                        + Arrays.toString(actual) + ", reference " + Arrays.toString(expected));
            }
        }
        c.checked("ids");
    }
}
