package ai.musicgenti.hub;

import ai.musicgenti.core.AtomicFiles;
import ai.musicgenti.core.BadInputException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * One repo's folder in the huggingface_hub cache layout, so that Python and we reuse each other's downloads:
 * <pre>
 * models--org--name/
 *   blobs/&lt;etag&gt;                      file contents, named by git sha1 (small files) or sha256 (LFS files)
 *   blobs/&lt;etag&gt;.incomplete           a download in progress, resumed where it stopped
 *   refs/&lt;revision&gt;                  the commit a branch or tag pointed to when last asked
 *   snapshots/&lt;commit&gt;/&lt;file&gt;       relative symlinks to ../../blobs/&lt;etag&gt;
 *   .no_exist/&lt;commit&gt;/&lt;file&gt;       empty: the hub said this optional file does not exist
 * .locks/models--org--name/&lt;etag&gt;.lock  held while a blob downloads
 * </pre>
 */
final class HubCache {
    private final Path cacheDir;
    private final Path repoDir;
    private final Path lockDir;

    HubCache(Path cacheDir, ModelId id) {
        this.cacheDir = cacheDir;
        this.repoDir = cacheDir.resolve(id.folderName());
        this.lockDir = cacheDir.resolve(".locks").resolve(id.folderName());
    }

    Path cacheDir() {
        return cacheDir;
    }

    Path repoDir() {
        return repoDir;
    }

    Path snapshot(String commit) {
        return repoDir.resolve("snapshots").resolve(commit);
    }

    Path blob(String etag) {
        return repoDir.resolve("blobs").resolve(etag);
    }

    Path incomplete(String etag) {
        return repoDir.resolve("blobs").resolve(etag + ".incomplete");
    }

    /** The commit a revision stands for: itself when it is one, else what refs/ recorded. */
    Optional<String> commitFor(ModelId id) {
        return id.pinned() ? Optional.of(id.revision()) : readRef(id.revision());
    }

    private Optional<String> readRef(String revision) {
        Path ref = repoDir.resolve("refs").resolve(revision);
        try {
            return Files.isRegularFile(ref)
                    ? Optional.of(Files.readString(ref, StandardCharsets.UTF_8).strip()).filter(c -> ModelId.COMMIT.matcher(c).matches())
                    : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    void writeRef(String revision, String commit) {
        Path ref = repoDir.resolve("refs").resolve(revision);
        try {
            if (readRef(revision).filter(commit::equals).isPresent()) return;
            AtomicFiles.writeBytes(ref, commit.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw cannotWrite(ref, e);
        }
    }

    /** True when the snapshot holds the file (a symlink must also reach its blob). */
    boolean has(String commit, String file) {
        return Files.isRegularFile(snapshot(commit).resolve(file));
    }

    boolean knownMissing(String commit, String file) {
        return Files.exists(repoDir.resolve(".no_exist").resolve(commit).resolve(file));
    }

    void markMissing(String commit, String file) {
        Path marker = repoDir.resolve(".no_exist").resolve(commit).resolve(file);
        try {
            Files.createDirectories(marker.getParent());
            Files.createFile(marker);
        } catch (FileAlreadyExistsException e) {
            // another process remembered it first
        } catch (IOException e) {
            throw cannotWrite(marker, e);
        }
    }

    /** Points the snapshot's file at its blob with a relative symlink, or a copy where symlinks are not allowed. */
    void link(String commit, String file, Path blob) {
        Path target = snapshot(commit).resolve(file);
        try {
            Files.createDirectories(target.getParent());
            Files.deleteIfExists(target);
            try {
                Files.createSymbolicLink(target, target.getParent().relativize(blob));
            } catch (UnsupportedOperationException | FileSystemException e) {
                Files.copy(blob, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw cannotWrite(target, e);
        }
    }

    /** Every file of a snapshot, relative to it, sorted. */
    List<String> files(String commit) {
        Path dir = snapshot(commit);
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString().replace('\\', '/')).sorted().toList();
        } catch (IOException e) {
            throw new BadInputException(dir + ": cannot list the folder (" + e.getMessage() + "); check its permissions");
        }
    }

    /**
     * Locks the blob's lock file (waiting for another process to finish) so that two of our processes never write
     * one .incomplete file; closing the returned channel unlocks. Python's filelock uses flock, which Linux keeps
     * apart from these fcntl locks.
     */
    FileChannel lock(String etag) {
        Path file = lockDir.resolve(etag + ".lock");
        try {
            Files.createDirectories(lockDir);
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                ch.lock();
                return ch;
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        } catch (IOException e) {
            throw cannotWrite(file, e);
        }
    }

    static BadInputException cannotWrite(Path file, IOException e) {
        String reason = e instanceof AccessDeniedException ? "permission denied"
                : e instanceof NoSuchFileException ? "its folder is missing"
                : e instanceof FileAlreadyExistsException ? "a file is in the way"
                : e instanceof FileSystemException fs && fs.getReason() != null ? fs.getReason()
                : String.valueOf(e.getMessage());
        Path where = e instanceof FileSystemException fs && fs.getFile() != null ? Path.of(fs.getFile()) : file;
        return new BadInputException(where + ": cannot write (" + reason + "); free some space or fix the permissions, "
                + "or set HF_HUB_CACHE to another folder", e);
    }
}
