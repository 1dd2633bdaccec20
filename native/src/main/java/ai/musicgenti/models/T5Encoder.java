package ai.musicgenti.models;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.ConfigJson;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.Ops;
import ai.musicgenti.core.Weights;
import ai.musicgenti.models.Layers.Activation;
import com.fasterxml.jackson.databind.JsonNode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The encoder half of Hugging Face T5 ({@code T5EncoderModel}), as MusicGen uses it for its text prompt.
 *
 * <p>Pre-norm transformer with RMS norms, a relative position bias computed once from block 0's table and added
 * in every block, and no 1/sqrt(d) attention scaling (T5 folds it into the initialisation). Everything is built
 * from out-of-place ops so that gradients reach {@code inputs_embeds} (textual inversion); the weights themselves
 * never require grad.
 */
public final class T5Encoder {

    /**
     * The fields of {@code T5Config} the encoder reads. Hub configs are in HF's diff format, so every absent key
     * takes the transformers 4.43.4 default.
     */
    public record Config(int vocabSize, int dModel, int dKv, int dFf, int numLayers, int numHeads,
                         int relativeAttentionNumBuckets, int relativeAttentionMaxDistance,
                         double layerNormEpsilon, String feedForwardProj, boolean gatedAct, String denseActFn) {

        public Config {
            requirePositive("vocab_size", vocabSize);
            requirePositive("d_model", dModel);
            requirePositive("d_kv", dKv);
            requirePositive("d_ff", dFf);
            requirePositive("num_layers", numLayers);
            requirePositive("num_heads", numHeads);
            // the bidirectional bucketing halves the buckets and halves them again for the exact range
            if (relativeAttentionNumBuckets < 4) {
                throw new BadInputException("T5 config: relative_attention_num_buckets must be at least 4, got "
                        + relativeAttentionNumBuckets);
            }
            if (relativeAttentionMaxDistance <= relativeAttentionNumBuckets / 4) {
                throw new BadInputException("T5 config: relative_attention_max_distance " + relativeAttentionMaxDistance
                        + " must exceed relative_attention_num_buckets / 4");
            }
            if (!(layerNormEpsilon > 0)) {
                throw new BadInputException("T5 config: layer_norm_epsilon must be positive, got " + layerNormEpsilon);
            }
            Activation.of(denseActFn, "T5 config: activation (feed_forward_proj / dense_act_fn)"); // fails early on an activation we do not implement
        }

        /** Reads a T5 config object: a T5 {@code config.json} or the {@code text_encoder} node of a MusicGen one. */
        public static Config fromJson(JsonNode json) {
            if (json == null || !json.isObject()) {
                throw new BadInputException("T5 config: expected a JSON object, got "
                        + (json == null || json.isMissingNode() ? "nothing" : json.getNodeType()));
            }
            String proj = text(json, "feed_forward_proj", "relu");
            String[] parts = proj.split("-");
            boolean gated = parts[0].equals("gated");
            if (parts.length > 2 || (parts.length == 2 && !gated)) {
                throw new BadInputException("T5 config: feed_forward_proj '" + proj
                        + "' is neither '<activation>' nor 'gated-<activation>' (e.g. 'relu', 'gated-gelu')");
            }
            // T5 v1.1 checkpoints say "gated-gelu" but were trained with the tanh approximation
            String act = proj.equals("gated-gelu") ? "gelu_new" : parts[parts.length - 1];
            // PretrainedConfig applies leftover keys after __init__, so explicit values win over the derived ones
            act = text(json, "dense_act_fn", act);
            gated = json.path("is_gated_act").isBoolean() ? json.path("is_gated_act").asBoolean() : gated;
            return new Config(
                    ConfigJson.integer(json, "T5 config", 32128, "vocab_size"),
                    ConfigJson.integer(json, "T5 config", 512, "d_model", "hidden_size"),
                    ConfigJson.integer(json, "T5 config", 64, "d_kv"),
                    ConfigJson.integer(json, "T5 config", 2048, "d_ff"),
                    ConfigJson.integer(json, "T5 config", 6, "num_layers", "num_hidden_layers"),
                    ConfigJson.integer(json, "T5 config", 8, "num_heads", "num_attention_heads"),
                    ConfigJson.integer(json, "T5 config", 32, "relative_attention_num_buckets"),
                    ConfigJson.integer(json, "T5 config", 128, "relative_attention_max_distance"),
                    json.path("layer_norm_epsilon").asDouble(1e-6),
                    proj, gated, act);
        }

        public int innerDim() {
            return numHeads * dKv;
        }

        private static String text(JsonNode json, String key, String fallback) {
            JsonNode v = json.get(key);
            return v == null || v.isNull() ? fallback : v.asText();
        }

        private static void requirePositive(String key, int value) {
            if (value <= 0) throw new BadInputException("T5 config: " + key + " must be positive, got " + value);
        }
    }

    /**
     * @param lastHiddenState [B, T, d_model], after the final norm
     * @param hiddenStates    as HF's {@code output_hidden_states}: the embeddings, the outputs of blocks 0..n-2 and
     *                        the final (normed) output; empty unless asked for
     */
    public record Output(Tensor lastHiddenState, List<Tensor> hiddenStates) {
    }

    private record Attention(Tensor q, Tensor k, Tensor v, Tensor o) {
    }

    /** {@code wi} is null when gated ({@code wi0}, {@code wi1} are null otherwise). */
    private record FeedForward(Tensor wi, Tensor wi0, Tensor wi1, Tensor wo) {
    }

    private record Block(Tensor attentionNorm, Attention attention, Tensor feedForwardNorm, FeedForward feedForward) {
    }

    // finfo(dtype).min, the additive padding mask HF builds in the model's dtype
    private static final double FLOAT_MIN = -3.4028234663852886e38;
    private static final double BFLOAT16_MIN = -3.3895313892515355e38;
    private static final double HALF_MIN = -65504.0;
    private static final double HALF_MAX = 65504.0;

    private final Config config;
    private final Compute compute;
    private final Tensor embedTokens;
    private final Tensor relativeAttentionBias;
    private final List<Block> blocks;
    private final Tensor finalNorm;
    private final Activation activation;

    public T5Encoder(Config config, Weights w) {
        this.config = config;
        this.activation = Activation.of(config.denseActFn(), "T5 config: activation (feed_forward_proj / dense_act_fn)");
        this.compute = w.compute();
        int d = config.dModel(), inner = config.innerDim(), ff = config.dFf();
        // tied: real checkpoints keep one spelling or the other
        this.embedTokens = w.getFirst(new long[]{config.vocabSize(), d}, "shared.weight", "encoder.embed_tokens.weight");

        Weights enc = w.pp("encoder");
        this.relativeAttentionBias = enc.pp("block").pp(0).pp("layer").pp(0).pp("SelfAttention")
                .get("relative_attention_bias.weight", config.relativeAttentionNumBuckets(), config.numHeads());
        List<Block> list = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            Weights layer = enc.pp("block").pp(i).pp("layer");
            Weights sa = layer.pp(0).pp("SelfAttention");
            Attention attention = new Attention(sa.get("q.weight", inner, d), sa.get("k.weight", inner, d),
                    sa.get("v.weight", inner, d), sa.get("o.weight", d, inner));
            Weights dense = layer.pp(1).pp("DenseReluDense");
            FeedForward feedForward = config.gatedAct()
                    ? new FeedForward(null, dense.get("wi_0.weight", ff, d), dense.get("wi_1.weight", ff, d), dense.get("wo.weight", d, ff))
                    : new FeedForward(dense.get("wi.weight", ff, d), null, null, dense.get("wo.weight", d, ff));
            list.add(new Block(layer.pp(0).get("layer_norm.weight", d), attention,
                    layer.pp(1).get("layer_norm.weight", d), feedForward));
        }
        this.blocks = List.copyOf(list);
        this.finalNorm = enc.get("final_layer_norm.weight", d);
    }

    public Config config() {
        return config;
    }

    /** The [vocab, d_model] token embedding table (shared with the decoder in a full T5). */
    public Tensor embeddingTable() {
        return embedTokens;
    }

    /** Token embeddings [B, T, d_model] of ids [B, T]; T5 does not scale them. */
    public Tensor embed(Tensor inputIds) {
        if (inputIds.numel() > 0) {
            long min = inputIds.min().item_long(), max = inputIds.max().item_long();
            if (min < 0 || max >= config.vocabSize()) {
                throw new BadInputException("T5 encoder: token id " + (min < 0 ? min : max) + " is outside the vocabulary [0, "
                        + config.vocabSize() + "); the tokenizer does not belong to this text encoder");
            }
        }
        return torch.embedding(embedTokens, inputIds.to(compute.device(), ScalarType.Long));
    }

    /** Last hidden state [B, T, d_model] of token ids [B, T]; {@code attentionMask} [B, T] (1 = keep) may be null. */
    public Tensor forward(Tensor inputIds, Tensor attentionMask) {
        return forward(embed(inputIds), attentionMask, false).lastHiddenState();
    }

    /**
     * Runs the encoder on embeddings [B, T, d_model], the entry point textual inversion differentiates through.
     *
     * @param attentionMask [B, T], 1 for tokens and 0 for padding, or null for no padding. Padded queries are
     *                      computed as well (HF does the same); callers mask them downstream.
     */
    public Output forward(Tensor inputsEmbeds, Tensor attentionMask, boolean keepHiddenStates) {
        if (inputsEmbeds.dim() != 3 || inputsEmbeds.size(2) != config.dModel()) {
            throw new BadInputException("T5 encoder: inputs_embeds must be [batch, tokens, " + config.dModel() + "], got "
                    + Arrays.toString(inputsEmbeds.shape()));
        }
        long batch = inputsEmbeds.size(0), tokens = inputsEmbeds.size(1);
        Tensor h = inputsEmbeds.scalar_type().intern() == compute.dtype() ? inputsEmbeds : inputsEmbeds.to(compute.dtype());

        // one bias for all blocks: only block 0 owns the table, the rest reuse its result
        Tensor bias = positionBias(tokens, tokens);
        if (attentionMask != null) {
            if (attentionMask.dim() != 2 || attentionMask.size(0) != batch || attentionMask.size(1) != tokens) {
                throw new BadInputException("T5 encoder: attention_mask must be [" + batch + ", " + tokens + "], got "
                        + Arrays.toString(attentionMask.shape()));
            }
            bias = bias.add(paddingMask(attentionMask));
        }

        List<Tensor> hidden = new ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) {
            if (keepHiddenStates) hidden.add(h);
            h = block(blocks.get(i), h, bias);
        }
        h = rmsNorm(h, finalNorm);
        if (keepHiddenStates) {
            // HF replaces the last block's raw output by the normed final output
            hidden.add(h);
        }
        return new Output(h, List.copyOf(hidden));
    }

    /**
     * The relative position bias [1, heads, queryLen, keyLen], without padding mask. Bidirectional: keys before and
     * after the query get separate buckets; half of each side's buckets are exact offsets, the rest grow
     * logarithmically up to {@code relative_attention_max_distance}.
     */
    public Tensor positionBias(long queryLen, long keyLen) {
        Tensor query = torch.arange(new Scalar(queryLen), compute.longs()).view(queryLen, 1);
        Tensor key = torch.arange(new Scalar(keyLen), compute.longs()).view(1, keyLen);
        Tensor buckets = relativePositionBucket(key.sub(query));
        // [q, k, heads] -> [1, heads, q, k]
        return torch.embedding(relativeAttentionBias, buckets).permute(2, 0, 1).unsqueeze(0);
    }

    private Tensor relativePositionBucket(Tensor relative) {
        long half = config.relativeAttentionNumBuckets() / 2;
        long maxExact = half / 2;
        Tensor side = relative.gt(new Scalar(0)).to(ScalarType.Long).mul(new Scalar(half));
        Tensor distance = relative.abs();
        // float32 ops in HF's order, so that distances at bucket boundaries round as the reference does
        Tensor logBucket = distance.to(ScalarType.Float).div(new Scalar(maxExact)).log()
                .div(new Scalar(Math.log((double) config.relativeAttentionMaxDistance() / maxExact)))
                .mul(new Scalar(half - maxExact))
                .to(ScalarType.Long)
                .add(new Scalar(maxExact))
                .clamp_max(new Scalar(half - 1));
        return side.add(torch.where(distance.lt(new Scalar(maxExact)), distance, logBucket));
    }

    /** [B, T] of 1/0 -> additive [B, 1, 1, T]: 0 for tokens, finfo(dtype).min for padding. */
    private Tensor paddingMask(Tensor attentionMask) {
        Tensor keep = attentionMask.to(compute.device(), compute.dtype());
        long batch = attentionMask.size(0), tokens = attentionMask.size(1);
        return keep.neg().add(new Scalar(1.0)).mul(new Scalar(dtypeMin())).view(batch, 1, 1, tokens);
    }

    private double dtypeMin() {
        return switch (compute.dtype()) {
            case Half -> HALF_MIN;
            case BFloat16 -> BFLOAT16_MIN;
            case Double -> -Double.MAX_VALUE;
            default -> FLOAT_MIN;
        };
    }

    private Tensor block(Block b, Tensor h, Tensor bias) {
        h = h.add(selfAttention(b.attention(), rmsNorm(h, b.attentionNorm()), bias));
        h = clampHalf(h);
        h = h.add(feedForward(b.feedForward(), rmsNorm(h, b.feedForwardNorm())));
        return clampHalf(h);
    }

    private Tensor selfAttention(Attention a, Tensor x, Tensor bias) {
        long batch = x.size(0), tokens = x.size(1);
        Tensor q = heads(Ops.linear(x, a.q()), batch, tokens);
        Tensor k = heads(Ops.linear(x, a.k()), batch, tokens);
        Tensor v = heads(Ops.linear(x, a.v()), batch, tokens);
        Tensor scores = torch.matmul(q, k.transpose(2, 3)).add(bias);
        Tensor weights = torch.softmax(scores.to(ScalarType.Float), -1).to(compute.dtype());
        Tensor out = torch.matmul(weights, v).transpose(1, 2).reshape(batch, tokens, config.innerDim());
        return Ops.linear(out, a.o());
    }

    /** [B, T, heads*d_kv] -> [B, heads, T, d_kv] */
    private Tensor heads(Tensor x, long batch, long tokens) {
        return x.view(batch, tokens, config.numHeads(), config.dKv()).transpose(1, 2);
    }

    private Tensor feedForward(FeedForward f, Tensor x) {
        Tensor inner = config.gatedAct()
                ? activation.apply(Ops.linear(x, f.wi0())).mul(Ops.linear(x, f.wi1()))
                : activation.apply(Ops.linear(x, f.wi()));
        return Ops.linear(inner, f.wo());
    }

    /** RMS norm without mean or bias. The mean of squares is taken in F32 whatever the compute dtype. */
    private Tensor rmsNorm(Tensor x, Tensor weight) {
        Tensor x32 = x.to(ScalarType.Float);
        Tensor variance = x32.pow(new Scalar(2.0)).mean(new long[]{-1}, true, new ScalarTypeOptional());
        Tensor normed = x32.mul(torch.rsqrt(variance.add(new Scalar(config.layerNormEpsilon()))));
        return weight.mul(normed.to(compute.dtype()));
    }

    /** HF keeps F16 activations finite this way (large T5 checkpoints overflow F16 in the feed-forward). */
    private Tensor clampHalf(Tensor h) {
        if (h.scalar_type().intern() != ScalarType.Half || !torch.isinf(h).any().item_bool()) return h;
        double limit = HALF_MAX - 1000;
        return h.clamp(new ScalarOptional(new Scalar(-limit)),
                new ScalarOptional(new Scalar(limit)));
    }
}
