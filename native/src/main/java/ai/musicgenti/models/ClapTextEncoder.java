package ai.musicgenti.models;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.ConfigJson;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.Weights;
import ai.musicgenti.models.Layers.Activation;
import ai.musicgenti.models.Layers.LayerNorm;
import ai.musicgenti.models.Layers.Linear;
import ai.musicgenti.models.Layers.Projection;
import com.fasterxml.jackson.databind.JsonNode;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The text tower of LAION CLAP as Hugging Face {@code ClapModel} runs it: a RoBERTa encoder (post-LayerNorm BERT
 * layers, positions counted from the pad id), the first token's pooled state, then the text projection. Its
 * normalised output lives in the same space as {@link ClapAudioEncoder}'s, which is what a CLAP text–audio score
 * compares.
 */
public final class ClapTextEncoder {

    /**
     * The fields of {@code ClapTextConfig} the tower reads, plus the projection settings {@code ClapConfig} writes into
     * it. Absent keys take transformers' defaults (those of {@code roberta-base}).
     */
    public record Config(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads, int intermediateSize,
                         String hiddenAct, int maxPositionEmbeddings, int typeVocabSize, double layerNormEps,
                         int padTokenId, String positionEmbeddingType, int projectionDim, String projectionHiddenAct) {

        public Config {
            for (var e : new Object[][]{{"vocab_size", vocabSize}, {"hidden_size", hiddenSize},
                    {"num_hidden_layers", numHiddenLayers}, {"num_attention_heads", numAttentionHeads},
                    {"intermediate_size", intermediateSize}, {"type_vocab_size", typeVocabSize}, {"projection_dim", projectionDim}}) {
                if ((int) e[1] <= 0) throw new BadInputException("CLAP text config: " + e[0] + " must be positive, got " + e[1]);
            }
            if (hiddenSize % numAttentionHeads != 0) {
                throw new BadInputException("CLAP text config: hidden_size " + hiddenSize + " is not a multiple of num_attention_heads "
                        + numAttentionHeads + "; the config.json is broken");
            }
            if (padTokenId < 0 || padTokenId >= vocabSize || maxPositionEmbeddings <= padTokenId + 1) {
                throw new BadInputException("CLAP text config: pad_token_id " + padTokenId + " with max_position_embeddings "
                        + maxPositionEmbeddings + " and vocab_size " + vocabSize + " leaves no position for a token");
            }
            if (!positionEmbeddingType.equals("absolute")) {
                throw new BadInputException("CLAP text config: position_embedding_type '" + positionEmbeddingType
                        + "' is not supported (CLAP checkpoints use 'absolute')");
            }
            Activation.of(hiddenAct, "CLAP text config: hidden_act");
            Activation.of(projectionHiddenAct, "CLAP text config: projection_hidden_act");
        }

        /** A {@code ClapConfig} (with {@code text_config}) or a bare {@code ClapTextConfig}. */
        public static Config fromJson(JsonNode json) {
            if (json == null || !json.isObject()) throw new BadInputException("CLAP config: expected a JSON object");
            boolean nested = json.path("text_config").isObject();
            JsonNode text = nested ? json.get("text_config") : json;
            // ClapConfig overwrites the towers' projection settings with its own (defaults included)
            JsonNode projection = nested ? json : text;
            return new Config(
                    ConfigJson.integer(text, "CLAP text config", 50265, "vocab_size"),
                    ConfigJson.integer(text, "CLAP text config", 768, "hidden_size"),
                    ConfigJson.integer(text, "CLAP text config", 12, "num_hidden_layers"),
                    ConfigJson.integer(text, "CLAP text config", 12, "num_attention_heads"),
                    ConfigJson.integer(text, "CLAP text config", 3072, "intermediate_size"),
                    text.path("hidden_act").asText("gelu"),
                    ConfigJson.integer(text, "CLAP text config", 514, "max_position_embeddings"),
                    ConfigJson.integer(text, "CLAP text config", 1, "type_vocab_size"),
                    text.path("layer_norm_eps").asDouble(1e-12),
                    ConfigJson.integer(text, "CLAP text config", 1, "pad_token_id"),
                    text.path("position_embedding_type").asText("absolute"),
                    ConfigJson.integer(projection, "CLAP text config", 512, "projection_dim"),
                    projection.path("projection_hidden_act").asText("relu"));
        }

        /** The longest input, special tokens included: positions start after the pad id. */
        public int maxTokens() {
            return maxPositionEmbeddings - padTokenId - 1;
        }

    }

    /**
     * @param lastHiddenState [B, S, hidden]
     * @param pooler          [B, hidden] tanh of a dense layer on the first token ({@code pooler_output})
     * @param projected       [B, projection] the text projection of {@code pooler}, before normalisation
     * @param embeds          [B, projection] {@code projected} scaled to unit L2 norm ({@code text_embeds})
     */
    public record Output(Tensor lastHiddenState, Tensor pooler, Tensor projected, Tensor embeds) {
    }

    private record Layer(Linear query, Linear key, Linear value, Linear attentionOut, LayerNorm attentionNorm,
                         Linear intermediate, Linear output, LayerNorm outputNorm) {
    }

    private final Config config;
    private final Compute compute;
    private final Tensor wordEmbeddings, positionEmbeddings, tokenType0;
    private final LayerNorm embeddingNorm;
    private final List<Layer> layers;
    private final Linear pooler;
    private final Projection projection;
    private final Activation hiddenAct;

    public ClapTextEncoder(Config config, Weights w) {
        this.config = config;
        this.compute = w.compute();
        this.hiddenAct = Activation.of(config.hiddenAct(), "CLAP text config: hidden_act");
        long h = config.hiddenSize();
        Weights text = w.pp("text_model");
        Weights emb = text.pp("embeddings");
        this.wordEmbeddings = emb.pp("word_embeddings").get("weight", config.vocabSize(), h);
        this.positionEmbeddings = emb.pp("position_embeddings").get("weight", config.maxPositionEmbeddings(), h);
        // HF takes token type 0 for every token unless told otherwise, and CLAP never tells it otherwise
        this.tokenType0 = emb.pp("token_type_embeddings").get("weight", config.typeVocabSize(), h).select(0, 0);
        this.embeddingNorm = LayerNorm.load(emb.pp("LayerNorm"), h, config.layerNormEps());
        List<Layer> list = new ArrayList<>();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            Weights l = text.pp("encoder").pp("layer").pp(i);
            Weights self = l.pp("attention").pp("self");
            Weights attnOut = l.pp("attention").pp("output");
            list.add(new Layer(
                    Linear.load(self.pp("query"), h, h, true),
                    Linear.load(self.pp("key"), h, h, true),
                    Linear.load(self.pp("value"), h, h, true),
                    Linear.load(attnOut.pp("dense"), h, h, true),
                    LayerNorm.load(attnOut.pp("LayerNorm"), h, config.layerNormEps()),
                    Linear.load(l.pp("intermediate").pp("dense"), config.intermediateSize(), h, true),
                    Linear.load(l.pp("output").pp("dense"), h, config.intermediateSize(), true),
                    LayerNorm.load(l.pp("output").pp("LayerNorm"), h, config.layerNormEps())));
        }
        this.layers = List.copyOf(list);
        this.pooler = Linear.load(text.pp("pooler").pp("dense"), h, h, true);
        this.projection = Projection.load(w.pp("text_projection"), h, config.projectionDim(), config.projectionHiddenAct(), "CLAP text config");
    }

    public Config config() {
        return config;
    }

    /**
     * @param inputIds      [B, S] Long, each row {@code <s> … </s>} right-padded with the pad id
     * @param attentionMask [B, S] Long or Bool, 1 on real tokens
     */
    public Output forward(Tensor inputIds, Tensor attentionMask) {
        if (inputIds.dim() != 2 || !Arrays.equals(inputIds.shape(), attentionMask.shape())) {
            throw new BadInputException("CLAP text encoder: input_ids " + Arrays.toString(inputIds.shape())
                    + " and attention_mask " + Arrays.toString(attentionMask.shape()) + " must both be [batch, tokens]");
        }
        long batch = inputIds.size(0), seq = inputIds.size(1);
        if (seq > config.maxTokens()) {
            throw new BadInputException("CLAP text encoder: " + seq + " tokens exceed the " + config.maxTokens()
                    + " the model takes; truncate the text");
        }
        Tensor ids = inputIds.to(compute.device(), ScalarType.Long);
        // RoBERTa numbers real tokens from pad_id + 1 on and gives padding the pad id's position
        Tensor real = ids.ne(new Scalar((long) config.padTokenId())).to(ScalarType.Long);
        Tensor positions = torch.cumsum(real, 1, new ScalarTypeOptional(ScalarType.Long)).mul(real)
                .add(new Scalar((long) config.padTokenId()));
        Tensor x = torch.embedding(wordEmbeddings, ids).add(tokenType0).add(torch.embedding(positionEmbeddings, positions));
        x = embeddingNorm.apply(x);

        Tensor keep = attentionMask.to(compute.device(), ScalarType.Bool).view(batch, 1, 1, seq);
        long heads = config.numAttentionHeads(), hd = config.hiddenSize() / heads;
        for (Layer l : layers) {
            Tensor q = l.query().apply(x).view(batch, seq, heads, hd).transpose(1, 2);
            Tensor k = l.key().apply(x).view(batch, seq, heads, hd).transpose(1, 2);
            Tensor v = l.value().apply(x).view(batch, seq, heads, hd).transpose(1, 2);
            Tensor ctx = torch.scaled_dot_product_attention(q, k, v, new TensorOptional(keep), 0.0, false,
                    new DoubleOptional(), false).transpose(1, 2).reshape(batch, seq, config.hiddenSize());
            x = l.attentionNorm().apply(l.attentionOut().apply(ctx).add(x));
            Tensor ff = l.output().apply(hiddenAct.apply(l.intermediate().apply(x)));
            x = l.outputNorm().apply(ff.add(x));
        }
        Tensor pooled = torch.tanh(pooler.apply(x.select(1, 0)));
        Tensor projected = projection.apply(pooled);
        return new Output(x, pooled, projected, Layers.unitNorm(projected));
    }
}
