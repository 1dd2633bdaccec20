package ai.musicgenti.audio;

/**
 * Integrated loudness after ITU-R BS.1770-4: K-weighting, mean square per channel over 400 ms blocks overlapping
 * by 75 %, an absolute gate at -70 LUFS and a relative gate 10 LU below the loudness of the blocks that passed it.
 * Every channel has weight 1, which is the standard's weight for mono, stereo and the front channels; the 1.41 of
 * surround channels and the exclusion of LFE are not applied (MusicGen writes mono or stereo).
 */
public final class Loudness {
    private static final double BLOCK_SECONDS = 0.4;
    private static final double STEP_SECONDS = 0.1;
    private static final double ABSOLUTE_GATE_LUFS = -70;
    private static final double RELATIVE_GATE_LU = -10;
    // BS.1770's offset, chosen so that the K filter's gain at 997 Hz cancels out
    private static final double OFFSET_DB = -0.691;

    private Loudness() {
    }

    /** Integrated loudness in LUFS; negative infinity for silence or audio shorter than one 400 ms block. */
    public static double integrated(float[][] channels, int sampleRate) {
        int frames = channels[0].length;
        int block = (int) Math.round(BLOCK_SECONDS * sampleRate);
        int step = (int) Math.round(STEP_SECONDS * sampleRate);
        if (frames < block) return Double.NEGATIVE_INFINITY;
        int blocks = (frames - block) / step + 1;

        // per block, the K-weighted energy summed over channels (each channel's mean square)
        double[] energy = new double[blocks];
        for (float[] channel : channels) {
            double[] squares = kWeightedSquares(channel, sampleRate);
            // prefix sums make every overlapping block one subtraction
            double[] prefix = new double[frames + 1];
            for (int i = 0; i < frames; i++) prefix[i + 1] = prefix[i] + squares[i];
            for (int j = 0; j < blocks; j++) {
                energy[j] += (prefix[j * step + block] - prefix[j * step]) / block;
            }
        }

        double absoluteGate = energyOf(ABSOLUTE_GATE_LUFS);
        double relativeGate = energyOf(loudnessOf(meanAbove(energy, absoluteGate)) + RELATIVE_GATE_LU);
        return loudnessOf(meanAbove(energy, Math.max(absoluteGate, relativeGate)));
    }

    private static double meanAbove(double[] energy, double gate) {
        double sum = 0;
        int n = 0;
        for (double e : energy) {
            if (e > gate) {
                sum += e;
                n++;
            }
        }
        return n == 0 ? 0 : sum / n;
    }

    private static double loudnessOf(double energy) {
        return OFFSET_DB + 10 * Math.log10(energy);
    }

    private static double energyOf(double lufs) {
        return Math.pow(10, (lufs - OFFSET_DB) / 10);
    }

    /** Squares of the K-weighted signal: a high shelf (the head) followed by a high pass (RLB). */
    static double[] kWeightedSquares(float[] x, int sampleRate) {
        Biquad shelf = Biquad.shelf(sampleRate), highPass = Biquad.highPass(sampleRate);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double y = highPass.next(shelf.next(x[i]));
            out[i] = y * y;
        }
        return out;
    }

    /**
     * One second-order section (direct form I). BS.1770 gives the coefficients for 48 kHz only; these are the
     * analogue prototypes behind them (pole/zero frequency, gain and Q as libebur128 and pyloudnorm derive
     * them) mapped by the bilinear transform, so 48 kHz reproduces the table and other rates get the same curve.
     */
    static final class Biquad {
        final double b0, b1, b2, a1, a2;
        private double x1, x2, y1, y2;

        Biquad(double b0, double b1, double b2, double a1, double a2) {
            this.b0 = b0;
            this.b1 = b1;
            this.b2 = b2;
            this.a1 = a1;
            this.a2 = a2;
        }

        static Biquad shelf(int sampleRate) {
            double f0 = 1681.974450955533, gainDb = 3.999843853973347, q = 0.7071752369554196;
            double k = Math.tan(Math.PI * f0 / sampleRate);
            double vh = Math.pow(10, gainDb / 20), vb = Math.pow(vh, 0.4996667741545416);
            double a0 = 1 + k / q + k * k;
            return new Biquad((vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
                    2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0);
        }

        static Biquad highPass(int sampleRate) {
            double f0 = 38.13547087602444, q = 0.5003270373238773;
            double k = Math.tan(Math.PI * f0 / sampleRate);
            double a0 = 1 + k / q + k * k;
            return new Biquad(1, -2, 1, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0);
        }

        double next(double x) {
            double y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
            x2 = x1;
            x1 = x;
            y2 = y1;
            y1 = y;
            return y;
        }
    }
}
