package ai.musicgenti.core;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * How a seed for the i-th of many things is derived from one seed, so that any of them can be redone alone, on any
 * machine, without replaying the others. {@link #derive} is the step-seed formula training has always used
 * ({@code seed + golden-ratio constant * (step + 1)}; SplittableRandom mixes it), so switching a caller to it keeps its
 * numbers.
 */
public final class Seeds {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private Seeds() {
    }

    /** The seed of item {@code index} (0, 1, ...) of the things seeded by {@code seed}. */
    public static long derive(long seed, long index) {
        return seed + GOLDEN * (index + 1);
    }

    /** A seed named by text (a sweep id, say): the first 8 bytes of its UTF-8 SHA-256, the same on every JVM. */
    public static long of(String name) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            long v = 0;
            for (int i = 0; i < 8; i++) v = (v << 8) | (h[i] & 0xFF);
            return v;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
