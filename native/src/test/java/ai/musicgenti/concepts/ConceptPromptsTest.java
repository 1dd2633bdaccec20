package ai.musicgenti.concepts;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.text.PromptTokenizer;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.concepts.LearnedConcepts;
import ai.musicgenti.inversion.TextualInversion;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConceptPromptsTest {
    private static Path dir;
    private static PromptTokenizer tokenizer;
    private static ConceptPrompts prompts;

    @BeforeAll
    static void load() throws Exception {
        dir = Golden.firstOfKind("musicgen_generate").dir();
        tokenizer = PromptTokenizer.load(dir);
        Map<String, Integer> counts = new LinkedHashMap<>();
        counts.put("8bit", 3);
        counts.put("synth", 2);
        prompts = new ConceptPrompts(tokenizer, counts);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    private static long[] concat(long[]... parts) {
        return Arrays.stream(parts).flatMapToLong(LongStream::of).toArray();
    }

    /** An unknown placeholder would be tokenised as the words "<", "drums", ">", and the clip would lack the concept. */
    @Test
    void aPlaceholderThatNamesNoLoadedConceptIsRefused() {
        for (String bad : List.of("calm piano <drums>", "a <8Bit> tune", "<synth_x> pads")) {
            BadInputException e = assertThrows(BadInputException.class, () -> prompts.encode(bad, null), bad);
            assertTrue(e.getMessage().startsWith("prompt '" + bad + "': <") && e.getMessage().contains("loaded: 8bit, synth"), e.getMessage());
        }
        assertEquals(List.of("<drums>", "<8bit_1>"), ConceptPrompts.placeholders("calm <drums> and <8bit_1>, 3 < 4 > 2"));
        prompts.requireKnown("in the style of %s with <synth_1>", "template");
        prompts.encode("a < b > c and <8bit>", null);
    }

    @Test
    void placeholdersTakeOnePositionPerTokenAndThePromptEndsInEos() {
        long pad = tokenizer.padId(), eos = tokenizer.eosId();
        ConceptPrompts.Encoded e = prompts.encode("calm piano with <8bit> and <synth_1> drums", null);
        long[] calm = tokenizer.encodePlain("calm piano with"), and = tokenizer.encodePlain("and"), drums = tokenizer.encodePlain("drums");
        assertArrayEquals(concat(calm, new long[]{pad, pad, pad}, and, new long[]{pad}, drums, new long[]{eos}), e.ids());
        long[] none = new long[calm.length];
        Arrays.fill(none, -1);
        long[] rows = concat(none, new long[]{0, 1, 2}, new long[and.length], new long[]{4}, new long[drums.length], new long[]{-1});
        for (int i = calm.length + 3; i < calm.length + 3 + and.length; i++) rows[i] = -1;
        for (int i = rows.length - 1 - drums.length; i < rows.length - 1; i++) rows[i] = -1;
        assertArrayEquals(rows, e.rows());
    }

    @Test
    void aPromptWithoutConceptsIsTokenisedAsGenerationDoes() {
        String text = "an upbeat jazz track with saxophone, drums and bass.";
        assertArrayEquals(tokenizer.encode(text), prompts.encode(text, null).ids());
        assertArrayEquals(new long[]{tokenizer.eosId()}, prompts.encode("", null).ids());
    }

    @Test
    void shufflePermutesAConceptsTokens() {
        long[] seen = prompts.encode("<8bit>", null).rows();
        boolean differs = false;
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 20; i++) {
            long[] rows = prompts.encode("<8bit>", random).rows();
            long[] sorted = rows.clone();
            Arrays.sort(sorted, 0, 3);
            assertArrayEquals(seen, sorted);
            differs |= !Arrays.equals(seen, rows);
        }
        assertTrue(differs);
    }

    @Test
    void batchesArePaddedOnTheRightAndBadTokensAreNamed() {
        ConceptPrompts.Batch b = prompts.batch(List.of("<synth>", "a long prompt about <8bit> music"), null);
        long[] mask = Tensors.toLongs(b.attentionMask());
        int width = (int) b.inputIds().size(1);
        assertEquals(3, Arrays.stream(mask, 0, width).sum());
        assertEquals(width, Arrays.stream(mask, width, 2 * width).sum());
        assertEquals(-1, Tensors.toLongs(b.rows())[3]);
        BadInputException e = assertThrows(BadInputException.class, () -> prompts.encode("<synth_2>", null));
        assertTrue(e.getMessage().contains("_0 to _1"), e.getMessage());
    }

    @Test
    void conceptsFileRoundTripsAndRefusesAnotherModel(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("c.safetensors");
        try (ModelFolder folder = ModelFolder.open(dir); ModelFolder other = ModelFolder.open(Golden.firstOfKind("musicgen").dir())) {
            MusicGen model = MusicGen.load(folder, Compute.cpu());
            Tensor learned = TextualInversion.initFromMean(model, 5, 0.1, 1);
            String hash = LearnedConcepts.baseModelHash(folder);
            LearnedConcepts.save(file, prompts.concepts(), learned, new LearnedConcepts.Info("tiny", hash, 3, 42, "{}"));
            LearnedConcepts loaded = LearnedConcepts.load(file, folder);
            assertEquals(prompts.concepts().size(), loaded.tokenCounts().size());
            assertEquals(0.0, loaded.table().sub(learned.detach()).abs().max().item_double(), 0.0);

            LearnedConcepts.Conditioning c = loaded.condition(model, tokenizer, List.of("music like <synth>", "plain"));
            Tensor plain = model.textEncoder().embed(c.inputIds());
            assertNotEquals(0.0, c.inputsEmbeds().sub(plain).abs().sum().item_double());
            assertEquals(0.0, c.inputsEmbeds().select(0, 1).sub(plain.select(0, 1)).abs().sum().item_double(), 0.0);
            assertEquals(2, model.conditionFromEmbeddings(c.inputsEmbeds(), c.attentionMask()).size(0));

            BadInputException width = assertThrows(BadInputException.class, () -> LearnedConcepts.load(file, other));
            assertTrue(width.getMessage().contains("width"), width.getMessage());
            LearnedConcepts.save(file, prompts.concepts(), learned, new LearnedConcepts.Info("tiny", "0".repeat(64), 3, 42, "{}"));
            BadInputException hashError = assertThrows(BadInputException.class, () -> LearnedConcepts.load(file, folder));
            assertTrue(hashError.getMessage().contains("--model tiny"), hashError.getMessage());
        }
    }
}
