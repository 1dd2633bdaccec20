package ai.musicgenti.text;

import ai.musicgenti.core.Tensors;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The prompt tokenizer on a byte-level BPE in RoBERTa's layout (what CLAP checkpoints ship) against the ids
 * transformers' {@code RobertaTokenizerFast} gives; {@code scripts/reference/clap_text.py} made both files, which live
 * in src/test/resources/reference/clap_text. The CLAP text tower itself is a golden case ({@code clap_text}).
 */
class RobertaTokenizerTest {
    private static Path reference() throws Exception {
        return Path.of(RobertaTokenizerTest.class.getResource("/reference/clap_text/tokenizer.json").toURI()).getParent();
    }
    @Test
    void robertaTokenizerGivesTheReferenceIds() throws Exception {
        JsonNode cases = new ObjectMapper().readTree(reference().resolve("tokenizer_cases.json").toFile());
        List<String> texts = StreamSupport.stream(cases.path("texts").spliterator(), false).map(JsonNode::asText).toList();
        try (PromptTokenizer tokenizer = PromptTokenizer.load(reference().resolve("tokenizer.json")); PointerScope scope = new PointerScope()) {
            PromptTokenizer.Batch batch = tokenizer.encode(texts);
            assertArrayEquals(longs(cases.path("input_ids")), Tensors.toLongs(batch.inputIds()), "input_ids of " + texts);
            assertArrayEquals(longs(cases.path("attention_mask")), Tensors.toLongs(batch.attentionMask()), "attention_mask");
        }
    }

    @Test
    void truncationKeepsTheEndToken() throws Exception {
        try (PromptTokenizer tokenizer = PromptTokenizer.load(reference().resolve("tokenizer.json")); PointerScope scope = new PointerScope()) {
            String text = "a slow ballad with warm piano and soft strings";
            long[] full = tokenizer.encode(text);
            long[] cut = Tensors.toLongs(tokenizer.encode(List.of(text), 5).inputIds());
            assertArrayEquals(new long[]{full[0], full[1], full[2], full[3], full[full.length - 1]}, cut, Arrays.toString(full));
        }
    }

    private static long[] longs(JsonNode rows) {
        return StreamSupport.stream(rows.spliterator(), false)
                .flatMap(r -> StreamSupport.stream(r.spliterator(), false)).mapToLong(JsonNode::asLong).toArray();
    }
}
