package ai.musicgenti.models;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.golden.GoldenCase;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class T5EncoderTest {

    @Test
    void gradientReachesInputsEmbedsButNotWeights() throws Exception {
        GoldenCase c = Golden.firstOfKind("t5_encoder");
        try (ModelFolder folder = ModelFolder.open(c.dir())) {
            T5Encoder encoder = new T5Encoder(T5Encoder.Config.fromJson(folder.config()), folder.weights(Compute.cpu()));
            try (PointerScope scope = new PointerScope()) {
                Tensor ids = c.io("input_ids");
                Tensor embeds = encoder.embed(ids).detach().clone().requires_grad_(true);
                Tensor out = encoder.forward(embeds, c.io("attention_mask"), false).lastHiddenState();
                out.sum().backward();

                Tensor grad = embeds.grad();
                assertTrue(grad.defined(), "inputs_embeds got no gradient");
                assertTrue(grad.isfinite().all().item_bool(), "gradient is not finite");
                assertTrue(grad.abs().sum().item_double() > 0, "gradient is zero");
                assertFalse(encoder.embeddingTable().requires_grad(), "weights must stay frozen");
                assertFalse(encoder.embeddingTable().grad().defined(), "a weight received a gradient");
            }
        }
    }

    @Test
    void reducedPrecisionKeepsNormsAndMaskInRange() throws Exception {
        GoldenCase c = Golden.firstOfKind("t5_encoder");
        Compute bf16 = new Compute(new Device("cpu"), ScalarType.BFloat16);
        try (ModelFolder folder = ModelFolder.open(c.dir())) {
            T5Encoder encoder = new T5Encoder(T5Encoder.Config.fromJson(folder.config()), folder.weights(bf16));
            try (PointerScope scope = new PointerScope()) {
                Tensor out = encoder.forward(c.io("input_ids"), c.io("attention_mask"));
                assertEquals(ScalarType.BFloat16, out.scalar_type().intern());
                // bf16 keeps ~3 significant digits; the padding mask must not turn into -inf or NaN
                double diff = out.to(ScalarType.Float).sub(c.io("last_hidden_state")).abs().max().item_double();
                assertTrue(diff < 0.1, "bf16 output differs from the f32 reference by " + diff);
            }
        }
    }

    @Test
    void configFillsTransformersDefaults() throws Exception {
        ObjectMapper json = new ObjectMapper();
        T5Encoder.Config base = T5Encoder.Config.fromJson(json.readTree("{}"));
        assertEquals(new T5Encoder.Config(32128, 512, 64, 2048, 6, 8, 32, 128, 1e-6, "relu", false, "relu"), base);
        T5Encoder.Config v11 = T5Encoder.Config.fromJson(json.readTree("{\"feed_forward_proj\": \"gated-gelu\", \"d_model\": 768}"));
        assertTrue(v11.gatedAct());
        assertEquals("gelu_new", v11.denseActFn());
        assertEquals(768, v11.dModel());
    }
}
