package ai.musicgenti.golden;

import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.models.T5Encoder;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.util.List;

/**
 * T5 encoder against HF {@code T5EncoderModel}: from token ids (all hidden states and the position bias) and from
 * given embeddings (the textual-inversion entry point).
 */
final class T5EncoderGolden {
    private T5EncoderGolden() {
    }

    static void run(GoldenCase c) {
        // io tensors and weights live outside the scope; only the forward temporaries belong to it
        Tensor ids = c.io("input_ids"), mask = c.io("attention_mask");
        Tensor embeds = c.io("embeds.inputs_embeds"), embedsMask = c.io("embeds.attention_mask");
        try (ModelFolder folder = ModelFolder.open(c.dir())) {
            T5Encoder encoder = new T5Encoder(T5Encoder.Config.fromJson(folder.config()), folder.weights(c.compute()));
            try (PointerScope scope = new PointerScope()) {
                T5Encoder.Output out = encoder.forward(encoder.embed(ids), mask, true);
                c.check("last_hidden_state", out.lastHiddenState());
                c.check("last_hidden_state", encoder.forward(ids, mask));
                List<Tensor> hidden = out.hiddenStates();
                c.check("hidden_states", torch.stack(new TensorVector(hidden.toArray(new Tensor[0])), 0));

                long tokens = ids.size(1);
                c.check("position_bias", encoder.positionBias(tokens, tokens));

                c.check("embeds.last_hidden_state", encoder.forward(embeds, embedsMask, false).lastHiddenState());
            }
        }
    }
}
