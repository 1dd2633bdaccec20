package ai.musicgenti.core;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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

    /** Outputs are shared like any other file the user makes, not private as temporary files are. */
    @Test
    void writtenFilesGetThePermissionsOfPlainFileCreation(@TempDir Path dir) throws IOException {
        Assumptions.assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"));
        Path plain = Files.createFile(dir.resolve("plain"));
        Assumptions.assumeFalse(Files.getPosixFilePermissions(plain).equals(PosixFilePermissions.fromString("rw-------")),
                "the umask itself makes new files private");
        Path written = dir.resolve("written.wav");
        AtomicFiles.writeBytes(written, new byte[]{1});
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(written));
        AtomicFiles.writeBytes(written, new byte[]{2});
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(written), "after replacing it too");
    }
}
