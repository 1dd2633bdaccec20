package ai.musicgenti.core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Where musicgen-ti keeps what it can always make again (audio embeddings, checkpoints converted to safetensors):
 * {@code $MUSICGEN_TI_CACHE}, else {@code ~/.cache/musicgen-ti}. Entries are named by the SHA-256 of what they were
 * made from, so a changed input never meets a stale entry.
 */
public final class Caches {
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private Caches() {
    }

    public static Path root() {
        String env = System.getenv("MUSICGEN_TI_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "musicgen-ti");
    }

    /** The SHA-256 of a file's contents in hex. */
    public static String sha256(Path file) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The SHA-256 of some bytes in hex. */
    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /**
     * As {@link #sha256(Path)}, but a Hugging Face cache file that links to {@code blobs/<sha256>} is named by its hash
     * already (LFS blobs are checked against it at download), so a checkpoint of gigabytes need not be read again.
     */
    public static String contentSha256(Path file) throws IOException {
        Path real = file.toRealPath();
        String name = real.getFileName().toString();
        boolean blob = real.getParent() != null && real.getParent().getFileName().toString().equals("blobs");
        return blob && SHA256.matcher(name).matches() ? name : sha256(real);
    }
}
