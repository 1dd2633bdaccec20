package ai.musicgenti.memory;

import org.bytedeco.javacpp.Pointer;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Live native objects and resident bytes, measured after the GC has freed what it can. Between two measurements a
 * leak of one tensor per step shows as at least one object per step; the GC only ever lowers the count.
 */
public record NativeUsage(long objects, long residentBytes) {
    public static NativeUsage now() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return new NativeUsage(Pointer.totalCount(), Pointer.physicalBytes());
    }

    /** Fails when more than a few native objects or more than {@code maxMegabytes} of resident memory were added. */
    public void assertNoGrowthSince(NativeUsage before, String what, double maxMegabytes) {
        long objects = this.objects - before.objects;
        double mb = (this.residentBytes - before.residentBytes) / 1e6;
        System.out.printf("%s: native objects %+d, resident memory %+.1f MB%n", what, objects, mb);
        assertTrue(objects < 50, what + " left " + objects + " more live native objects");
        assertTrue(mb < maxMegabytes, what + " grew resident memory by " + mb + " MB");
    }
}
