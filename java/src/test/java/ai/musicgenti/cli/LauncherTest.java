package ai.musicgenti.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The launcher's glibc malloc settings: freed memory kept by the process for every command, huge pages only for the
 * commands where EnCodec encodes or a model trains, and a caller's own choice of any of them left alone. Runs the real
 * script against a stand-in {@code java} that prints what it was given.
 */
class LauncherTest {
    private static final String KEEP = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.top_pad=67108864"
            + ":glibc.malloc.trim_threshold=17179869184";
    private static final String HUGE = "glibc.malloc.hugetlb=1";

    @TempDir
    Path root;

    @Test
    void everyCommandKeepsFreedMemoryAndOnlyEncodingAndTrainingGetHugePages() throws Exception {
        Path launcher = install();
        String encoding = KEEP + ":" + HUGE;
        assertEquals(encoding, tunables(launcher, null, "train", "--model", "m"));
        assertEquals(encoding, tunables(launcher, null, "bench", "train", "--model", "m"));
        assertEquals(encoding, tunables(launcher, null, "sweep", "configs/sweep.yaml", "--dataset", "d"));
        assertEquals(encoding, tunables(launcher, null, "app", "--port", "8080"));
        assertEquals(encoding, tunables(launcher, null, "prepare", "--model", "m", "--dataset", "d", "clips"));
        assertEquals(encoding, tunables(launcher, null, "bench", "encode", "--model", "m"));
        assertEquals(encoding, tunables(launcher, null, "bench", "--shape", "small", "encode"));
        assertEquals(encoding, tunables(launcher, null, "fad", "a", "b", "--embedding", "encodec"));
        assertEquals(encoding, tunables(launcher, null, "fad", "a", "b", "--embedding=encodec"));
        for (List<String> args : List.of(List.of("generate", "--prompt", "x"),
                List.of("bench"), List.of("bench", "generate"), List.of("bench", "eval"), List.of("eval"),
                List.of("fad", "a", "b"), List.of("clap-score"), List.<String>of())) {
            assertEquals(KEEP, tunables(launcher, null, args.toArray(String[]::new)), "no huge pages for " + args);
        }
    }

    @Test
    void aCallersOwnSettingsWin() throws Exception {
        Path launcher = install();
        assertEquals("glibc.malloc.top_pad=0:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184:" + HUGE,
                tunables(launcher, "glibc.malloc.top_pad=0", "prepare"));
        assertEquals("glibc.malloc.trim_threshold=0:glibc.malloc.mmap_threshold=33554432:glibc.malloc.top_pad=67108864",
                tunables(launcher, "glibc.malloc.trim_threshold=0", "generate"));
        assertEquals("glibc.malloc.hugetlb=0:" + KEEP, tunables(launcher, "glibc.malloc.hugetlb=0", "prepare"));
        assertEquals("glibc.malloc.hugetlb=0:" + KEEP, tunables(launcher, "glibc.malloc.hugetlb=0", "train"));
        assertEquals("glibc.malloc.hugetlb=1:" + KEEP, tunables(launcher, "glibc.malloc.hugetlb=1", "generate"));
        // other libraries' tunables pass through untouched
        assertEquals("glibc.pthread.rseq=0:" + KEEP, tunables(launcher, "glibc.pthread.rseq=0", "generate"));
    }

    /** A copy of the launcher beside an up-to-date jar, so that it builds nothing, and a {@code java} that echoes. */
    private Path install() throws IOException {
        Path launcher = root.resolve("musicgen-ti");
        Files.copy(Path.of("..", "musicgen-ti"), launcher);
        for (String dir : List.of("native/src/main", "java/src/main", "java/target", "bin")) {
            Files.createDirectories(root.resolve(dir));
        }
        for (String pom : List.of("pom.xml", "native/pom.xml", "java/pom.xml")) Files.writeString(root.resolve(pom), "");
        Path jar = Files.writeString(root.resolve("java/target/musicgen-ti.jar"), "");
        Files.setLastModifiedTime(jar, FileTime.fromMillis(System.currentTimeMillis() + 60_000));
        Path java = Files.writeString(root.resolve("bin/java"), "#!/bin/sh\nprintf '%s' \"$GLIBC_TUNABLES\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        return launcher;
    }

    private String tunables(Path launcher, String callerTunables, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", launcher.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("PATH", root.resolve("bin") + ":" + env.getOrDefault("PATH", "/usr/bin:/bin"));
        env.remove("GLIBC_TUNABLES");
        if (callerTunables != null) env.put("GLIBC_TUNABLES", callerTunables);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        return out;
    }
}
