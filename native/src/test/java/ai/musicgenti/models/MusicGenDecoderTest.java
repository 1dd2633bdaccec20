package ai.musicgenti.models;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.golden.GoldenCase;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The decoder against the golden {@code musicgen} case (transformers 4.43.4). */
class MusicGenDecoderTest {
    private static GoldenCase c;
    private static ModelFolder folder;
    private static MusicGenDecoder decoder;

    @BeforeAll
    static void load() throws IOException {
        c = Golden.firstOfKind("musicgen");
        folder = ModelFolder.open(c.dir());
        decoder = MusicGen.load(folder, Compute.cpu()).decoder();
    }

    @AfterAll
    static void close() {
        folder.close();
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        assertArrayEquals(b.shape(), a.shape(), "shapes differ");
        float[] x = Tensors.toFloats(a), y = Tensors.toFloats(b);
        double max = 0;
        for (int i = 0; i < x.length; i++) max = Math.max(max, Double.isNaN(x[i]) ? Double.POSITIVE_INFINITY : Math.abs(x[i] - y[i]));
        return max;
    }

    /** |a - e| <= atol + rtol |e| elementwise; returns the max |diff| for the report. */
    static double assertClose(String what, Tensor actual, Tensor expected, double atol, double rtol) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] a = Tensors.toFloats(actual), e = Tensors.toFloats(expected);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs(a[i] - e[i]);
            assertTrue(d <= atol + rtol * Math.abs(e[i]), what + ": element " + i + " is " + a[i] + ", expected " + e[i]);
            max = Math.max(max, d);
        }
        System.out.printf("%s: max |diff| %.3g%n", what, max);
        return max;
    }

    @Test
    void configFillsDefaults() {
        MusicGenDecoder.Config cfg = decoder.config();
        assertEquals(64, cfg.vocabSize());
        assertEquals(4, cfg.numCodebooks());
        assertEquals(48, cfg.hiddenSize());
        assertEquals(64, cfg.specialToken());
        MusicGenDecoder.Config defaults = MusicGenDecoder.Config.fromJson(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode());
        assertEquals(new MusicGenDecoder.Config(2048, 4, 1024, 24, 16, 4096, 2048, false, "gelu", 1), defaults);
    }

    @Test
    void teacherForcedLogitsMatchReference() {
        Tensor logits = decoder.forward(c.io("tf.decoder_input_ids"), c.io("tf.encoder_hidden_states"), c.io("tf.attention_mask"));
        assertClose("tf.logits", logits, c.io("tf.logits"), 1e-4, 1e-4);
        c.check("tf.logits", logits);
    }

    @Test
    void delayPatternBuildsReferenceInputAndUndoInvertsIt() {
        Tensor codes = c.io("tf.codes");
        Tensor delayed = DelayPattern.build(codes, decoder.config().specialToken());
        c.check("tf.decoder_input_ids", delayed);
        assertTrue(torch.equal(DelayPattern.undo(c.io("tf.decoder_input_ids"), (int) codes.size(2)), codes));
        // The TI window is the first T+1 delayed steps of the same construction.
        Tensor ti = c.io("ti.codes");
        c.check("ti.decoder_input_ids", DelayPattern.build(ti, 64).narrow(2, 0, ti.size(2) + 1));
    }

    @Test
    void computedPositionTableMatchesStoredOne() {
        Tensor stored = folder.weights(Compute.cpu()).pp("decoder").get("model.decoder.embed_positions.weights", 64, 48);
        double diff = maxAbsDiff(MusicGenDecoder.sinusoidalTable(64, 48), stored);
        System.out.printf("sinusoidal table vs stored: max |diff| %.3g%n", diff);
        assertTrue(diff <= 1e-6, "computed sinusoidal table differs from the stored one by " + diff);
    }

    @Test
    void cachedSteppingEqualsFullForward() {
        Tensor ids = c.io("tf.decoder_input_ids"), enc = c.io("tf.encoder_hidden_states"), mask = c.io("tf.attention_mask");
        Tensor full = decoder.forward(ids, enc, mask);
        int t = (int) ids.size(2);

        MusicGenDecoder.KvCache cache = decoder.newCache(2, t, enc, mask);
        double worst = 0;
        for (int p = 0; p < t; p++) {
            Tensor step = decoder.step(ids.narrow(2, p, 1), cache);
            worst = Math.max(worst, maxAbsDiff(step, full.narrow(2, p, 1)));
        }
        assertEquals(t, cache.length());
        System.out.printf("one position per step vs full forward: max |diff| %.3g%n", worst);
        assertTrue(worst <= 1e-5, "cached stepping differs by " + worst);

        // A multi-position first step (prompt prefill), then single positions.
        MusicGenDecoder.KvCache prefilled = decoder.newCache(2, t, enc, mask);
        double worstPrefill = maxAbsDiff(decoder.step(ids.narrow(2, 0, 5), prefilled), full.narrow(2, 0, 5));
        worstPrefill = Math.max(worstPrefill, maxAbsDiff(decoder.step(ids.narrow(2, 5, 3), prefilled), full.narrow(2, 5, 3)));
        for (int p = 8; p < t; p++) {
            worstPrefill = Math.max(worstPrefill, maxAbsDiff(decoder.step(ids.narrow(2, p, 1), prefilled), full.narrow(2, p, 1)));
        }
        System.out.printf("prefill 5 + 3 then single steps vs full forward: max |diff| %.3g%n", worstPrefill);
        assertTrue(worstPrefill <= 1e-5, "prefilled stepping differs by " + worstPrefill);
    }

    /**
     * The unconditional half needs no text encoder (zero states, zero mask), so the golden per-step raw logits of that
     * half check the all-masked cross-attention; each step s sees the first s+1 positions of the final sequence.
     */
    @Test
    void unconditionalHalfMatchesReferenceRawLogits() {
        Tensor delayed = c.io("gen.delayed_sequence");
        Tensor raw = c.io("gen.cfg_raw_logits"); // [steps, 2, B, K, V]
        int steps = (int) raw.size(0);
        long b = delayed.size(0), s = c.io("gen.attention_mask").size(1);
        Tensor zeros = torch.zeros(b, s, decoder.config().hiddenSize());
        Tensor noText = torch.zeros(new long[]{b, s}, Compute.cpu().longs());
        Tensor logits = decoder.forward(delayed.narrow(2, 0, steps), zeros, noText); // [B, K, steps, V]
        Tensor expected = raw.select(1, 1).permute(1, 2, 0, 3);                    // [B, K, steps, V]
        assertClose("gen.cfg_raw_logits (uncond half)", logits, expected, 1e-4, 1e-4);
    }

    @Test
    void gradientReachesEncoderStates() {
        Tensor enc = c.io("tf.encoder_hidden_states").clone().set_requires_grad(true);
        Tensor logits = decoder.forward(c.io("tf.decoder_input_ids"), enc, c.io("tf.attention_mask"));
        logits.pow(Tensors.scalar(2)).sum().backward();
        Tensor grad = enc.grad();
        assertTrue(grad.defined(), "no gradient reached the encoder states");
        float[] g = Tensors.toFloats(grad);
        double norm = 0;
        for (float v : g) norm += v * v;
        assertTrue(norm > 0 && Double.isFinite(norm), "gradient norm " + norm);
        // Padded keys are masked out, so their states get no gradient (row 1 is padded from position 4).
        float[] mask = Tensors.toFloats(c.io("tf.attention_mask"));
        int h = decoder.config().hiddenSize(), s = (int) enc.size(1);
        for (int b = 0; b < 2; b++) {
            for (int j = 0; j < s; j++) {
                if (mask[b * s + j] != 0) continue;
                for (int i = 0; i < h; i++) assertEquals(0f, g[(b * s + j) * h + i], "gradient at padded key " + b + "," + j);
            }
        }
    }
}
