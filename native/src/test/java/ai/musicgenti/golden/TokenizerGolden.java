package ai.musicgenti.golden;

import ai.musicgenti.text.PromptTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** The prompt tokenizer against SentencePiece / T5Tokenizer: exact ids (and pieces) for every entry of the case file. */
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
                String text = e.path("text").asText(), what = c.name() + " / " + e.path("name").asText();
                long[] actual = tokenizer.encode(text);
                assertArrayEquals(expected, actual, what + ": ids " + Arrays.toString(actual) + ", reference "
                        + Arrays.toString(expected));
                // not a listed check, but textual inversion relies on the token strings lining up with the ids
                List<String> pieces = StreamSupport.stream(e.path("pieces").spliterator(), false).map(JsonNode::asText).toList();
                assertEquals(pieces, tokenizer.tokens(text), what + ": tokens");
            }
        }
        c.checked("ids");
    }
}
