package ai.musicgenti.models;

import ai.musicgenti.core.Ops;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.ConfigJson;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.core.Weights;
import ai.musicgenti.models.Layers.Activation;
import ai.musicgenti.models.Layers.LayerNorm;
import ai.musicgenti.models.Layers.Linear;
import ai.musicgenti.models.Layers.Projection;
import com.fasterxml.jackson.databind.JsonNode;
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
 * The audio tower of LAION CLAP as Hugging Face {@code ClapModel} (transformers 4.43.4) runs it: HTSAT, a Swin
 * transformer over the log-mel spectrogram folded into a square image, mean-pooled, then the audio projection.
 * Only non-fusion checkpoints (one mel channel, e.g. {@code laion/larger_clap_music}) are supported.
 */
public final class ClapAudioEncoder {

    /**
     * The fields of {@code ClapAudioConfig} the tower reads, plus the projection settings that {@code ClapConfig}
     * writes into it. Absent keys take the 4.43.4 defaults.
     */
    public record Config(int numMelBins, int specSize, int windowSize, int patchSize, int patchStrideH,
                         int patchStrideW, int patchEmbedInputChannels, int patchEmbedsHiddenSize, int[] depths,
                         int[] numAttentionHeads, double mlpRatio, boolean qkvBias, String hiddenAct,
                         double layerNormEps, int hiddenSize, int projectionDim, String projectionHiddenAct,
                         boolean enableFusion, boolean flattenPatchEmbeds, boolean enablePatchLayerNorm) {

        public Config {
            if (enableFusion) {
                throw new BadInputException("CLAP audio config: enable_fusion is true; fusion checkpoints (4-channel"
                        + " mel input with attentional feature fusion) are not supported, use a non-fusion checkpoint"
                        + " such as laion/larger_clap_music");
            }
            if (!flattenPatchEmbeds) {
                throw new BadInputException("CLAP audio config: flatten_patch_embeds false is not supported");
            }
            if (depths.length == 0 || depths.length != numAttentionHeads.length) {
                throw new BadInputException("CLAP audio config: depths " + Arrays.toString(depths)
                        + " and num_attention_heads " + Arrays.toString(numAttentionHeads) + " must be non-empty and of equal length");
            }
            if (numMelBins <= 0 || specSize % numMelBins != 0 || specSize / numMelBins == 0) {
                throw new BadInputException("CLAP audio config: spec_size " + specSize
                        + " must be a positive multiple of num_mel_bins " + numMelBins);
            }
            if (patchEmbedInputChannels != 1) {
                throw new BadInputException("CLAP audio config: patch_embed_input_channels " + patchEmbedInputChannels
                        + " is not supported (non-fusion checkpoints have 1)");
            }
            for (int i = 0; i < depths.length; i++) {
                int dim = patchEmbedsHiddenSize << i;
                if (numAttentionHeads[i] <= 0 || dim % numAttentionHeads[i] != 0) {
                    throw new BadInputException("CLAP audio config: stage " + i + " width " + dim
                            + " is not a multiple of its " + numAttentionHeads[i] + " heads");
                }
            }
            if (hiddenSize != patchEmbedsHiddenSize << (depths.length - 1)) {
                throw new BadInputException("CLAP audio config: hidden_size " + hiddenSize + " must equal"
                        + " patch_embeds_hidden_size * 2^(stages-1) = " + (patchEmbedsHiddenSize << (depths.length - 1)));
            }
            Activation.of(hiddenAct, "CLAP audio config: hidden_act");
            Activation.of(projectionHiddenAct, "CLAP audio config: projection_hidden_act");
        }

        /** A {@code ClapConfig} (with {@code audio_config}) or a bare {@code ClapAudioConfig}. */
        public static Config fromJson(JsonNode json) {
            if (json == null || !json.isObject()) throw new BadInputException("CLAP config: expected a JSON object");
            JsonNode audio = json.path("audio_config").isObject() ? json.get("audio_config") : json;
            // ClapConfig overwrites the towers' projection settings with its own (defaults included)
            JsonNode projection = json.path("audio_config").isObject() ? json : audio;
            int[] stride = ints(audio, "patch_stride", new int[]{4, 4});
            if (stride.length == 1) stride = new int[]{stride[0], stride[0]};
            return new Config(
                    ConfigJson.integer(audio, "CLAP audio config", 64, "num_mel_bins"),
                    ConfigJson.integer(audio, "CLAP audio config", 256, "spec_size"),
                    ConfigJson.integer(audio, "CLAP audio config", 8, "window_size"),
                    ConfigJson.integer(audio, "CLAP audio config", 4, "patch_size"),
                    stride[0], stride[1],
                    ConfigJson.integer(audio, "CLAP audio config", 1, "patch_embed_input_channels"),
                    ConfigJson.integer(audio, "CLAP audio config", 96, "patch_embeds_hidden_size"),
                    ints(audio, "depths", new int[]{2, 2, 6, 2}),
                    ints(audio, "num_attention_heads", new int[]{4, 8, 16, 32}),
                    audio.path("mlp_ratio").asDouble(4.0),
                    audio.path("qkv_bias").asBoolean(true),
                    audio.path("hidden_act").asText("gelu"),
                    audio.path("layer_norm_eps").asDouble(1e-5),
                    ConfigJson.integer(audio, "CLAP audio config", 768, "hidden_size"),
                    ConfigJson.integer(projection, "CLAP audio config", 512, "projection_dim"),
                    projection.path("projection_hidden_act").asText("relu"),
                    audio.path("enable_fusion").asBoolean(false),
                    audio.path("flatten_patch_embeds").asBoolean(true),
                    audio.path("enable_patch_layer_norm").asBoolean(true));
        }

        public int freqRatio() {
            return specSize / numMelBins;
        }

        private static int[] ints(JsonNode json, String key, int[] fallback) {
            JsonNode v = json.get(key);
            if (v == null || v.isNull()) return fallback;
            if (v.canConvertToInt()) return new int[]{v.asInt()};
            if (!v.isArray()) throw new BadInputException("CLAP audio config: " + key + " is not a list of integers: " + v);
            int[] out = new int[v.size()];
            for (int i = 0; i < out.length; i++) {
                if (!v.get(i).canConvertToInt()) throw new BadInputException("CLAP audio config: " + key + " is not a list of integers: " + v);
                out[i] = v.get(i).asInt();
            }
            return out;
        }
    }

    /**
     * @param pooler    [B, hidden] mean of the final normed tokens ({@code pooler_output})
     * @param projected [B, projection] the audio projection of {@code pooler}, before normalisation
     * @param embeds    [B, projection] {@code projected} scaled to unit L2 norm ({@code audio_embeds})
     */
    public record Output(Tensor pooler, Tensor projected, Tensor embeds) {
        /**
         * What {@code ClapModel.get_audio_features} returns: in transformers 4.43.4 it normalises the projection
         * too, so these are the unit-norm embeddings (the ones CLAP scores and FAD use).
         */
        public Tensor features() {
            return embeds;
        }
    }

    /** One Swin block; {@code bias} is the gathered relative position bias [heads, N, N], {@code mask} null unless shifted. */
    private record Block(LayerNorm before, Linear query, Linear key, Linear value, Tensor bias, Linear out, LayerNorm after,
                         Linear intermediate, Linear output, int window, int shift, Tensor mask) {
    }

    private record Stage(int height, int width, int dim, int heads, List<Block> blocks, LayerNorm mergeNorm, Tensor mergeReduction) {
    }

    private static final double NORM_EPS = 1e-5; // nn.LayerNorm / nn.BatchNorm2d defaults where HF passes no eps

    private final Config config;
    private final Compute compute;
    private final Tensor bnWeight, bnBias, bnMean, bnVar;
    private final Tensor patchWeight, patchBias;
    private final LayerNorm patchNorm;
    private final List<Stage> stages;
    private final LayerNorm finalNorm;
    private final Projection projection;
    private final Activation hiddenAct;

    public ClapAudioEncoder(Config config, Weights w) {
        this.config = config;
        this.compute = w.compute();
        this.hiddenAct = Activation.of(config.hiddenAct(), "CLAP audio config: hidden_act");
        Weights enc = w.pp("audio_model").pp("audio_encoder");
        int mel = config.numMelBins();
        Weights bn = enc.pp("batch_norm");
        this.bnWeight = bn.get("weight", mel);
        this.bnBias = bn.get("bias", mel);
        this.bnMean = bn.get("running_mean", mel);
        this.bnVar = bn.getPositive("running_var", mel);

        int c0 = config.patchEmbedsHiddenSize(), p = config.patchSize();
        Weights pe = enc.pp("patch_embed");
        // F32 like the rest of the front end (see forward)
        this.patchWeight = pe.pp("proj").get("weight", c0, config.patchEmbedInputChannels(), p, p).to(ScalarType.Float);
        this.patchBias = pe.pp("proj").get("bias", c0).to(ScalarType.Float);
        this.patchNorm = config.enablePatchLayerNorm() ? LayerNorm.load(pe.pp("norm"), c0, NORM_EPS) : null;

        int gridH = config.specSize() / config.patchStrideH(), gridW = config.specSize() / config.patchStrideW();
        int stagesCount = config.depths().length;
        List<Stage> list = new ArrayList<>();
        for (int s = 0; s < stagesCount; s++) {
            int h = gridH >> s, wd = gridW >> s, dim = c0 << s, heads = config.numAttentionHeads()[s];
            if (s < stagesCount - 1 && (h % 2 != 0 || wd % 2 != 0)) {
                throw new BadInputException("CLAP audio config: stage " + s + " resolution " + h + "x" + wd
                        + " is odd; spec_size / patch_stride must be divisible by 2^(stages-1)");
            }
            Weights stage = enc.pp("layers").pp(s);
            List<Block> blocks = new ArrayList<>();
            for (int i = 0; i < config.depths()[s]; i++) {
                blocks.add(block(stage.pp("blocks").pp(i), h, wd, dim, heads, i % 2 == 1));
            }
            LayerNorm mergeNorm = null;
            Tensor reduction = null;
            if (s < stagesCount - 1) {
                Weights down = stage.pp("downsample");
                mergeNorm = LayerNorm.load(down.pp("norm"), 4L * dim, NORM_EPS);
                reduction = down.pp("reduction").get("weight", 2L * dim, 4L * dim);
            }
            list.add(new Stage(h, wd, dim, heads, List.copyOf(blocks), mergeNorm, reduction));
        }
        this.stages = List.copyOf(list);
        this.finalNorm = LayerNorm.load(enc.pp("norm"), config.hiddenSize(), NORM_EPS);
        this.projection = Projection.load(w.pp("audio_projection"), config.hiddenSize(), config.projectionDim(),
                config.projectionHiddenAct(), "CLAP audio config");
    }

    private Block block(Weights b, int height, int width, int dim, int heads, boolean odd) {
        int window = config.windowSize(), shift = odd ? window / 2 : 0;
        if (Math.min(height, width) <= window) {
            // the whole map fits one window: HF drops the shift and shrinks the window to the map
            shift = 0;
            window = Math.min(height, width);
        }
        if (window != config.windowSize()) {
            throw new BadInputException("CLAP audio config: a " + height + "x" + width + " stage is smaller than"
                    + " window_size " + config.windowSize() + "; the reference cannot run this configuration either");
        }
        int n = window * window, table = (2 * window - 1) * (2 * window - 1);
        Weights attn = b.pp("attention");
        Weights self = attn.pp("self");
        Tensor biasTable = self.get("relative_position_bias_table", table, heads);
        Tensor index = Tensors.longs(relativePositionIndex(window), n, n).to(compute.device(), ScalarType.Long);
        Tensor bias = torch.index_select(biasTable, 0, index.view(-1)).view(n, n, heads).permute(2, 0, 1).contiguous();
        int hidden = (int) (config.mlpRatio() * dim);
        return new Block(LayerNorm.load(b.pp("layernorm_before"), dim, config.layerNormEps()),
                Linear.load(self.pp("query"), dim, dim, config.qkvBias()),
                Linear.load(self.pp("key"), dim, dim, config.qkvBias()),
                Linear.load(self.pp("value"), dim, dim, config.qkvBias()),
                bias,
                Linear.load(attn.pp("output").pp("dense"), dim, dim, true),
                LayerNorm.load(b.pp("layernorm_after"), dim, config.layerNormEps()),
                Linear.load(b.pp("intermediate").pp("dense"), hidden, dim, true),
                Linear.load(b.pp("output").pp("dense"), dim, hidden, true),
                window, shift, shift > 0 ? shiftMask(height, width, window, shift) : null);
    }

    /**
     * The Swin buffer {@code relative_position_index} [N*N] (N = window^2, row-major): for tokens q and k of a window,
     * the row of the bias table for their offset, {@code (dy + window - 1) * (2 * window - 1) + (dx + window - 1)}.
     * HF derives it from the window size alone, so it is computed here rather than read.
     */
    public static long[] relativePositionIndex(int window) {
        int n = window * window, span = 2 * window - 1;
        long[] index = new long[n * n];
        for (int q = 0; q < n; q++) {
            for (int k = 0; k < n; k++) {
                index[q * n + k] = (long) (q / window - k / window + window - 1) * span + (q % window - k % window + window - 1);
            }
        }
        return index;
    }

    /**
     * Additive mask [windows, N, N] for shifted windows: tokens that the cyclic roll brought together from different
     * regions of the map must not attend to each other (-100, as HF).
     */
    private Tensor shiftMask(int height, int width, int window, int shift) {
        int hp = ceilTo(height, window), wp = ceilTo(width, window);
        int wh = hp / window, ww = wp / window, n = window * window;
        float[] mask = new float[wh * ww * n * n];
        int[] label = new int[n];
        for (int a = 0; a < wh; a++) {
            for (int c = 0; c < ww; c++) {
                for (int i = 0; i < window; i++) {
                    for (int j = 0; j < window; j++) {
                        int y = a * window + i, x = c * window + j;
                        label[i * window + j] = 3 * region(y, hp, window, shift) + region(x, wp, window, shift);
                    }
                }
                int base = (a * ww + c) * n * n;
                for (int q = 0; q < n; q++) {
                    for (int k = 0; k < n; k++) mask[base + q * n + k] = label[q] == label[k] ? 0f : -100f;
                }
            }
        }
        return Tensors.floats(mask, (long) wh * ww, n, n).to(compute.device(), compute.dtype());
    }

    private static int region(int pos, int size, int window, int shift) {
        if (pos < size - window) return 0;
        return pos < size - shift ? 1 : 2;
    }

    private static int ceilTo(int v, int m) {
        return (v + m - 1) / m * m;
    }

    public Config config() {
        return config;
    }

    /** @param inputFeatures [B, 1, frames, mel bins] log-mel from {@link ai.musicgenti.audio.ClapFeatures} */
    public Output forward(Tensor inputFeatures) {
        if (inputFeatures.dim() != 4 || inputFeatures.size(1) != 1 || inputFeatures.size(3) != config.numMelBins()) {
            throw new BadInputException("CLAP audio encoder: input_features must be [batch, 1, frames, "
                    + config.numMelBins() + "], got " + Arrays.toString(inputFeatures.shape()));
        }
        long batch = inputFeatures.size(0), frames = inputFeatures.size(2);
        int fr = config.freqRatio(), spec = config.specSize();
        long specWidth = (long) spec * fr;
        if (frames > specWidth) {
            throw new BadInputException("CLAP audio encoder: " + frames + " frames exceed the " + specWidth
                    + " the model takes (spec_size * freq_ratio)");
        }
        // the front end, patch embedding included, runs in F32 whatever the compute dtype: dB values and running
        // variances lose too much in 16-bit, CPU bicubic resampling has no 16-bit kernels, and oneDNN's BF16 conv2d
        // gives wrong sums on AMD CPUs with avx512_bf16 (pytorch/pytorch#163347: cosine 0.82 to F32 here); the
        // one-channel patch convolution is a negligible part of the work
        Tensor x = inputFeatures.to(compute.device(), ScalarType.Float);
        // BatchNorm2d over mel bins: HF moves them to the channel axis first
        x = torch.batch_norm(x.transpose(1, 3), f32(bnWeight), f32(bnBias), f32(bnMean), f32(bnVar),
                false, 0.1, NORM_EPS, true).transpose(1, 3);
        if (frames < specWidth) x = torch.upsample_bicubic2d(x, new long[]{specWidth, config.numMelBins()}, true);
        // fold the long time axis into fr rows of the square image: [B, 1, mel*fr, time/fr]
        long mel = config.numMelBins();
        x = x.reshape(batch, fr, specWidth / fr, mel).permute(0, 1, 3, 2).contiguous().reshape(batch, 1, mel * fr, specWidth / fr);

        x = torch.conv2d(x, patchWeight, new TensorOptional(patchBias),
                new long[]{config.patchStrideH(), config.patchStrideW()},
                new long[]{(config.patchSize() - config.patchStrideH()) / 2, (config.patchSize() - config.patchStrideW()) / 2},
                new long[]{1, 1}, 1).to(compute.dtype());
        x = x.flatten(2, -1).transpose(1, 2);
        if (patchNorm != null) x = patchNorm.apply(x);

        for (Stage stage : stages) {
            for (Block b : stage.blocks()) x = block(b, x, stage);
            if (stage.mergeReduction() != null) x = merge(stage, x);
        }
        x = finalNorm.apply(x);
        // HF regroups the token grid before its average pool, which still averages every token
        Tensor pooler = x.mean(new long[]{1}, false, new ScalarTypeOptional());
        Tensor projected = projection.apply(pooler);
        return new Output(pooler, projected, Layers.unitNorm(projected));
    }

    private Tensor block(Block b, Tensor x, Stage stage) {
        long batch = x.size(0);
        int h = stage.height(), w = stage.width(), c = stage.dim(), win = b.window(), shift = b.shift();
        Tensor shortcut = x;
        Tensor t = b.before().apply(x).view(batch, h, w, c);
        int hp = ceilTo(h, win), wp = ceilTo(w, win);
        if (hp != h || wp != w) t = torch.pad(t, new long[]{0, 0, 0, wp - w, 0, hp - h}, "constant", new org.bytedeco.pytorch.DoubleOptional(0.0));
        if (shift > 0) t = torch.roll(t, new long[]{-shift, -shift}, 1, 2);
        long nWin = (long) (hp / win) * (wp / win), n = (long) win * win;
        Tensor windows = t.view(batch, hp / win, win, wp / win, win, c).permute(0, 1, 3, 2, 4, 5).reshape(batch * nWin, n, c);

        long heads = stage.heads(), hd = c / heads;
        Tensor q = b.query().apply(windows).view(batch * nWin, n, heads, hd).transpose(1, 2);
        Tensor k = b.key().apply(windows).view(batch * nWin, n, heads, hd).transpose(1, 2);
        Tensor v = b.value().apply(windows).view(batch * nWin, n, heads, hd).transpose(1, 2);
        Tensor scores = torch.matmul(q, k.transpose(-1, -2)).div(new Scalar(Math.sqrt(hd))).add(b.bias().unsqueeze(0));
        if (b.mask() != null) {
            scores = scores.view(batch, nWin, heads, n, n).add(b.mask().unsqueeze(1).unsqueeze(0)).view(batch * nWin, heads, n, n);
        }
        Tensor probs = torch.softmax(scores.to(ScalarType.Float), -1).to(compute.dtype());
        Tensor ctx = torch.matmul(probs, v).transpose(1, 2).reshape(batch * nWin, n, c);
        Tensor attn = b.out().apply(ctx);

        attn = attn.view(batch, hp / win, wp / win, win, win, c).permute(0, 1, 3, 2, 4, 5).reshape(batch, hp, wp, c);
        if (shift > 0) attn = torch.roll(attn, new long[]{shift, shift}, 1, 2);
        if (hp != h || wp != w) attn = attn.narrow(1, 0, h).narrow(2, 0, w);
        x = shortcut.add(attn.reshape(batch, (long) h * w, c));
        Tensor ff = hiddenAct.apply(b.intermediate().apply(b.after().apply(x)));
        return x.add(b.output().apply(ff));
    }

    /** Patch merging: each 2x2 neighbourhood becomes one token of 4C channels, normed and reduced to 2C. */
    private Tensor merge(Stage stage, Tensor x) {
        long batch = x.size(0);
        int h = stage.height(), w = stage.width(), c = stage.dim();
        // HF concatenates (row0,col0), (row1,col0), (row0,col1), (row1,col1): column parity is the outer index
        Tensor t = x.view(batch, h / 2, 2, w / 2, 2, c).permute(0, 1, 3, 4, 2, 5).reshape(batch, (long) (h / 2) * (w / 2), 4L * c);
        return Ops.linear(stage.mergeNorm().apply(t), stage.mergeReduction());
    }

    private static TensorOptional f32(Tensor t) {
        return new TensorOptional(t.to(ScalarType.Float));
    }
}
