package ai.musicgenti.golden;

import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.models.ClapTextEncoder;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * CLAP text tower against HF {@code ClapModel}: RoBERTa states, pooled first token, projection, normalised
 * embeddings, and the text-audio logits against the clap_audio case's embeddings with the checkpoint's
 * {@code logit_scale_t}.
 */
final class ClapTextGolden {
    private ClapTextGolden() {
    }

    static void run(GoldenCase c) {
        Tensor ids = c.io("input_ids"), mask = c.io("attention_mask"), audio = c.io("audio_embeds");
        try (ModelFolder folder = ModelFolder.open(c.dir())) {
            ClapTextEncoder encoder = new ClapTextEncoder(ClapTextEncoder.Config.fromJson(folder.config()),
                    folder.weights(c.compute()));
            try (PointerScope scope = new PointerScope()) {
                ClapTextEncoder.Output out = encoder.forward(ids, mask);
                c.check("last_hidden_state", out.lastHiddenState());
                c.check("pooler_output", out.pooler());
                c.check("text_projected", out.projected());
                c.check("text_embeds", out.embeds());
                // a 0-d log scale in the checkpoint, as PyTorch stores it
                Tensor scale = folder.store().tensor("logit_scale_t").to(ScalarType.Float).exp();
                Tensor embeds = out.embeds().to(audio.device(), ScalarType.Float);
                c.check("logits_per_text", torch.matmul(embeds, audio.t()).mul(scale));
            }
        }
    }
}
