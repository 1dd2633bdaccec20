package ai.musicgenti.generation;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.golden.GoldenCase;
import ai.musicgenti.models.DelayPattern;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.models.MusicGenDecoder;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static ai.musicgenti.core.Tensors.scalar;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generation mechanics on the golden {@code musicgen} decoder. The golden gen.* run needs T5 conditioning (ported
 * elsewhere), so the conditioning here is tf.encoder_hidden_states and the reference is a brute-force loop over the
 * uncached forward.
 */
class CodeSamplerTest {
    private static final double GUIDANCE = 3.0;
    private static GoldenCase c;
    private static ModelFolder folder;
    private static MusicGenDecoder decoder;
    private static Tensor enc, mask;
    private static long special;

    @BeforeAll
    static void load() throws IOException {
        c = Golden.firstOfKind("musicgen");
        folder = ModelFolder.open(c.dir());
        decoder = MusicGen.load(folder, Compute.cpu()).decoder();
        enc = c.io("tf.encoder_hidden_states");
        mask = c.io("tf.attention_mask");
        special = decoder.config().specialToken();
    }

    @AfterAll
    static void close() {
        folder.close();
    }

    private static int maxNewTokens() {
        return (int) c.ioLong("gen.max_new_tokens");
    }

    private record Step(float[] cond, float[] uncond, float[] scores, long[] tokens) {
    }

    @Test
    void greedyGuidedGenerationEqualsBruteForce() {
        int n = maxNewTokens(), k = decoder.config().numCodebooks();
        List<Step> seen = new ArrayList<>();
        Tensor sequence = CodeSampler.generate(decoder, enc, mask, CodeSampler.Settings.greedy(n, GUIDANCE),
                (step, cond, uncond, scores, tokens) -> {
                    assertEquals(seen.size(), step);
                    seen.add(new Step(Tensors.toFloats(cond), Tensors.toFloats(uncond), Tensors.toFloats(scores), Tensors.toLongs(tokens)));
                });
        assertEquals(n, seen.size());
        assertArrayEquals(new long[]{2, k, n + 1}, sequence.shape());

        // Brute force: the whole prefix through the uncached forward, cond and uncond separately.
        long b = enc.size(0);
        int frames = n + 1 - k;
        Tensor zeros = torch.zeros_like(enc), noText = torch.zeros_like(mask);
        Tensor expected = torch.full(new long[]{b, k, n + 1}, scalar(special), Compute.cpu().longs());
        double worstScore = 0, worstLogit = 0;
        for (int s = 0; s < n; s++) {
            Tensor prefix = expected.narrow(2, 0, s + 1);
            Tensor cond = decoder.forward(prefix, enc, mask).select(2, s);
            Tensor uncond = decoder.forward(prefix, zeros, noText).select(2, s);
            Tensor scores = uncond.add(cond.sub(uncond).mul(scalar(GUIDANCE)));
            Tensor tokens = scores.argmax(new LongOptional(-1), false);
            Step got = seen.get(s);
            assertArrayEquals(Tensors.toLongs(tokens), got.tokens(), "tokens of step " + s);
            worstScore = Math.max(worstScore, maxDiff(Tensors.toFloats(scores), got.scores()));
            worstLogit = Math.max(worstLogit, Math.max(maxDiff(Tensors.toFloats(cond), got.cond()), maxDiff(Tensors.toFloats(uncond), got.uncond())));
            long[] t = Tensors.toLongs(tokens);
            for (int q = 0; q < k; q++) {
                for (int row = 0; row < b; row++) {
                    long token = DelayPattern.isSpecial(q, s + 1, frames) ? special : t[row * k + q];
                    expected.select(0, row).select(0, q).select(0, s + 1).fill_(scalar(token));
                }
            }
        }
        System.out.printf("generator vs brute force: scores max |diff| %.3g, raw logits %.3g%n", worstScore, worstLogit);
        assertTrue(worstScore <= 1e-5, "scores differ by " + worstScore);
        assertTrue(worstLogit <= 1e-5, "raw logits differ by " + worstLogit);
        assertTrue(torch.equal(sequence, expected), "generated sequence differs from the brute-force one");
    }

    @Test
    void referenceScoresAreGuidedRawLogitsAndGreedyTokensTheirArgmax() {
        Tensor raw = c.io("gen.cfg_raw_logits"); // [steps, 2, B, K, V]
        Tensor cond = raw.select(1, 0), uncond = raw.select(1, 1);
        Tensor scores = uncond.add(cond.sub(uncond).mul(scalar(c.ioDouble("gen.guidance_scale"))));
        c.check("gen.cfg_scores", scores);
        c.check("gen.greedy_tokens", c.io("gen.cfg_scores").argmax(new LongOptional(-1), false));
    }

    @Test
    void undoOfReferenceSequenceGivesReferenceCodes() {
        Tensor delayed = c.io("gen.delayed_sequence");
        int frames = DelayPattern.frames((int) delayed.size(2), decoder.config().numCodebooks());
        assertEquals(maxNewTokens() + 1 - decoder.config().numCodebooks(), frames);
        c.check("gen.audio_codes", DelayPattern.undo(delayed, frames));
        c.check("gen.delayed_sequence", DelayPattern.build(c.io("gen.audio_codes"), special));
    }

    @Test
    void forcedPositionsAreSpecialAsUsedDecisionsImply() {
        int n = maxNewTokens(), k = decoder.config().numCodebooks(), frames = n + 1 - k;
        long[] used = Tensors.toLongs(c.io("gen.used_decisions")); // [steps, K]
        Tensor ours = CodeSampler.generate(decoder, enc, mask, CodeSampler.Settings.greedy(n, GUIDANCE), null);
        Tensor forced = DelayPattern.forcedTokens(2, k, n + 1, special, null);
        for (Tensor seq : new Tensor[]{ours, c.io("gen.delayed_sequence")}) {
            long[] d = Tensors.toLongs(seq), f = Tensors.toLongs(forced);
            for (int b = 0; b < 2; b++) {
                for (int q = 0; q < k; q++) {
                    assertEquals(special, d[(b * k + q) * (n + 1)], "start column");
                    for (int s = 0; s < n; s++) {
                        int i = (b * k + q) * (n + 1) + s + 1;
                        boolean decided = used[s * k + q] == 1;
                        assertEquals(decided, !DelayPattern.isSpecial(q, s + 1, frames), "step " + s + " codebook " + q);
                        assertEquals(decided ? DelayPattern.DECIDE : special, f[i]);
                        if (decided) assertTrue(d[i] >= 0 && d[i] < special, "decided token out of range");
                        else assertEquals(special, d[i], "forced position step " + s + " codebook " + q);
                    }
                }
            }
        }
    }

    @Test
    void samplingIsSeededAndTopKOneIsGreedy() {
        int n = maxNewTokens();
        Tensor greedy = CodeSampler.generate(decoder, enc, mask, CodeSampler.Settings.greedy(n, GUIDANCE), null);
        Tensor a = CodeSampler.generate(decoder, enc, mask, CodeSampler.Settings.sampling(n, GUIDANCE, 0, 1.0, 1.0, 42), null);
        Tensor again = CodeSampler.generate(decoder, enc, mask, CodeSampler.Settings.sampling(n, GUIDANCE, 0, 1.0, 1.0, 42), null);
        Tensor other = CodeSampler.generate(decoder, enc, mask, CodeSampler.Settings.sampling(n, GUIDANCE, 0, 1.0, 1.0, 43), null);
        assertTrue(torch.equal(a, again), "same seed, different samples");
        assertFalse(torch.equal(a, other), "different seeds, same samples");
        assertFalse(torch.equal(a, greedy), "unrestricted sampling reproduced the greedy sequence");
        Tensor topK1 = CodeSampler.generate(decoder, enc, mask, CodeSampler.Settings.sampling(n, GUIDANCE, 1, 1.0, 0.7, 7), null);
        assertTrue(torch.equal(topK1, greedy), "top-k 1 differs from greedy");
        Tensor tinyP = CodeSampler.generate(decoder, enc, mask, CodeSampler.Settings.sampling(n, GUIDANCE, 0, 1e-6, 1.3, 7), null);
        assertTrue(torch.equal(tinyP, greedy), "top-p 1e-6 differs from greedy");
    }

    @Test
    void warpersKeepWhatHfKeeps() {
        // p = [0.5, 0.3, 0.15, 0.05]: top-p 0.8 keeps {0, 1} (HF drops the tail whose mass stays <= 1 - p);
        // top-k 3 keeps {0, 1, 2}.
        int rows = 4000;
        float[] logp = new float[rows * 4];
        double[] p = {0.5, 0.3, 0.15, 0.05};
        for (int r = 0; r < rows; r++) for (int i = 0; i < 4; i++) logp[r * 4 + i] = (float) Math.log(p[i]);
        Tensor scores = Tensors.floats(logp, rows, 1, 4);
        org.bytedeco.pytorch.Generator rng = torch.createCPUGenerator(1);

        long[] nucleus = Tensors.toLongs(CodeSampler.sample(scores, CodeSampler.Settings.sampling(1, 1, 0, 0.8, 1.0, 0), rng));
        int[] count = new int[4];
        for (long t : nucleus) count[(int) t]++;
        assertEquals(0, count[2] + count[3], "top-p kept the tail: " + Arrays.toString(count));
        assertEquals(0.625, count[0] / (double) rows, 0.04, "renormalised nucleus: " + Arrays.toString(count));

        long[] topK = Tensors.toLongs(CodeSampler.sample(scores, CodeSampler.Settings.sampling(1, 1, 3, 1.0, 1.0, 0), rng));
        count = new int[4];
        for (long t : topK) count[(int) t]++;
        assertEquals(0, count[3], "top-k kept the 4th token: " + Arrays.toString(count));
        assertTrue(count[2] > 0, "top-k dropped the 3rd token");
    }

    @Test
    void continuingFromOwnPrefixReproducesGreedyRun() {
        int n = maxNewTokens(), k = decoder.config().numCodebooks();
        Tensor full = CodeSampler.generate(decoder, enc, mask, CodeSampler.Settings.greedy(n, GUIDANCE), null);
        Tensor prompt = DelayPattern.undo(full, n + 1 - k).narrow(2, 0, 3);
        Tensor continued = CodeSampler.generate(decoder, enc, mask, prompt, CodeSampler.Settings.greedy(n - 3, GUIDANCE), null);
        assertTrue(torch.equal(continued, full), "continuation from the first 3 frames diverged");
    }

    @Test
    void durationToSteps() {
        assertEquals(250, CodeSampler.maxNewTokensFor(247 / 50.0, 50, 4));
        assertEquals(253, CodeSampler.maxNewTokensFor(5.0, 50, 4));
        assertEquals(12, CodeSampler.maxNewTokensFor(9 / 2000.0, 2000, 4));
    }

    @Test
    void defaultsComeFromTheCheckpointsGenerationConfig() throws Exception {
        CodeSampler.Settings s = CodeSampler.Settings.fromGenerationConfig(ModelFolder.readJson(
                Golden.firstOfKind("musicgen_generate").dir().resolve("generation_config.json"), true), 9);
        assertTrue(s.sample());
        assertEquals(3.0, s.guidanceScale());
        assertEquals(50, s.topK());
        assertEquals(250, s.maxNewTokens());
        CodeSampler.Settings hf = CodeSampler.Settings.fromGenerationConfig(
                new com.fasterxml.jackson.databind.ObjectMapper().readTree("{\"max_length\": 1500}"), 0);
        assertFalse(hf.sample());
        assertEquals(1499, hf.maxNewTokens());
        assertEquals(1.0, hf.guidanceScale());
    }

    private static double maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
