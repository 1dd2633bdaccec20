package ai.musicgenti.models;

import ai.musicgenti.core.Ops;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.core.Releasable;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.core.Weights;
import com.fasterxml.jackson.databind.JsonNode;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * The EnCodec neural audio codec as Hugging Face transformers 4.43.4 implements it ({@code EncodecModel}): a SEANet
 * convolutional encoder with an LSTM, a residual vector quantizer (RVQ) and the mirrored decoder. Only the
 * configuration MusicGen uses is supported: one chunk (no {@code chunk_length_s}), no input normalisation, weight norm.
 *
 * <p>Tensors: audio {@code [B, channels, samples]}, latents {@code [B, hidden, frames]}, codes {@code [B, K, frames]}
 * (Long). All methods only create temporaries, so they can run inside a JavaCPP {@code PointerScope}.
 */
public final class EnCodec {

    /** {@code EncodecConfig}; keys missing from config.json take the transformers 4.43.4 class defaults. */
    public record Config(
            double[] targetBandwidths,
            int samplingRate,
            int audioChannels,
            boolean normalize,
            Double chunkLengthS,
            int hiddenSize,
            int numFilters,
            int numResidualLayers,
            int[] upsamplingRatios,
            String normType,
            int kernelSize,
            int lastKernelSize,
            int residualKernelSize,
            int dilationGrowthRate,
            boolean useCausalConv,
            String padMode,
            int compress,
            int numLstmLayers,
            double trimRightRatio,
            int codebookSize,
            int codebookDim,
            boolean useConvShortcut) {

        public static Config fromJson(JsonNode j) {
            int hidden = j.path("hidden_size").asInt(128);
            JsonNode dim = j.path("codebook_dim");
            return new Config(
                    doubles(j.path("target_bandwidths"), 1.5, 3.0, 6.0, 12.0, 24.0),
                    j.path("sampling_rate").asInt(24_000),
                    j.path("audio_channels").asInt(1),
                    j.path("normalize").asBoolean(false),
                    j.path("chunk_length_s").isNumber() ? j.path("chunk_length_s").asDouble() : null,
                    hidden,
                    j.path("num_filters").asInt(32),
                    j.path("num_residual_layers").asInt(1),
                    ints(j.path("upsampling_ratios"), 8, 5, 4, 2),
                    j.path("norm_type").asText("weight_norm"),
                    j.path("kernel_size").asInt(7),
                    j.path("last_kernel_size").asInt(7),
                    j.path("residual_kernel_size").asInt(3),
                    j.path("dilation_growth_rate").asInt(2),
                    j.path("use_causal_conv").asBoolean(true),
                    j.path("pad_mode").asText("reflect"),
                    j.path("compress").asInt(2),
                    j.path("num_lstm_layers").asInt(2),
                    j.path("trim_right_ratio").asDouble(1.0),
                    j.path("codebook_size").asInt(1024),
                    dim.isNumber() ? dim.asInt() : hidden,
                    j.path("use_conv_shortcut").asBoolean(true));
        }

        public int hopLength() {
            int hop = 1;
            for (int r : upsamplingRatios) hop *= r;
            return hop;
        }

        /** The channels at the bottleneck, at the frame rate: each downsampling doubles the filters. */
        public int bottleneckChannels() {
            return numFilters << upsamplingRatios.length;
        }

        /** Frames per second, rounded up as the reference does (50 for 32 kHz with hop 640). */
        public int frameRate() {
            return (int) Math.ceil((double) samplingRate / hopLength());
        }

        /** How many RVQ layers the checkpoint holds (enough for the largest target bandwidth). */
        public int numQuantizerLayers() {
            return (int) Math.floor(1000.0 * targetBandwidths[targetBandwidths.length - 1] / (frameRate() * 10.0));
        }

        /** Codebooks used at a bandwidth in kbps: each one costs log2(codebook size) bits per frame. */
        public int codebooksForBandwidth(double bandwidthKbps) {
            int n = numQuantizerLayers();
            if (bandwidthKbps > 0) {
                double bitsPerCodebook = (Math.log(codebookSize) / Math.log(2)) * frameRate();
                n = Math.min(n, (int) Math.max(1, Math.floor(bandwidthKbps * 1000 / bitsPerCodebook)));
            }
            return n;
        }

        private static double[] doubles(JsonNode n, double... defaults) {
            if (!n.isArray()) return defaults;
            double[] out = new double[n.size()];
            for (int i = 0; i < out.length; i++) out[i] = n.get(i).asDouble();
            return out;
        }

        private static int[] ints(JsonNode n, int... defaults) {
            if (!n.isArray()) return defaults;
            int[] out = new int[n.size()];
            for (int i = 0; i < out.length; i++) out[i] = n.get(i).asInt();
            return out;
        }

        @Override
        public String toString() {
            return "EnCodec.Config[sampling_rate=" + samplingRate + ", channels=" + audioChannels + ", hidden=" + hiddenSize
                    + ", filters=" + numFilters + ", ratios=" + Arrays.toString(upsamplingRatios) + ", codebooks="
                    + numQuantizerLayers() + "x" + codebookSize + ", bandwidths=" + Arrays.toString(targetBandwidths) + "]";
        }
    }

    private final Config config;
    private final Compute compute;
    /** Built on first use: generation never needs the encoder, preparing a dataset never the decoder. */
    private final Releasable<List<Layer>> encoder, decoder;
    /** One {@code [codebook_size, dim]} table per RVQ layer, in the compute dtype. */
    private final Tensor[] codebooks;
    /** The same tables in F32: nearest-codebook decisions are made in F32 whatever the compute dtype. */
    private final Tensor[] codebooksF32;
    private final int numCodebooks;

    /**
     * The codec as every command builds it. On the CPU it computes in F32 whatever the dtype: oneDNN's 16-bit
     * convolutions return wrong sums on AMD CPUs with avx512_bf16 (pytorch/pytorch#163347), and its nearest-codebook
     * codes are F32 decisions anyway. The constructor keeps the given dtype, so the golden cases still check the 16-bit
     * path that CUDA runs.
     */
    public static EnCodec load(Config config, Weights w) {
        Compute c = w.compute();
        return new EnCodec(config, c.isCuda() ? w : w.on(new Compute(c.device(), ScalarType.Float)));
    }

    public EnCodec(Config config, Weights w) {
        check(config);
        this.config = config;
        this.compute = w.compute();
        this.encoder = new Releasable<>(() -> buildEncoder(config, w.pp("encoder").pp("layers")));
        this.decoder = new Releasable<>(() -> buildDecoder(config, w.pp("decoder").pp("layers")));
        int layers = config.numQuantizerLayers();
        this.codebooks = new Tensor[layers];
        this.codebooksF32 = new Tensor[layers];
        for (int i = 0; i < layers; i++) {
            codebooks[i] = w.pp("quantizer").pp("layers").pp(i).pp("codebook")
                    .get("embed", config.codebookSize(), config.codebookDim());
            codebooksF32[i] = codebooks[i].to(ScalarType.Float);
        }
        // encode() without a bandwidth uses the first (smallest) target bandwidth.
        this.numCodebooks = config.codebooksForBandwidth(config.targetBandwidths()[0]);
    }

    private static void check(Config c) {
        if (c.normalize()) throw unsupported("normalize=true (per-chunk scales)");
        if (c.chunkLengthS() != null) throw unsupported("chunk_length_s (chunked encoding with overlap-add)");
        if (!c.normType().equals("weight_norm")) throw unsupported("norm_type=" + c.normType());
        if (c.codebookDim() != c.hiddenSize()) {
            throw new BadInputException("EnCodec config: codebook_dim " + c.codebookDim() + " differs from hidden_size "
                    + c.hiddenSize() + "; the quantizer has no projection, so they must be equal");
        }
        if (Integer.bitCount(c.codebookSize()) != 1) {
            throw new BadInputException("EnCodec config: codebook_size " + c.codebookSize() + " is not a power of two");
        }
        if (!c.useCausalConv() && c.trimRightRatio() != 1.0) {
            throw new BadInputException("EnCodec config: trim_right_ratio != 1.0 only makes sense with use_causal_conv");
        }
    }

    private static BadInputException unsupported(String what) {
        return new BadInputException("EnCodec config: " + what + " is not supported (MusicGen's EnCodec does not use it)");
    }

    public Config config() {
        return config;
    }

    /** Codebooks that {@link #encode} produces (from the first target bandwidth). */
    public int numCodebooks() {
        return numCodebooks;
    }

    public int codebookSize() {
        return config.codebookSize();
    }

    public int samplingRate() {
        return config.samplingRate();
    }

    public int hopLength() {
        return config.hopLength();
    }

    public int frameRate() {
        return config.frameRate();
    }

    // ---------------------------------------------------------------- encoding

    /** Audio {@code [B, channels, N]} to latents {@code [B, hidden, ceil(N / hop)]}. */
    public Tensor encodeLatent(Tensor audio) {
        if (audio.dim() != 3 || audio.size(1) != config.audioChannels() || audio.size(2) < 1) {
            throw new BadInputException("EnCodec: audio must have shape [batch, " + config.audioChannels()
                    + ", samples], got " + Tensors.shape(audio));
        }
        return run(encoder.get(), audio.to(compute.device(), compute.dtype()));
    }

    /** Residual vector quantisation: per layer the nearest codebook entry of what earlier layers left over. */
    public Tensor quantize(Tensor latent) {
        long batch = latent.size(0), frames = latent.size(2);
        Tensor residual = latent.to(ScalarType.Float).permute(0, 2, 1).reshape(-1, config.hiddenSize());
        TensorVector codes = new TensorVector();
        for (int k = 0; k < numCodebooks; k++) {
            Tensor embed = codebooksF32[k];
            // ||r||^2 - 2 r.e + ||e||^2, in the reference's order of operations.
            Tensor dist = residual.pow(Tensors.scalar(2)).sum(new long[]{1}, true, new ScalarTypeOptional())
                    .sub(Ops.linear(residual, embed).mul(Tensors.scalar(2)))
                    .add(embed.pow(Tensors.scalar(2)).sum(new long[]{1}, false, new ScalarTypeOptional()));
            Tensor index = torch.argmin(dist, new LongOptional(1), false);
            residual = residual.sub(torch.embedding(embed, index));
            codes.push_back(index.view(batch, frames));
        }
        return torch.stack(codes, 1);
    }

    /**
     * Audio {@code [B, channels, N]} to codes {@code [B, K, ceil(N / hop)]}. Rows are encoded a few at a time, at most
     * {@link #ROW_SAMPLES_PER_CALL} samples together: the activations at the full rate (64 channels) grow with rows
     * times samples, rows are independent, and beyond that convolutions gain nothing from more rows.
     */
    public Tensor encode(Tensor audio) {
        long rows = audio.dim() == 3 ? Math.max(1, ROW_SAMPLES_PER_CALL / Math.max(1, audio.size(2))) : 1;
        if (audio.dim() != 3 || audio.size(0) <= rows) return quantize(encodeLatent(audio));
        TensorVector parts = new TensorVector();
        for (long start = 0; start < audio.size(0); start += rows) {
            try (PointerScope scope = new PointerScope()) {
                parts.push_back(quantize(encodeLatent(audio.narrow(0, start, Math.min(rows, audio.size(0) - start)))));
            }
        }
        return torch.cat(parts, 0);
    }

    /** 10 s at 32 kHz: about 0.5 GB of activations at the encoder's widest layer. */
    private static final long ROW_SAMPLES_PER_CALL = 320_000;

    // ---------------------------------------------------------------- decoding

    /** The codebook vector of every code: {@code [K, B, hidden, frames]}. */
    public Tensor codebookVectors(Tensor codes) {
        checkCodes(codes);
        TensorVector vectors = new TensorVector();
        for (int k = 0; k < codes.size(1); k++) {
            vectors.push_back(torch.embedding(codebooks[k], codes.select(1, k)).permute(0, 2, 1));
        }
        return torch.stack(vectors, 0);
    }

    /** The quantised latent {@code [B, hidden, frames]}: the sum of the codebook vectors. */
    public Tensor dequantize(Tensor codes) {
        Tensor vectors = codebookVectors(codes);
        // Summed one codebook after the other, as the reference does.
        Tensor sum = vectors.select(0, 0);
        for (int k = 1; k < vectors.size(0); k++) sum = sum.add(vectors.select(0, k));
        return sum;
    }

    /** Codes {@code [B, K, frames]} (K up to the number of RVQ layers) to audio {@code [B, channels, frames * hop]}. */
    public Tensor decode(Tensor codes) {
        return run(decoder.get(), dequantize(codes));
    }

    /**
     * The layers one after the other, each in its own PointerScope, and each input freed once the next layer's output
     * exists: at most one layer's activations are alive, where leaving them to the garbage collector kept every layer's
     * (5 s of audio: +340 MB at the end of a generation). The result belongs to the caller's scope, if any. The
     * convolutions get every core ({@link CpuThreads#libtorch}).
     */
    private static Tensor run(List<Layer> layers, Tensor input) {
        PointerScope outer = PointerScope.getInnerScope();
        Tensor x;
        try (CpuThreads.Phase threads = CpuThreads.libtorch()) {
            x = scoped(() -> input.unsqueeze(2));
            for (Layer layer : layers) {
                Tensor in = x;
                x = scoped(() -> layer.forward(in));
                in.close();
            }
            Tensor last = x;
            x = scoped(() -> last.squeeze(2).contiguous());
            last.close();
        }
        if (outer != null) {
            outer.attach(x);
            x.releaseReference();
        }
        return x;
    }

    /** What {@code step} makes, kept past a PointerScope that frees its temporaries at once. */
    private static Tensor scoped(Supplier<Tensor> step) {
        try (PointerScope scope = new PointerScope()) {
            return Tensors.keep(step.get());
        }
    }

    /** As {@link #decode(Tensor)}, cut to {@code length} samples (the input length, as the reference's forward does). */
    public Tensor decode(Tensor codes, long length) {
        Tensor audio = decode(codes);
        return length < audio.size(2) ? audio.narrow(2, 0, length) : audio;
    }

    private void checkCodes(Tensor codes) {
        if (codes.dim() != 3 || codes.size(1) < 1 || codes.size(1) > codebooks.length) {
            throw new BadInputException("EnCodec: codes must have shape [batch, K <= " + codebooks.length
                    + ", frames], got " + Tensors.shape(codes));
        }
        if (codes.numel() > 0) {
            long min = codes.min().item_long(), max = codes.max().item_long();
            if (min < 0 || max >= config.codebookSize()) {
                throw new BadInputException("EnCodec: codes must lie in [0, " + config.codebookSize() + "), got ["
                        + min + ", " + max + "]");
            }
        }
    }

    // ---------------------------------------------------------------- network

    /**
     * The checkpoint names layers by their index in the reference's ModuleList, ELUs included; here each ELU is folded
     * into the layer after it (see {@link Conv#forward}), so it only takes up an index.
     */
    private static List<Layer> buildEncoder(Config c, Weights w) {
        List<Layer> layers = new ArrayList<>();
        int index = 0;
        layers.add(new Conv(c, w.pp(index++), c.audioChannels(), c.numFilters(), c.kernelSize(), 1, 1, false));
        int channels = c.numFilters();
        int[] ratios = c.upsamplingRatios();
        for (int i = ratios.length - 1; i >= 0; i--) {
            for (int j = 0; j < c.numResidualLayers(); j++) {
                layers.add(new ResnetBlock(c, w.pp(index++), channels, pow(c.dilationGrowthRate(), j)));
            }
            index++; // ELU
            layers.add(new Conv(c, w.pp(index++), channels, channels * 2, ratios[i] * 2, ratios[i], 1, true));
            channels *= 2;
        }
        layers.add(new Lstm(c, w.pp(index++), channels));
        index++; // ELU
        layers.add(new Conv(c, w.pp(index), channels, c.hiddenSize(), c.lastKernelSize(), 1, 1, true));
        return layers;
    }

    private static List<Layer> buildDecoder(Config c, Weights w) {
        List<Layer> layers = new ArrayList<>();
        int index = 0;
        int channels = c.bottleneckChannels();
        layers.add(new Conv(c, w.pp(index++), c.hiddenSize(), channels, c.kernelSize(), 1, 1, false));
        layers.add(new Lstm(c, w.pp(index++), channels));
        for (int ratio : c.upsamplingRatios()) {
            index++; // ELU
            layers.add(new ConvTranspose(c, w.pp(index++), channels, channels / 2, ratio * 2, ratio));
            channels /= 2;
            for (int j = 0; j < c.numResidualLayers(); j++) {
                layers.add(new ResnetBlock(c, w.pp(index++), channels, pow(c.dilationGrowthRate(), j)));
            }
        }
        index++; // ELU
        layers.add(new Conv(c, w.pp(index), c.numFilters(), c.audioChannels(), c.lastKernelSize(), 1, 1, true));
        return layers;
    }

    private static int pow(int base, int exponent) {
        int p = 1;
        for (int i = 0; i < exponent; i++) p *= base;
        return p;
    }

    /**
     * The memory layout of a convolution with these channels. Activations are {@code [B, C, 1, T]}: 1-D convolutions
     * run as 2-D ones with a height of 1. Mostly they are channels-last, stored as {@code [B, T, C]}, which oneDNN
     * convolves as it is; in the default layout it reordered every activation into its channel-blocked layout and
     * back, which took as long as the convolutions themselves at 32 kHz (10 s encode: 1.1 s of reorders against 1.3 s
     * of convolutions in ONEDNN_VERBOSE), and every transposed convolution of the decoder was 3-7x slower. Only the
     * convolutions at the bottleneck (the widest channels, at the frame rate) are faster in the default layout
     * (musicgen-small, 512 to 1024 channels, stride 8: 51 against 90 ms; 1024 to 128: 3.5 against 10 ms), and there
     * the reorders are small.
     */
    private static torch.MemoryFormat layout(Config c, long in, long out) {
        return Math.max(in, out) < c.bottleneckChannels() ? CHANNELS_LAST : torch.MemoryFormat.Contiguous;
    }

    private static final torch.MemoryFormat CHANNELS_LAST = torch.MemoryFormat.ChannelsLast;

    /** {@code x} (3-D or 4-D) as {@code [B, C, 1, T]} in {@code layout}; no copy when it already is. */
    private static Tensor laidOut(torch.MemoryFormat layout, Tensor x) {
        return (x.dim() == 3 ? x.unsqueeze(2) : x).contiguous(layout);
    }

    private interface Layer {
        Tensor forward(Tensor x);
    }

    /**
     * Conv1d that pads its input itself: by (effective kernel - stride) in total, split so that the output keeps
     * ceil(length / stride) frames, plus the extra right padding that makes the last window complete. With
     * {@code eluFirst} it is the reference's ELU followed by its conv.
     */
    private static final class Conv implements Layer {
        private final Tensor weight;
        private final TensorOptional bias;
        private final long stride, dilation, kernel, paddingTotal;
        private final boolean causal, eluFirst, windowed;
        private final String padMode;
        private final torch.MemoryFormat layout;

        Conv(Config c, Weights w, int in, int out, int kernelSize, int stride, int dilation, boolean eluFirst) {
            Tensor normed = w.pp("conv").weightNorm(out, in, kernelSize);
            this.windowed = in == 1 && dilation == 1;
            this.layout = layout(c, in, out);
            this.weight = windowed ? normed.reshape(out, kernelSize) : laidOut(layout, normed);
            this.bias = new TensorOptional(w.pp("conv").get("bias", out));
            this.stride = stride;
            this.dilation = dilation;
            this.kernel = (long) (kernelSize - 1) * dilation + 1;
            this.paddingTotal = kernel - stride;
            this.causal = c.useCausalConv();
            this.padMode = c.padMode();
            this.eluFirst = eluFirst;
        }

        /**
         * The ELU runs in place on the padded copy: padding (reflect, replicate or zeros) only repeats values, and
         * ELU(0) = 0, so it equals padding the ELU's output, without allocating and filling one more activation.
         */
        @Override
        public Tensor forward(Tensor input) {
            Tensor x = windowed ? input : laidOut(layout, input);
            long length = x.size(-1);
            // Frames the padded input yields, rounded up, then the length that fits exactly that many windows.
            long frames = ceilDiv(length - kernel + paddingTotal, stride) + 1;
            long extra = (frames - 1) * stride + kernel - paddingTotal - length;
            long right = causal ? 0 : paddingTotal / 2;
            long left = paddingTotal - right;
            Tensor padded = pad(x, left, right + extra, padMode);
            if (eluFirst) padded = padded == x ? torch.elu(x) : torch.elu_(padded);
            if (windowed) return windowedProduct(padded);
            return torch.conv2d(padded, weight, bias, new long[]{1, stride}, new long[]{0, 0}, new long[]{1, dilation}, 1);
        }

        /**
         * A one-channel input (the audio) as a matrix product of its windows [B, frames, kernel] with the weight,
         * which lands in channels-last layout directly. oneDNN's convolution took 3x as long on it and wrote its
         * output in the default layout, which then had to be copied (10 s at 32 kHz: 64 channels, 82 MB).
         */
        private Tensor windowedProduct(Tensor padded) {
            Tensor windows = padded.reshape(padded.size(0), padded.size(-1)).unfold(1, kernel, stride);
            return Ops.linear(windows, weight, bias.get()).permute(0, 2, 1).unsqueeze(2);
        }

        private static long ceilDiv(long a, long b) {
            return -Math.floorDiv(-a, b);
        }

        /** Reflect padding needs more samples than it pads; short inputs get zeros appended first, removed after. */
        private static Tensor pad(Tensor x, long left, long right, String mode) {
            if (left == 0 && right == 0) return x;
            if (!mode.equals("reflect")) return torch.pad(x, new long[]{left, right, 0, 0}, mode, new DoubleOptional(0.0));
            long length = x.size(-1);
            long zeros = Math.max(left, right) >= length ? Math.max(left, right) - length + 1 : 0;
            if (zeros > 0) x = torch.pad(x, new long[]{0, zeros, 0, 0}, "constant", new DoubleOptional(0.0));
            Tensor padded = torch.pad(x, new long[]{left, right, 0, 0}, "reflect", new DoubleOptional());
            return zeros > 0 ? padded.narrow(-1, 0, padded.size(-1) - zeros) : padded;
        }
    }

    /** ConvTranspose1d that trims (kernel - stride) samples again, so that each frame yields exactly stride samples. */
    private static final class ConvTranspose implements Layer {
        private final Tensor weight;
        private final TensorOptional bias;
        private final long stride, trimLeft, trimRight;

        ConvTranspose(Config c, Weights w, int in, int out, int kernelSize, int stride) {
            // Weight norm of a transposed conv normalises per input channel (its weight's dim 0).
            this.weight = laidOut(CHANNELS_LAST, w.pp("conv").weightNorm(in, out, kernelSize));
            this.bias = new TensorOptional(w.pp("conv").get("bias", out));
            this.stride = stride;
            long total = kernelSize - stride;
            this.trimRight = c.useCausalConv() ? (long) Math.ceil(total * c.trimRightRatio()) : total / 2;
            this.trimLeft = total - trimRight;
        }

        /** The reference's ELU, then its transposed conv. */
        @Override
        public Tensor forward(Tensor x) {
            Tensor y = torch.conv_transpose2d(torch.elu(laidOut(CHANNELS_LAST, x)), weight, bias, new long[]{1, stride}, new long[]{0, 0}, new long[]{0, 0}, 1, new long[]{1, 1});
            return y.narrow(-1, trimLeft, y.size(-1) - trimLeft - trimRight);
        }
    }

    /** A stacked unidirectional LSTM over time with a residual connection around it; zero initial state. */
    private static final class Lstm implements Layer {
        private final TensorVector params = new TensorVector();
        private final int layers, dim;

        Lstm(Config c, Weights w, int dim) {
            this.layers = c.numLstmLayers();
            this.dim = dim;
            Weights lw = w.pp("lstm");
            for (int l = 0; l < layers; l++) {
                // libtorch expects w_ih, w_hh, b_ih, b_hh per layer (gate order i, f, g, o as stored).
                params.push_back(lw.get("weight_ih_l" + l, 4L * dim, dim));
                params.push_back(lw.get("weight_hh_l" + l, 4L * dim, dim));
                params.push_back(lw.get("bias_ih_l" + l, 4L * dim));
                params.push_back(lw.get("bias_hh_l" + l, 4L * dim));
            }
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor seq = x.squeeze(2).permute(2, 0, 1); // [time, batch, channels]
            Tensor zeros = seq.new_zeros(layers, seq.size(1), dim);
            Tensor out = torch.lstm(seq, new TensorVector(zeros, zeros), params, true, layers, 0.0, false, false, false).get0();
            return out.add_(seq).permute(1, 2, 0).unsqueeze(2);
        }
    }

    /** SEANet residual block: ELU, dilated conv to channels/compress, ELU, 1x1 conv back, plus the shortcut. */
    private static final class ResnetBlock implements Layer {
        private final Conv first, second, shortcut;

        ResnetBlock(Config c, Weights w, int dim, int dilation) {
            int hidden = dim / c.compress();
            // Indices 1 and 3 of the block list; 0 and 2 are the ELUs.
            this.first = new Conv(c, w.pp("block").pp(1), dim, hidden, c.residualKernelSize(), 1, dilation, true);
            this.second = new Conv(c, w.pp("block").pp(3), hidden, dim, 1, 1, 1, false);
            this.shortcut = c.useConvShortcut() ? new Conv(c, w.pp("shortcut"), dim, dim, 1, 1, 1, false) : null;
        }

        @Override
        public Tensor forward(Tensor input) {
            Tensor x = laidOut(first.layout, input); // the shortcut's sum needs it in the convolutions' layout
            // the first conv's output is fresh, so its ELU and the shortcut's sum reuse their memory
            Tensor h = second.forward(torch.elu_(first.forward(x)));
            return shortcut != null ? shortcut.forward(x).add_(h) : h.add_(x);
        }
    }
}
