package ai.musicgenti.eval;

import ai.musicgenti.core.BadInputException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * How a decoded mono waveform is cut into the CLAP extractor's fixed-length windows before embedding. Reference and
 * evaluated sets must be cut the same way, so the mode is part of the embedding cache key and of saved statistics.
 */
public enum ClapWindows {
    /**
     * microsoft/fadtk's {@code clap-laion-music} (its {@code CLAPLaionModel}): the waveform goes through an int16
     * round trip, then a window starts at every whole second before the end, each zero-padded to the window length,
     * so a clip of L samples gives ceil(L / rate) windows (a 5 s clip: 5) and the embeddings are rounded to float16,
     * which is how fadtk caches them. Published FADs on CLAP (the seed, most papers) are computed this way.
     */
    FADTK,
    /**
     * Consecutive non-overlapping windows, each shorter piece repeat-padded by the extractor, a last piece under 1 s
     * dropped unless it is all there is: one embedding per 5 s fragment. Cheaper (a tenth of fadtk's windows on long
     * files) but not comparable with published numbers.
     */
    SINGLE;

    /** The {@code --windows} choices, in the help of every command that embeds with CLAP. */
    public static final String CHOICES = "CLAP windowing: fadtk (10 s windows every 1 s, as microsoft/fadtk, comparable with published"
            + " FADs) or single (consecutive 10 s windows, a 5 s clip is one repeat-padded window)";
    /** The {@code --windows} help where the default is {@link #DEFAULT}. */
    public static final String OPTION_HELP = CHOICES + " (default: ${DEFAULT-VALUE}).";
    /** The default of every command: the windowing that published FADs on CLAP use. */
    public static final String DEFAULT = "fadtk";

    /** The name on the command line and in cache keys and reports. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** A {@code --windows} value; a one-line error naming the flag otherwise. */
    public static ClapWindows parse(String value) {
        for (ClapWindows w : values()) if (w.id().equals(value.toLowerCase(Locale.ROOT))) return w;
        throw new BadInputException("--windows " + value + ": use fadtk (comparable with published FADs) or single");
    }

    /** What one embedding row stands for, for reports and cache metadata. */
    String describe(int rate, int window) {
        double seconds = (double) window / rate;
        return switch (this) {
            case FADTK -> String.format(Locale.ROOT, "one CLAP embedding per %.0f s window every 1 s, fadtk windowing"
                    + " (%d Hz mono, int16 round trip, zero-padded, float16)", seconds, rate);
            case SINGLE -> String.format(Locale.ROOT, "one CLAP embedding per %.0f s window (%d Hz mono; shorter pieces repeat-padded)",
                    seconds, rate);
        };
    }

    /** The windows of a mono waveform at {@code rate} Hz for an extractor taking {@code window} samples. */
    public List<float[]> cut(float[] wave, int rate, int window) {
        List<float[]> windows = new ArrayList<>();
        if (this == FADTK) {
            float[] quantized = int16RoundTrip(wave);
            // copyOfRange pads past the end with zeros, as fadtk pads its last chunks
            for (int start = 0; start < quantized.length; start += rate) windows.add(Arrays.copyOfRange(quantized, start, start + window));
            return windows;
        }
        int min = rate; // a last piece under 1 s says little and would be mostly repetition
        for (int start = 0; start < wave.length; start += window) {
            int end = Math.min(wave.length, start + window);
            if (end - start >= min || windows.isEmpty()) windows.add(Arrays.copyOfRange(wave, start, end));
        }
        return windows;
    }

    /**
     * fadtk's quantization before CLAP (laion_clap's own recipe): clip to [-1, 1], scale by 32767 and truncate toward
     * zero to int16, divide by 32767 back to float32.
     */
    static float[] int16RoundTrip(float[] wave) {
        float[] out = new float[wave.length];
        for (int i = 0; i < wave.length; i++) {
            double clipped = Math.max(-1.0, Math.min(1.0, wave[i]));
            out[i] = (float) ((short) (clipped * 32767.0) / 32767.0);
        }
        return out;
    }
}
