package ai.musicgenti.text;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.golden.Golden;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batching and errors of the prompt tokenizer on the tiny golden T5 vocabulary. */
class PromptTokenizerTest {
    private static Path tokenizerJson;

    @BeforeAll
    static void findTokenizer() throws IOException {
        tokenizerJson = Golden.firstOfKind("tokenizer").dir().resolve("tokenizer.json");
    }

    @Test
    void emptyPromptIsEndOfSequenceOnly() {
        try (PromptTokenizer t = PromptTokenizer.load(tokenizerJson)) {
            assertArrayEquals(new long[] {1}, t.encode(""));
            assertEquals(List.of("</s>"), t.tokens(""));
        }
    }

    @Test
    void tokensLineUpWithIds() {
        try (PromptTokenizer t = PromptTokenizer.load(tokenizerJson.getParent())) {
            assertArrayEquals(new long[] {51, 63, 1}, t.encode("calm piano"));
            assertEquals(List.of("▁calm", "▁piano", "</s>"), t.tokens("calm piano"));
        }
    }

    @Test
    void batchIsRightPaddedWithMask() {
        try (PromptTokenizer t = PromptTokenizer.load(tokenizerJson)) {
            long[] a = t.encode("calm piano"), b = t.encode(""), c = t.encode("80s synthwave with electric guitar");
            PromptTokenizer.Batch batch = t.encode(List.of("calm piano", "", "80s synthwave with electric guitar"));
            int width = c.length;
            assertArrayEquals(new long[] {3, width}, batch.inputIds().shape());
            assertArrayEquals(new long[] {3, width}, batch.attentionMask().shape());
            assertEquals(ScalarType.Long, batch.inputIds().scalar_type().intern());
            assertEquals(ScalarType.Long, batch.attentionMask().scalar_type().intern());
            assertEquals(0, t.padId());
            long[] ids = Tensors.toLongs(batch.inputIds()), mask = Tensors.toLongs(batch.attentionMask());
            long[][] rows = {a, b, c};
            for (int r = 0; r < 3; r++) {
                for (int i = 0; i < width; i++) {
                    boolean real = i < rows[r].length;
                    assertEquals(real ? rows[r][i] : 0, ids[r * width + i], "id " + r + "," + i);
                    assertEquals(real ? 1 : 0, mask[r * width + i], "mask " + r + "," + i);
                }
            }
        }
    }

    @Test
    void missingOrCorruptFileIsBadInput(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("nope.json");
        var e = assertThrows(BadInputException.class, () -> PromptTokenizer.load(missing));
        assertTrue(e.getMessage().startsWith(missing.toString()), e.getMessage());

        Path broken = Files.writeString(dir.resolve("broken.json"), "{\"model\": ");
        e = assertThrows(BadInputException.class, () -> PromptTokenizer.load(broken));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());

        Path wrong = Files.writeString(dir.resolve("wrong.json"),
                "{\"added_tokens\": [{\"id\": 0, \"content\": \"<pad>\"}], \"model\": {\"type\": \"Nonsense\"}}");
        e = assertThrows(BadInputException.class, () -> PromptTokenizer.load(wrong));
        assertTrue(e.getMessage().startsWith(wrong + " is not a valid HF tokenizers file"), e.getMessage());
    }
}
