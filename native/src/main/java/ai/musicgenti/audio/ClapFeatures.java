package ai.musicgenti.audio;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.ConfigJson;
import ai.musicgenti.core.Tensors;
import com.fasterxml.jackson.databind.JsonNode;
import org.bytedeco.pytorch.Tensor;

import java.util.List;
import java.util.Random;

/**
 * The log-mel front end of the LAION CLAP audio tower, as Hugging Face {@code ClapFeatureExtractor} (transformers
 * 4.43.4) computes it for non-fusion checkpoints: a fixed-length clip (longer inputs cropped at a random offset,
 * shorter ones tiled and zero-padded), a centred STFT with a periodic Hann window, power spectrum, Slaney mel bank
 * and dB without a floor on the range. Everything up to the dB values runs in double, as numpy does in the
 * reference; only the STFT bins are rounded to float once, because the reference stores them as complex64.
 */
public final class ClapFeatures {

    /**
     * The keys of {@code preprocessor_config.json} the extractor reads; absent keys take the
     * {@code ClapFeatureExtractor} defaults.
     */
    public record Config(int featureSize, int samplingRate, int hopLength, int fftWindowSize, int maxSamples,
                         double frequencyMin, double frequencyMax, Double topDb, String truncation, String padding) {

        public Config {
            if (featureSize <= 0 || samplingRate <= 0 || hopLength <= 0 || fftWindowSize <= 0 || maxSamples <= 0) {
                throw new BadInputException("CLAP preprocessor config: feature_size, sampling_rate, hop_length,"
                        + " fft_window_size and max length must be positive");
            }
            if (Integer.bitCount(fftWindowSize) != 1) {
                throw new BadInputException("CLAP preprocessor config: fft_window_size " + fftWindowSize
                        + " is not a power of two");
            }
            if (maxSamples <= fftWindowSize / 2) {
                throw new BadInputException("CLAP preprocessor config: the clip length " + maxSamples
                        + " samples is too short to reflect-pad for a window of " + fftWindowSize);
            }
            if (!(frequencyMin >= 0 && frequencyMax > frequencyMin && frequencyMax <= samplingRate / 2.0)) {
                throw new BadInputException("CLAP preprocessor config: need 0 <= frequency_min < frequency_max <= "
                        + samplingRate / 2.0 + ", got " + frequencyMin + " and " + frequencyMax);
            }
            if (topDb != null && topDb < 0) {
                throw new BadInputException("CLAP preprocessor config: top_db must be non-negative, got " + topDb);
            }
            if (truncation.equals("fusion")) {
                throw new BadInputException("CLAP preprocessor config: truncation 'fusion' belongs to fusion checkpoints"
                        + " (4-channel mel input), which are not supported; use a non-fusion checkpoint such as"
                        + " laion/larger_clap_music (truncation 'rand_trunc')");
            }
            if (!truncation.equals("rand_trunc")) {
                throw new BadInputException("CLAP preprocessor config: unknown truncation '" + truncation
                        + "'; only 'rand_trunc' is supported");
            }
        }

        public static Config fromJson(JsonNode json) {
            if (json == null || !json.isObject()) {
                throw new BadInputException("CLAP preprocessor config: expected a JSON object");
            }
            int sr = ConfigJson.integer(json, "CLAP preprocessor config", 48000, "sampling_rate");
            int maxSamples = json.hasNonNull("nb_max_samples") ? ConfigJson.integer(json, "CLAP preprocessor config", 0, "nb_max_samples")
                    : ConfigJson.integer(json, "CLAP preprocessor config", 10, "max_length_s") * sr;
            JsonNode topDb = json.get("top_db");
            return new Config(
                    ConfigJson.integer(json, "CLAP preprocessor config", 64, "feature_size"), sr,
                    ConfigJson.integer(json, "CLAP preprocessor config", 480, "hop_length"),
                    ConfigJson.integer(json, "CLAP preprocessor config", 1024, "fft_window_size"),
                    maxSamples,
                    json.path("frequency_min").asDouble(0),
                    json.path("frequency_max").asDouble(14000),
                    topDb == null || topDb.isNull() ? null : topDb.asDouble(),
                    json.path("truncation").asText("fusion"),
                    json.path("padding").asText("repeatpad"));
        }

        /** Frames of one clip: the centred STFT adds one frame past the last full hop. */
        public int frames() {
            return 1 + maxSamples / hopLength;
        }

        public int frequencyBins() {
            return fftWindowSize / 2 + 1;
        }

    }

    /**
     * @param inputFeatures [1, 1, frames, mel bins] F32 log-mel
     * @param isLonger      whether the input was longer than a clip (and therefore cropped)
     * @param offset        the crop offset in samples (0 when not cropped)
     */
    public record Clip(Tensor inputFeatures, boolean isLonger, long offset) {
    }

    /** @param inputFeatures [B, 1, frames, mel bins] F32; @param isLonger [B, 1] I64 (1 = cropped), as HF returns it */
    public record Batch(Tensor inputFeatures, Tensor isLonger) {
    }

    private final Config config;
    private final double[] window;
    private final double[][] melFilters; // [mel][frequency bin]
    private final int[] melFirst, melLast; // non-zero span of each filter, to skip the zeros
    private final double[] cos, sin; // FFT twiddles
    private final Random random;

    /** @param seed seeds the crop offsets that callers leave to the extractor */
    public ClapFeatures(Config config, long seed) {
        this.config = config;
        int n = config.fftWindowSize();
        this.window = new double[n];
        // periodic Hann: the symmetric window of n + 1 points without its last
        for (int i = 0; i < n; i++) window[i] = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / n);
        this.melFilters = slaneyMelFilters(config);
        this.melFirst = new int[melFilters.length];
        this.melLast = new int[melFilters.length];
        for (int m = 0; m < melFilters.length; m++) {
            int first = 0, last = -1;
            for (int k = 0; k < melFilters[m].length; k++) {
                if (melFilters[m][k] != 0) {
                    if (last < 0) first = k;
                    last = k;
                }
            }
            melFirst[m] = first;
            melLast[m] = last;
        }
        this.cos = new double[n / 2];
        this.sin = new double[n / 2];
        for (int i = 0; i < n / 2; i++) {
            cos[i] = Math.cos(2 * Math.PI * i / n);
            sin[i] = -Math.sin(2 * Math.PI * i / n);
        }
        this.random = new Random(seed);
    }

    public ClapFeatures(Config config) {
        this(config, 0L);
    }

    public Config config() {
        return config;
    }

    /**
     * Log-mel features of one waveform at the model's sampling rate.
     *
     * @param randTruncOffset where to crop an input longer than a clip; null draws it uniformly from the seeded
     *                        generator, as the reference draws it from numpy's global one
     */
    public Clip features(float[] waveform, Long randTruncOffset) {
        float[] mel = new float[config.frames() * config.featureSize()];
        boolean[] longer = new boolean[1];
        long offset = logMel(waveform, randTruncOffset, mel, 0, longer);
        return new Clip(Tensors.floats(mel, 1, 1, config.frames(), config.featureSize()), longer[0], offset);
    }

    /**
     * Several clips as one batch. {@code randTruncOffsets} may be null (all drawn) or hold one entry per clip
     * (null entries drawn).
     */
    public Batch features(List<float[]> waveforms, List<Long> randTruncOffsets) {
        if (waveforms.isEmpty()) throw new BadInputException("CLAP features: no waveforms given");
        if (randTruncOffsets != null && randTruncOffsets.size() != waveforms.size()) {
            throw new BadInputException("CLAP features: " + randTruncOffsets.size() + " crop offsets for "
                    + waveforms.size() + " waveforms");
        }
        int per = config.frames() * config.featureSize();
        float[] mel = new float[waveforms.size() * per];
        long[] isLonger = new long[waveforms.size()];
        boolean[] longer = new boolean[1];
        for (int b = 0; b < waveforms.size(); b++) {
            logMel(waveforms.get(b), randTruncOffsets == null ? null : randTruncOffsets.get(b), mel, b * per, longer);
            isLonger[b] = longer[0] ? 1 : 0;
        }
        return new Batch(Tensors.floats(mel, waveforms.size(), 1, config.frames(), config.featureSize()),
                Tensors.longs(isLonger, waveforms.size(), 1));
    }

    /** Writes [frames, mel] into {@code out} at {@code at}; returns the crop offset. */
    private long logMel(float[] waveform, Long randTruncOffset, float[] out, int at, boolean[] longer) {
        if (waveform == null || waveform.length == 0) throw new BadInputException("CLAP features: empty waveform");
        int max = config.maxSamples();
        double[] clip = new double[max];
        long offset = 0;
        if (waveform.length > max) {
            long overflow = waveform.length - (long) max;
            if (randTruncOffset == null) {
                synchronized (random) {
                    offset = (long) (random.nextDouble() * (overflow + 1));
                }
            } else {
                offset = randTruncOffset;
                if (offset < 0 || offset > overflow) {
                    throw new BadInputException("CLAP features: crop offset " + offset + " is outside [0, " + overflow
                            + "] for a waveform of " + waveform.length + " samples");
                }
            }
            for (int i = 0; i < max; i++) clip[i] = waveform[(int) offset + i];
            longer[0] = true;
        } else {
            longer[0] = false;
            int n = waveform.length;
            // 'repeatpad' tiles whole copies and zero-pads the rest; 'repeat' keeps tiling into the tail
            int copies = switch (config.padding()) {
                case "repeatpad" -> max / n;
                case "repeat" -> max / n + 1;
                default -> 1;
            };
            int filled = (int) Math.min((long) copies * n, max);
            for (int i = 0; i < filled; i++) clip[i] = waveform[i % n];
        }
        spectrogramDb(clip, out, at);
        return offset;
    }

    private void spectrogramDb(double[] x, float[] out, int at) {
        int n = config.fftWindowSize(), hop = config.hopLength(), half = n / 2;
        int bins = config.frequencyBins(), mels = config.featureSize(), frames = config.frames();
        // centred frames: reflect-pad half a window on each side, the edge sample not repeated
        double[] padded = new double[x.length + 2 * half];
        for (int i = 0; i < x.length; i++) padded[half + i] = x[i];
        for (int i = 1; i <= half; i++) {
            padded[half - i] = x[i];
            padded[half + x.length - 1 + i] = x[x.length - 1 - i];
        }
        double[] re = new double[n], im = new double[n], power = new double[bins];
        double[] db = new double[frames * mels];
        double maxDb = Double.NEGATIVE_INFINITY;
        for (int f = 0; f < frames; f++) {
            int start = f * hop;
            for (int i = 0; i < n; i++) {
                re[i] = padded[start + i] * window[i];
                im[i] = 0;
            }
            fft(re, im);
            for (int k = 0; k < bins; k++) {
                // the reference keeps the spectrum as complex64 before taking |.|^2 in double
                double r = (float) re[k], j = (float) im[k];
                power[k] = r * r + j * j;
            }
            for (int m = 0; m < mels; m++) {
                double[] filter = melFilters[m];
                double sum = 0;
                for (int k = melFirst[m]; k <= melLast[m]; k++) sum += filter[k] * power[k];
                double v = 10 * Math.log10(Math.max(sum, 1e-10));
                db[f * mels + m] = v;
                maxDb = Math.max(maxDb, v);
            }
        }
        double floor = config.topDb() == null ? Double.NEGATIVE_INFINITY : maxDb - config.topDb();
        for (int i = 0; i < db.length; i++) out[at + i] = (float) Math.max(db[i], floor);
    }

    /** In-place iterative radix-2 FFT of length {@code re.length} (a power of two). */
    private void fft(double[] re, double[] im) {
        int n = re.length;
        for (int i = 1, j = 0; i < n; i++) {
            int bit = n >> 1;
            for (; (j & bit) != 0; bit >>= 1) j ^= bit;
            j ^= bit;
            if (i < j) {
                double t = re[i];
                re[i] = re[j];
                re[j] = t;
                t = im[i];
                im[i] = im[j];
                im[j] = t;
            }
        }
        for (int len = 2; len <= n; len <<= 1) {
            int step = n / len, halfLen = len / 2;
            for (int i = 0; i < n; i += len) {
                for (int k = 0; k < halfLen; k++) {
                    double wr = cos[k * step], wi = sin[k * step];
                    int a = i + k, b = a + halfLen;
                    double xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
                    re[b] = re[a] - xr;
                    im[b] = im[a] - xi;
                    re[a] += xr;
                    im[a] += xi;
                }
            }
        }
    }

    /** Triangular filters spaced evenly on the Slaney mel scale, each scaled to unit area (Slaney norm). */
    static double[][] slaneyMelFilters(Config config) {
        int bins = config.frequencyBins(), mels = config.featureSize();
        double melMin = hzToMel(config.frequencyMin()), melMax = hzToMel(config.frequencyMax());
        double[] edges = new double[mels + 2];
        double step = (melMax - melMin) / (mels + 1);
        for (int i = 0; i < edges.length; i++) edges[i] = melToHz(i == mels + 1 ? melMax : melMin + i * step);
        double nyquist = config.samplingRate() / 2; // integer division, as the reference's sampling_rate // 2
        double[][] filters = new double[mels][bins];
        for (int k = 0; k < bins; k++) {
            double freq = k == bins - 1 ? nyquist : k * (nyquist / (bins - 1));
            for (int m = 0; m < mels; m++) {
                double down = (freq - edges[m]) / (edges[m + 1] - edges[m]);
                double up = (edges[m + 2] - freq) / (edges[m + 2] - edges[m + 1]);
                double weight = Math.max(0, Math.min(down, up));
                filters[m][k] = weight * 2.0 / (edges[m + 2] - edges[m]);
            }
        }
        return filters;
    }

    // above 1 kHz the scale is logarithmic: 27 mels per factor 6.4 in frequency
    private static final double MIN_LOG_HZ = 1000.0, MIN_LOG_MEL = 15.0, MELS_PER_LOG = 27.0 / Math.log(6.4);

    private static double hzToMel(double hz) {
        return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) * MELS_PER_LOG : 3.0 * hz / 200.0;
    }

    private static double melToHz(double mel) {
        return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp((mel - MIN_LOG_MEL) / MELS_PER_LOG) : 200.0 * mel / 3.0;
    }
}
