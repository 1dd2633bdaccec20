package ai.musicgenti.core;

import java.nio.charset.StandardCharsets;

/**
 * How a seed for the i-th of many things is derived from one seed, so that any of them can be redone alone, on any
 * machine, without replaying the others: training steps and evaluation batches use {@link #derive}
 * ({@code seed + golden-ratio constant * (index + 1)}; SplittableRandom mixes it), sweeps {@link #of} their id.
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
        return Long.parseUnsignedLong(Caches.sha256(name.getBytes(StandardCharsets.UTF_8)).substring(0, 16), 16);
    }
}
