package ai.musicgenti.core;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AtomicFilesTest {
    @Test
    void replacesWholeAndCleansWhatAKilledWriterLeft(@TempDir Path dir) throws IOException {
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        AtomicFiles.writeBytes(a, new byte[]{1, 2});
        AtomicFiles.writeBytes(a, new byte[]{3});
        assertArrayEquals(new byte[]{3}, Files.readAllBytes(a));

        // what a process killed between creating and renaming its temporary files leaves
        Path aPart = Files.writeString(dir.resolve(".a.safetensors.123.part"), "half");
        Path bPart = Files.writeString(dir.resolve(".b.safetensors.456.part"), "half");
        Path nested = Files.writeString(Files.createDirectories(dir.resolve("x")).resolve(".c.json.7.part"), "half");

        AtomicFiles.deleteLeftoversOf(a);
        assertFalse(Files.exists(aPart));
        assertTrue(Files.exists(bPart), "another target's temporary file is not ours to delete");
        AtomicFiles.deleteLeftovers(dir);
        assertFalse(Files.exists(bPart) || Files.exists(nested));
        assertArrayEquals(new byte[]{3}, Files.readAllBytes(a));
        assertFalse(Files.exists(b));
    }
}
