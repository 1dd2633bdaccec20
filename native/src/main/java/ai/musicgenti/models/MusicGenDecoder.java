package ai.musicgenti.models;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.models.Layers.Linear;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.core.Weights;
import ai.musicgenti.models.Layers.Activation;
import ai.musicgenti.models.Layers.LayerNorm;
import com.fasterxml.jackson.databind.JsonNode;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.List;
import java.util.function.IntFunction;

import static ai.musicgenti.core.Tensors.scalar;

/**
 * The MusicGen decoder (Hugging Face {@code MusicgenForCausalLM}): a pre-LayerNorm transformer over K parallel
 * codebook streams. The K token embeddings of a position are summed into one hidden state, and K linear heads read
 * one set of logits per codebook back out of it. Text conditioning enters through cross-attention.
 *
 * <p>Two ways in: {@link #forward} runs a whole sequence without a cache (teacher forcing, and the path textual
 * inversion backpropagates through), {@link #step} appends positions to a preallocated {@link KvCache}
 * (generation). Both give the same logits.
 */
public final class MusicGenDecoder {

    /** {@code MusicgenDecoderConfig}, with the transformers 4.43.4 defaults for keys a diff-format config omits. */
    public record Config(int vocabSize, int numCodebooks, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
                         int ffnDim, int maxPositionEmbeddings, boolean scaleEmbedding, String activationFunction,
                         int audioChannels) {

        public Config {
            if (hiddenSize % numAttentionHeads != 0) {
                throw new BadInputException("decoder config: hidden_size " + hiddenSize + " is not a multiple of num_attention_heads "
                        + numAttentionHeads + "; the config.json is broken");
            }
            if (audioChannels != 1) {
                throw new BadInputException("decoder config: audio_channels " + audioChannels + " (stereo MusicGen) is not supported;"
                        + " use a mono checkpoint such as facebook/musicgen-small");
            }
            Activation.of(activationFunction, "decoder config: activation_function");
        }

        public static Config fromJson(JsonNode j) {
            return new Config(
                    j.path("vocab_size").asInt(2048),
                    j.path("num_codebooks").asInt(4),
                    j.path("hidden_size").asInt(1024),
                    j.path("num_hidden_layers").asInt(24),
                    j.path("num_attention_heads").asInt(16),
                    j.path("ffn_dim").asInt(4096),
                    j.path("max_position_embeddings").asInt(2048),
                    j.path("scale_embedding").asBoolean(false),
                    j.path("activation_function").asText("gelu"),
                    j.path("audio_channels").asInt(1));
        }

        public int headDim() {
            return hiddenSize / numAttentionHeads;
        }

        /** BOS = PAD = decoder start: the extra embedding row after the codes, never predicted by a head. */
        public long specialToken() {
            return vocabSize;
        }
    }

    private static final double LAYER_NORM_EPS = 1e-5;

    private final Config config;
    private final Compute compute;
    private final Tensor embedTokens;      // [K*(V+1), H]: codebook k's table starts at row k*(V+1)
    private final Tensor codebookOffsets;  // [1, K, 1]
    private final Tensor positions;        // [maxPositions, H]
    private final Layer[] layers;
    private final LayerNorm finalNorm;
    private final Activation activation;
    private final Linear lmHeads;          // [K*V, H]: one matmul yields every codebook's logits

    private record Layer(LayerNorm selfNorm, Linear selfQ, Linear selfK, Linear selfV, Linear selfOut,
                         LayerNorm crossNorm, Linear crossQ, Linear crossK, Linear crossV, Linear crossOut,
                         LayerNorm ffnNorm, Linear fc1, Linear fc2) {
    }

    /** @param w the decoder root: names {@code model.decoder.*} and {@code lm_heads.*} below it */
    public MusicGenDecoder(Config config, Weights w) {
        this.config = config;
        this.compute = w.compute();
        this.activation = Activation.of(config.activationFunction(), "decoder config: activation_function");
        long h = config.hiddenSize(), v = config.vocabSize(), ffn = config.ffnDim();
        int k = config.numCodebooks();
        Weights dec = w.pp("model").pp("decoder");

        embedTokens = stacked(k, q -> dec.pp("embed_tokens").pp(q).get("weight", v + 1, h));
        lmHeads = Linear.of(compute, stacked(k, q -> w.pp("lm_heads").pp(q).get("weight", v, h)), null);
        long[] offsets = new long[k];
        for (int q = 0; q < k; q++) offsets[q] = q * (v + 1);
        codebookOffsets = Tensor.create(offsets, 1, k, 1).to(compute.device(), ScalarType.Long);

        // Hub checkpoints may leave the table out; the computed one matches what HF builds at load time.
        String table = "embed_positions.weights";
        positions = dec.contains(table)
                ? dec.get(table, config.maxPositionEmbeddings(), h)
                : sinusoidalTable(config.maxPositionEmbeddings(), (int) h).to(compute.device(), compute.dtype());

        layers = new Layer[config.numHiddenLayers()];
        // packing for oneDNN reorders every weight on its pool: all cores, not the one libtorch has by default
        try (CpuThreads.Phase threads = CpuThreads.forCompute(compute)) {
            buildLayers(dec, h, ffn);
        }
        finalNorm = LayerNorm.load(dec.pp("layer_norm"), h, LAYER_NORM_EPS);
    }

    private void buildLayers(Weights dec, long h, long ffn) {
        for (int i = 0; i < layers.length; i++) {
            Weights l = dec.pp("layers").pp(i);
            Weights sa = l.pp("self_attn"), ca = l.pp("encoder_attn");
            List<Linear> p = Linear.all(compute, List.of(
                    sa.pp("q_proj").get("weight", h, h), sa.pp("k_proj").get("weight", h, h),
                    sa.pp("v_proj").get("weight", h, h), sa.pp("out_proj").get("weight", h, h),
                    ca.pp("q_proj").get("weight", h, h), ca.pp("k_proj").get("weight", h, h),
                    ca.pp("v_proj").get("weight", h, h), ca.pp("out_proj").get("weight", h, h),
                    l.pp("fc1").get("weight", ffn, h), l.pp("fc2").get("weight", h, ffn)));
            layers[i] = new Layer(
                    LayerNorm.load(l.pp("self_attn_layer_norm"), h, LAYER_NORM_EPS), p.get(0), p.get(1), p.get(2), p.get(3),
                    LayerNorm.load(l.pp("encoder_attn_layer_norm"), h, LAYER_NORM_EPS), p.get(4), p.get(5), p.get(6), p.get(7),
                    LayerNorm.load(l.pp("final_layer_norm"), h, LAYER_NORM_EPS), p.get(8), p.get(9));
            // packing copied this layer's F32 weights: unmapped now, one layer of them is resident at a time, not all
            if (compute.halfWeights() || compute.packedWeights()) Safetensors.releaseUnusedMappings();
        }
    }

    /** The K per-codebook tables as one; the stored ones are let go at once, so their mapped pages leave memory. */
    private static Tensor stacked(int k, IntFunction<Tensor> table) {
        try (PointerScope scope = new PointerScope()) {
            TensorVector tables = new TensorVector();
            for (int q = 0; q < k; q++) tables.push_back(table.apply(q));
            return Tensors.keep(torch.cat(tables, 0));
        }
    }

    public Config config() {
        return config;
    }

    public Compute compute() {
        return compute;
    }

    /**
     * HF's table: {@code cat([cos, sin])} of {@code p * exp(-ln(10000) * i / (half - 1))}, computed in F32 as HF does
     * (a float64 table differs by up to 3e-5 at high positions).
     */
    public static Tensor sinusoidalTable(int numPositions, int dim) {
        int half = dim / 2;
        double step = Math.log(10000.0) / (half - 1);
        Tensor freq = torch.arange(scalar(half)).to(ScalarType.Float).mul(scalar(-step)).exp();
        Tensor arg = torch.arange(scalar(numPositions)).to(ScalarType.Float).unsqueeze(1).mul(freq.unsqueeze(0));
        Tensor table = torch.cat(new TensorVector(arg.cos(), arg.sin()), 1);
        if (dim % 2 == 1) table = torch.cat(new TensorVector(table, torch.zeros(numPositions, 1)), 1);
        return table;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Full sequence (no cache)

    /**
     * Logits for every position of a whole sequence, causal self-attention, no cache. Autograd flows through it (to
     * {@code encoderHiddenStates} in textual inversion).
     *
     * @param inputIds            [B, K, T] long, the delayed sequence (position 0 = the special token)
     * @param encoderHiddenStates [B, S, H] conditioning, already projected to the decoder width; null for none
     * @param encoderMask         [B, S] 1 = attend, 0 = padding; null when every key counts
     * @return logits [B, K, T, V]
     */
    public Tensor forward(Tensor inputIds, Tensor encoderHiddenStates, Tensor encoderMask) {
        try (CpuThreads.Phase threads = CpuThreads.forSequences(compute)) {
            return forwardWhole(inputIds, encoderHiddenStates, encoderMask);
        }
    }

    private Tensor forwardWhole(Tensor inputIds, Tensor encoderHiddenStates, Tensor encoderMask) {
        long t = checkIds(inputIds);
        checkPositions(0, t);
        Tensor crossMask = crossMask(encoderMask);
        Tensor h = embed(inputIds, 0);
        for (Layer layer : layers) {
            Tensor crossK = null, crossV = null;
            if (encoderHiddenStates != null) {
                crossK = heads(layer.crossK.apply(encoderHiddenStates));
                crossV = heads(layer.crossV.apply(encoderHiddenStates));
            }
            h = block(layer, h, selfAttentionFull(layer, layer.selfNorm.apply(h)), crossK, crossV, crossMask);
        }
        return logits(h);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Cached stepping

    /**
     * Self-attention keys/values for up to {@code capacity} positions, allocated once, and the cross-attention
     * keys/values of the conditioning, computed once. Generation appends to it with {@link #step}.
     */
    public final class KvCache {
        private final int batch;
        private final int capacity;
        private final Tensor[] selfK, selfV;   // [B, heads, capacity, headDim]
        private final Tensor[] crossK, crossV; // [B, heads, S, headDim], null without conditioning
        private final Tensor crossMask;        // [B, 1, 1, S] additive, or null
        private int length;

        private KvCache(int batch, int capacity, Tensor encoderHiddenStates, Tensor encoderMask) {
            this.batch = batch;
            this.capacity = capacity;
            int n = layers.length;
            selfK = new Tensor[n];
            selfV = new Tensor[n];
            crossK = encoderHiddenStates == null ? null : new Tensor[n];
            crossV = encoderHiddenStates == null ? null : new Tensor[n];
            long[] shape = {batch, config.numAttentionHeads(), capacity, config.headDim()};
            try (NoGradGuard noGrad = new NoGradGuard()) {
                for (int i = 0; i < n; i++) {
                    selfK[i] = torch.zeros(shape, compute.floats());
                    selfV[i] = torch.zeros(shape, compute.floats());
                    if (encoderHiddenStates != null) {
                        crossK[i] = heads(layers[i].crossK.apply(encoderHiddenStates));
                        crossV[i] = heads(layers[i].crossV.apply(encoderHiddenStates));
                    }
                }
                crossMask = crossMask(encoderMask);
            }
        }

        /** Positions stored so far: the position the next {@link #step} input starts at. */
        public int length() {
            return length;
        }

        public int capacity() {
            return capacity;
        }

        public int batch() {
            return batch;
        }
    }

    /**
     * @param batch               rows of every later {@link #step} input (conditional and unconditional rows together)
     * @param capacity            most positions the cache will hold; at most {@code max_position_embeddings}
     * @param encoderHiddenStates [batch, S, H] or null
     * @param encoderMask         [batch, S] or null
     */
    public KvCache newCache(int batch, int capacity, Tensor encoderHiddenStates, Tensor encoderMask) {
        checkPositions(0, capacity);
        if (encoderHiddenStates != null && encoderHiddenStates.size(0) != batch) {
            throw new IllegalArgumentException("encoder states have batch " + encoderHiddenStates.size(0) + ", cache " + batch);
        }
        return new KvCache(batch, capacity, encoderHiddenStates, encoderMask);
    }

    /**
     * Appends {@code T} positions to the cache and returns their logits, as {@link #forward} would give them for the
     * whole sequence so far. Inference only (no autograd).
     *
     * @param inputIds [batch, K, T] long
     * @return logits [batch, K, T, V]
     */
    public Tensor step(Tensor inputIds, KvCache cache) {
        long t = checkIds(inputIds);
        if (inputIds.size(0) != cache.batch) {
            throw new IllegalArgumentException("input batch " + inputIds.size(0) + " but the cache holds " + cache.batch);
        }
        int past = cache.length;
        if (past + t > cache.capacity) {
            throw new IllegalArgumentException("cache full: " + past + " + " + t + " positions > capacity " + cache.capacity);
        }
        try (NoGradGuard noGrad = new NoGradGuard(); CpuThreads.Phase threads = CpuThreads.forCompute(compute)) {
            Tensor causal = t == 1 ? null : causalMask(past, t);
            Tensor h = embed(inputIds, past);
            for (int i = 0; i < layers.length; i++) {
                Layer layer = layers[i];
                Tensor x = layer.selfNorm.apply(h);
                Tensor k = heads(layer.selfK.apply(x)), v = heads(layer.selfV.apply(x));
                cache.selfK[i].narrow(2, past, t).copy_(k);
                cache.selfV[i].narrow(2, past, t).copy_(v);
                Tensor keys = cache.selfK[i].narrow(2, 0, past + t), values = cache.selfV[i].narrow(2, 0, past + t);
                Tensor attn = attend(heads(layer.selfQ.apply(x)), keys, values, causal, false);
                Tensor selfOut = layer.selfOut.apply(mergeHeads(attn));
                h = block(layer, h, selfOut,
                        cache.crossK == null ? null : cache.crossK[i], cache.crossV == null ? null : cache.crossV[i],
                        cache.crossMask);
            }
            cache.length = (int) (past + t);
            return logits(h);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The pieces

    /** Sum of the K codebook embeddings of each position, plus its sinusoidal position. */
    private Tensor embed(Tensor ids, long start) {
        Tensor h = torch.embedding(embedTokens, ids.add(codebookOffsets)).sum(1);
        if (config.scaleEmbedding()) h = h.mul(scalar(Math.sqrt(config.hiddenSize())));
        return h.add(positions.narrow(0, start, ids.size(2)));
    }

    /** One decoder layer after its self-attention: residual, cross-attention, feed-forward. */
    private Tensor block(Layer layer, Tensor h, Tensor selfOut, Tensor crossK, Tensor crossV, Tensor crossMask) {
        h = h.add(selfOut);
        if (crossK != null) {
            Tensor q = heads(layer.crossQ.apply(layer.crossNorm.apply(h)));
            h = h.add(layer.crossOut.apply(mergeHeads(attend(q, crossK, crossV, crossMask, false))));
        }
        Tensor x = layer.fc1.apply(layer.ffnNorm.apply(h));
        return h.add(layer.fc2.apply(activation.apply(x)));
    }

    private Tensor selfAttentionFull(Layer layer, Tensor x) {
        Tensor q = heads(layer.selfQ.apply(x));
        Tensor k = heads(layer.selfK.apply(x));
        Tensor v = heads(layer.selfV.apply(x));
        return layer.selfOut.apply(mergeHeads(attend(q, k, v, null, true)));
    }

    /**
     * Attention over many queries at once (training, a prompt's prefill) runs in F32 on the CPU whatever the dtype:
     * libtorch's CPU flash attention multiplies its 16-bit tiles with a plain C++ loop rather than oneDNN or BLAS, and
     * in a BF16 training step that loop took 45% of the time (perf), more than all projections together. A decode
     * step's single query stays in the dtype, where the cast of the whole cache would cost more than it saves.
     */
    private Tensor attend(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal) {
        boolean upcast = compute.sixteenBitOnCpu() && q.size(2) > 1;
        if (upcast) {
            q = q.to(ScalarType.Float);
            k = k.to(ScalarType.Float);
            v = v.to(ScalarType.Float);
            if (mask != null) mask = mask.to(ScalarType.Float);
        }
        Tensor out = torch.scaled_dot_product_attention(q, k, v, mask == null ? new TensorOptional() : new TensorOptional(mask),
                0.0, causal, new DoubleOptional(Math.pow(config.headDim(), -0.5)), false);
        return upcast ? out.to(compute.dtype()) : out;
    }

    private Tensor logits(Tensor h) {
        long b = h.size(0), t = h.size(1);
        return lmHeads.apply(finalNorm.apply(h))
                .view(b, t, config.numCodebooks(), config.vocabSize()).permute(0, 2, 1, 3);
    }

    /** [B, T, H] -> [B, heads, T, headDim] */
    private Tensor heads(Tensor x) {
        return x.view(x.size(0), x.size(1), config.numAttentionHeads(), config.headDim()).transpose(1, 2);
    }

    /** [B, heads, T, headDim] -> [B, T, H] */
    private Tensor mergeHeads(Tensor x) {
        return x.transpose(1, 2).reshape(x.size(0), x.size(2), config.hiddenSize());
    }

    /**
     * Padding keys get the dtype's most negative finite value, added as HF does: a row whose keys are all padding (the
     * unconditional CFG half) then attends uniformly to zero values and outputs exactly zero, where -inf would give NaN.
     */
    private Tensor crossMask(Tensor encoderMask) {
        if (encoderMask == null) return null;
        Tensor keep = encoderMask.to(compute.device(), compute.dtype());
        return keep.neg().add(scalar(1)).mul(scalar(lowest(compute.dtype())))
                .view(encoderMask.size(0), 1, 1, encoderMask.size(1));
    }

    /** Query i (absolute position past+i) sees keys 0..past+i. */
    private Tensor causalMask(long past, long t) {
        return torch.triu(torch.ones(new long[]{t, past + t}, compute.floats()), past + 1).mul(scalar(lowest(compute.dtype())));
    }

    static double lowest(ScalarType type) {
        return switch (type) {
            case Half -> -65504.0;
            case BFloat16 -> -3.3895313892515355e38;
            case Double -> -Double.MAX_VALUE;
            default -> -3.4028234663852886e38;
        };
    }

    private long checkIds(Tensor ids) {
        if (ids.dim() != 3 || ids.size(1) != config.numCodebooks()) {
            throw new IllegalArgumentException("decoder input must be [B, " + config.numCodebooks() + ", T], got "
                    + java.util.Arrays.toString(ids.shape()));
        }
        return ids.size(2);
    }

    private void checkPositions(long start, long count) {
        if (start + count > config.maxPositionEmbeddings()) {
            throw new BadInputException("the decoder handles at most " + config.maxPositionEmbeddings() + " positions ("
                    + "max_position_embeddings), asked for " + (start + count) + "; ask for a shorter duration");
        }
    }
}
