package ai.musicgenti.golden;

import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.generation.MusicGeneration;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.generation.CodeSampler;
import ai.musicgenti.models.DelayPattern;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.concepts.LearnedConcepts;
import ai.musicgenti.inversion.CodebookLoss;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.LongStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Kind {@code musicgen}: teacher forcing ({@code tf.*}), CFG greedy generation ({@code gen.*}) and the
 * textual-inversion loss and gradient ({@code ti.*}) through the whole model.
 */
public final class MusicGenGolden {
    private MusicGenGolden() {
    }

    static void run(GoldenCase c) {
        try (ModelFolder folder = ModelFolder.open(c.dir())) {
            MusicGen model = MusicGen.load(folder, c.compute());
            teacherForcing(c, model);
            generation(c, model);
            textualInversion(c, model);
        }
    }

    static void teacherForcing(GoldenCase c, MusicGen model) {
        Tensor ids = c.io("tf.input_ids"), mask = c.io("tf.attention_mask");
        c.check("tf.text_encoder_last_hidden_state", model.textEncoder().forward(ids, mask));
        Tensor states = model.condition(ids, mask);
        c.check("tf.encoder_hidden_states", states);
        Tensor delayed = DelayPattern.build(c.io("tf.codes"), model.config().decoder().vocabSize());
        c.check("tf.decoder_input_ids", delayed);
        c.check("tf.logits", model.decoder().forward(delayed, states, mask));
    }

    /**
     * The gen.* checks of a case (all of them in {@code musicgen}, a subset in {@code musicgen_generate}). Off CPU/F32
     * only the first step is compared: its logits where the case has them, else its used decisions; that replaces
     * the token run.
     */
    static void generation(GoldenCase c, MusicGen model) {
        CodeSampler.Settings greedy = CodeSampler.Settings.greedy((int) c.ioLong("gen.max_new_tokens"), c.ioDouble("gen.guidance_scale"));
        List<float[]> raw = new ArrayList<>(), scores = new ArrayList<>();
        List<long[]> tokens = new ArrayList<>();
        long[][] shapes = new long[2][];
        // step tensors die with the step's PointerScope (and so would tensors made from them): keep Java arrays
        Tensor delayed = MusicGeneration.delayedCodes(model, c.io("gen.input_ids"), c.io("gen.attention_mask"), greedy, (step, cond, uncond, score, token) -> {
            float[] cv = Tensors.toFloats(cond), uv = Tensors.toFloats(uncond);
            float[] both = Arrays.copyOf(cv, cv.length + uv.length);
            System.arraycopy(uv, 0, both, cv.length, uv.length);
            raw.add(both);
            scores.add(Tensors.toFloats(score));
            tokens.add(Tensors.toLongs(token));
            shapes[0] = score.shape();
            shapes[1] = token.shape();
        });
        if (c.atReference()) {
            int steps = tokens.size();
            if (c.hasCheck("gen.cfg_raw_logits")) c.check("gen.cfg_raw_logits", Tensors.floats(concat(raw), prepend(steps, 2, shapes[0])));
            if (c.hasCheck("gen.cfg_scores")) c.check("gen.cfg_scores", Tensors.floats(concat(scores), prepend(steps, shapes[0])));
            c.check("gen.greedy_tokens", Tensors.longs(tokens.stream().flatMapToLong(LongStream::of).toArray(), prepend(steps, shapes[1])));
            c.check("gen.delayed_sequence", delayed);
            c.check("gen.audio_codes", model.audioCodes(delayed));
        } else {
            firstStep(c, raw.get(0), scores.get(0), tokens.get(0), shapes);
        }
        // from the reference codes, which equal ours wherever the token run is compared
        c.check("gen.audio_values", model.audioEncoder().decode(c.io("gen.audio_codes")));
    }

    private static void firstStep(GoldenCase c, float[] raw, float[] scores, long[] tokens, long[][] shapes) {
        String by;
        if (c.hasCheck("gen.cfg_raw_logits")) {
            c.checkLeading("gen.cfg_raw_logits", Tensors.floats(raw, prepend(1, 2, shapes[0])));
            c.checkLeading("gen.cfg_scores", Tensors.floats(scores, prepend(1, shapes[0])));
            by = "the first step's logits and scores were compared";
        } else {
            // only the decisions the delay pattern keeps have a checked margin
            long[] used = Tensors.toLongs(c.io("gen.used_decisions").select(0, 0));
            long[] expected = Tensors.toLongs(c.io("gen.greedy_tokens").select(0, 0));
            int k = used.length;
            for (int i = 0; i < tokens.length; i++) {
                if (used[i % k] != 0) assertEquals(expected[i], tokens[i], c.name() + ": first-step token " + i);
            }
            by = "the first step's decisions were compared";
        }
        for (String t : List.of("gen.greedy_tokens", "gen.delayed_sequence", "gen.audio_codes")) c.replaced(t, by);
    }

    private static float[] concat(List<float[]> parts) {
        float[] out = new float[parts.stream().mapToInt(p -> p.length).sum()];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private static long[] prepend(long first, long[] rest) {
        return LongStream.concat(LongStream.of(first), LongStream.of(rest)).toArray();
    }

    private static long[] prepend(long first, long second, long[] rest) {
        return prepend(first, prepend(second, rest));
    }

    private static void textualInversion(GoldenCase c, MusicGen model) {
        Tensor ids = c.io("ti.input_ids"), mask = c.io("ti.attention_mask");
        Tensor learned = c.io("ti.P").clone().to(c.compute().device(), ScalarType.Float).requires_grad_(true);
        Tensor embeds = LearnedConcepts.splice(model.textEncoder().embed(ids), learnedRows(c.io("ti.placeholder_positions"), ids.size(1)), learned);
        c.check("ti.inputs_embeds", embeds);
        Tensor codes = c.io("ti.codes");
        long frames = codes.size(2);
        Tensor input = DelayPattern.build(codes, model.config().decoder().vocabSize()).narrow(2, 0, frames + 1);
        c.check("ti.decoder_input_ids", input);
        Tensor logits = model.decoder().forward(input, model.conditionFromEmbeddings(embeds, mask), mask);
        c.check("ti.logits", logits);
        CodebookLoss.Result loss = CodebookLoss.compute(logits, codes, null);
        c.check("ti.loss_mask", loss.validMask().to(ScalarType.Long));
        c.check("ti.ce_per_codebook", loss.perCodebook());
        c.check("ti.loss", loss.loss().reshape(1));
        loss.loss().backward();
        c.check("ti.grad_P", learned.grad());
    }

    /** The reference names the positions [B,N] that take P's rows 0..N-1; splice wants each position's row [B,S]. */
    public static Tensor learnedRows(Tensor positions, long seq) {
        long[] pos = Tensors.toLongs(positions);
        int batch = (int) positions.size(0), n = (int) positions.size(1);
        long[] rows = new long[batch * (int) seq];
        Arrays.fill(rows, -1);
        for (int b = 0; b < batch; b++) for (int j = 0; j < n; j++) rows[b * (int) seq + (int) pos[b * n + j]] = j;
        return Tensors.longs(rows, batch, seq);
    }
}
