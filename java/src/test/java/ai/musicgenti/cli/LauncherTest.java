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
 * The launcher asks glibc for huge pages only for the commands where EnCodec encodes, and leaves a caller's own
 * choice alone. Runs the real script against a stand-in {@code java} that prints what it was given.
 */
class LauncherTest {
    @TempDir
    Path root;

    @Test
    void hugePagesOnlyWhereEnCodecEncodes() throws Exception {
        Path launcher = install();
        String huge = "glibc.malloc.hugetlb=1";
        assertEquals(huge, tunables(launcher, null, "prepare", "--model", "m", "--dataset", "d", "clips"));
        assertEquals(huge, tunables(launcher, null, "bench", "encode", "--model", "m"));
        assertEquals(huge, tunables(launcher, null, "bench", "--shape", "small", "encode"));
        assertEquals(huge, tunables(launcher, null, "fad", "a", "b", "--embedding", "encodec"));
        assertEquals(huge, tunables(launcher, null, "fad", "a", "b", "--embedding=encodec"));
        for (List<String> args : List.of(List.of("train", "--model", "m"), List.of("generate", "--prompt", "x"),
                List.of("bench"), List.of("bench", "train"), List.of("bench", "generate"), List.of("eval"),
                List.of("fad", "a", "b"), List.of("app"), List.<String>of())) {
            assertEquals("", tunables(launcher, null, args.toArray(String[]::new)), "no huge pages for " + args);
        }
        // a caller's tunables are kept, and a caller's own huge-page choice wins
        assertEquals("glibc.malloc.arena_max=2:" + huge, tunables(launcher, "glibc.malloc.arena_max=2", "prepare"));
        assertEquals("glibc.malloc.arena_max=2", tunables(launcher, "glibc.malloc.arena_max=2", "train"));
        assertEquals("glibc.malloc.hugetlb=0", tunables(launcher, "glibc.malloc.hugetlb=0", "prepare"));
        assertEquals("glibc.malloc.hugetlb=1", tunables(launcher, "glibc.malloc.hugetlb=1", "train"));
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
