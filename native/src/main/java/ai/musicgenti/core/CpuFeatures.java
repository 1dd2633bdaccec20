package ai.musicgenti.core;

import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** What the CPU can do that decides which path is fast, read from {@code /proc/cpuinfo} (Linux). */
public final class CpuFeatures {
    private static final boolean NATIVE_BF16 = nativeBf16(read(Path.of("/proc/cpuinfo")));

    private CpuFeatures() {
    }

    /**
     * Whether the CPU multiplies BF16 natively ({@code avx512_bf16} or {@code amx_bf16}); true when that cannot be
     * told. Without it oneDNN converts: a musicgen-small BF16 training step took 4.5 s with oneDNN capped to AVX-512
     * without BF16 (F32: about 4 s) and 276 s capped to AVX2, against 1.5-2.4 s with it.
     */
    public static boolean nativeBf16() {
        return NATIVE_BF16;
    }

    /** A one-line warning when {@code compute} is BF16 on a CPU without native BF16, else null. */
    public static String slowBf16(Compute compute) {
        if (compute.isCuda() || compute.dtype() != ScalarType.BFloat16 || nativeBf16()) return null;
        return "warning: this CPU has no native BF16 (avx512_bf16 or amx_bf16), so --dtype bf16 is no faster than f32 here "
                + "and far slower where only AVX2 is left; use --dtype f32";
    }

    static boolean nativeBf16(String cpuinfo) {
        if (cpuinfo == null) return true;
        for (String line : cpuinfo.split("\n")) {
            if (!line.startsWith("flags")) continue;
            return Arrays.stream(line.substring(line.indexOf(':') + 1).trim().split("\\s+"))
                    .anyMatch(f -> f.equals("avx512_bf16") || f.equals("amx_bf16"));
        }
        return true;
    }

    /**
     * The kernel's transparent-huge-page mode, the bracketed word of
     * {@code /sys/kernel/mm/transparent_hugepage/enabled} ({@code always}, {@code madvise} or {@code never}); null
     * where that cannot be read.
     */
    public static String transparentHugePages() {
        return thpMode(read(Path.of("/sys/kernel/mm/transparent_hugepage/enabled")));
    }

    static String thpMode(String enabled) {
        if (enabled == null) return null;
        int open = enabled.indexOf('['), close = enabled.indexOf(']');
        return open >= 0 && close > open ? enabled.substring(open + 1, close) : null;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
