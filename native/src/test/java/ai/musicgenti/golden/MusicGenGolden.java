package ai.musicgenti.golden;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.generate.Generator;
import ai.musicgenti.models.DelayPattern;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.train.CodebookLoss;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.List;

/**
 * Kind {@code musicgen}: teacher forcing ({@code tf.*}), CFG greedy generation ({@code gen.*}) and the
 * textual-inversion loss and gradient ({@code ti.*}) through the whole model.
 */
final class MusicGenGolden {
    private MusicGenGolden() {
    }

    static void run(GoldenCase c) {
        try (ModelFolder folder = ModelFolder.open(c.dir())) {
            MusicGen model = MusicGen.load(folder, Compute.cpu());
            teacherForcing(c, model);
            generation(c, model);
            textualInversion(c, model);
        }
    }

    private static void teacherForcing(GoldenCase c, MusicGen model) {
        Tensor ids = c.io("tf.input_ids"), mask = c.io("tf.attention_mask");
        c.check("tf.text_encoder_last_hidden_state", model.textEncoder().forward(ids, mask));
        Tensor states = model.condition(ids, mask);
        c.check("tf.encoder_hidden_states", states);
        Tensor delayed = DelayPattern.build(c.io("tf.codes"), model.config().decoder().vocabSize());
        c.check("tf.decoder_input_ids", delayed);
        c.check("tf.logits", model.decoder().forward(delayed, states, mask));
    }

    /** The gen.* checks of a case (all of them in {@code musicgen}, a subset in {@code musicgen_generate}). */
    static void generation(GoldenCase c, MusicGen model) {
        Generator.Settings greedy = new Generator.Settings((int) c.ioLong("gen.max_new_tokens"),
                c.ioDouble("gen.guidance_scale"), false, 0, 1.0, 1.0, 0);
        List<Tensor> raw = new ArrayList<>(), scores = new ArrayList<>(), tokens = new ArrayList<>();
        // step tensors die with the step's scope: keep copies
        Tensor delayed = model.generate(c.io("gen.input_ids"), c.io("gen.attention_mask"), greedy, (step, cond, uncond, score, token) -> {
            raw.add(torch.stack(new org.bytedeco.pytorch.TensorVector(copy(cond), copy(uncond))));
            scores.add(copy(score));
            tokens.add(Tensors.longs(Tensors.toLongs(token), token.shape()));
        });
        if (c.hasCheck("gen.cfg_raw_logits")) c.check("gen.cfg_raw_logits", torch.stack(new org.bytedeco.pytorch.TensorVector(raw.toArray(new Tensor[0]))));
        if (c.hasCheck("gen.cfg_scores")) c.check("gen.cfg_scores", torch.stack(new org.bytedeco.pytorch.TensorVector(scores.toArray(new Tensor[0]))));
        c.check("gen.greedy_tokens", torch.stack(new org.bytedeco.pytorch.TensorVector(tokens.toArray(new Tensor[0]))));
        c.check("gen.delayed_sequence", delayed);
        Tensor codes = model.audioCodes(delayed);
        c.check("gen.audio_codes", codes);
        c.check("gen.audio_values", model.audioEncoder().decode(codes));
    }

    private static Tensor copy(Tensor t) {
        return Tensors.floats(Tensors.toFloats(t), t.shape());
    }

    private static void textualInversion(GoldenCase c, MusicGen model) {
        Tensor ids = c.io("ti.input_ids"), mask = c.io("ti.attention_mask");
        Tensor learned = c.io("ti.P").clone().requires_grad_(true);
        Tensor embeds = CodebookLoss.splice(model.textEncoder().embed(ids), c.io("ti.placeholder_positions"), learned);
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
}
