package ai.musicgenti.models;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.golden.GoldenCase;
import ai.musicgenti.text.PromptTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLAP text tower against transformers' {@code ClapModel} on the golden case's weights. The golden set has no text
 * outputs, so {@code scripts/reference/clap_text.py} made them with transformers (after checking that version
 * reproduces the golden audio outputs); they live in src/test/resources/reference/clap_text.
 */
@Tag("golden")
class ClapTextEncoderTest {
    private static final double ATOL = 1e-5, RTOL = 1e-4;

    private static Path reference() throws Exception {
        return Path.of(ClapTextEncoderTest.class.getResource("/reference/clap_text/io.safetensors").toURI()).getParent();
    }

    @Test
    void matchesTransformersOnTheGoldenWeights() throws Exception {
        GoldenCase c = Golden.firstOfKind("clap_audio");
        try (ModelFolder folder = ModelFolder.open(c.dir()); PointerScope scope = new PointerScope()) {
            Map<String, Tensor> io = Safetensors.readAll(reference().resolve("io.safetensors"));
            ClapTextEncoder encoder = new ClapTextEncoder(ClapTextEncoder.Config.fromJson(folder.config()), folder.weights(Compute.cpu()));
            ClapTextEncoder.Output out = encoder.forward(io.get("input_ids"), io.get("attention_mask"));
            Tensor mask = io.get("attention_mask").unsqueeze(-1).to(out.lastHiddenState().scalar_type());
            // HF's hidden states at padded positions depend on how its kernel masks them; only real tokens matter
            close("last_hidden_state", io.get("last_hidden_state").mul(mask), out.lastHiddenState().mul(mask));
            close("pooler_output", io.get("pooler_output"), out.pooler());
            close("text_projected", io.get("text_projected"), out.projected());
            close("text_embeds", io.get("text_embeds"), out.embeds());
            Tensor logits = torch.matmul(out.embeds(), c.io("audio_embeds").t()).mul(io.get("logit_scale_t"));
            close("logits_per_text", io.get("logits_per_text"), logits);
        }
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

    private static void close(String what, Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double[] e = Tensors.toDoubles(expected), a = Tensors.toDoubles(actual);
        double worst = 0;
        for (int i = 0; i < e.length; i++) {
            double excess = Math.abs(e[i] - a[i]) - (ATOL + RTOL * Math.abs(e[i]));
            assertTrue(excess <= 0, what + ": element " + i + " is " + a[i] + ", reference " + e[i]);
            worst = Math.max(worst, Math.abs(e[i] - a[i]));
        }
        System.out.printf("clap_text / %s: max abs diff %.3g%n", what, worst);
    }
}
