package ai.musicgenti.models;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.golden.GoldenCase;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole text-to-logits path in F16 and BF16 (weights loaded from the F32 checkpoint into the lower dtype, norms
 * and softmax in F32) stays close to the F32 reference. Low precision cannot meet the golden 1e-4 tolerance; these
 * bounds are a few units of the format's rounding step (BF16 2^-8, F16 2^-11) relative to the largest logit.
 */
class LowPrecisionTest {
    @ParameterizedTest
    @ValueSource(strings = {"bf16", "f16"})
    void teacherForcedLogitsStayCloseToTheReference(String dtype) throws Exception {
        GoldenCase c = Golden.firstOfKind("musicgen");
        Compute compute = Compute.choose("cpu", dtype);
        try (ModelFolder folder = ModelFolder.open(c.dir())) {
            MusicGen model = MusicGen.load(folder, compute);
            Tensor ids = c.io("tf.input_ids"), mask = c.io("tf.attention_mask");
            Tensor delayed = DelayPattern.build(c.io("tf.codes"), model.config().decoder().vocabSize());
            Tensor logits = model.decoder().forward(delayed, model.condition(ids, mask), mask).to(new Device("cpu"), ScalarType.Float);
            Tensor expected = c.io("tf.logits");
            double scale = expected.abs().max().item_double();
            double err = logits.sub(expected).abs().max().item_double() / scale;
            double bound = dtype.equals("bf16") ? 8 * Math.pow(2, -8) : 8 * Math.pow(2, -11);
            System.out.printf("%s: max |logit error| / max |logit| = %.2e (bound %.2e)%n", dtype, err, bound);
            assertTrue(err < bound, dtype + " error " + err + " exceeds " + bound);
        }
    }
}
