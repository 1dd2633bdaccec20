package ai.musicgenti.hub;

import java.nio.file.Path;
import java.util.List;

/**
 * A model in the hub cache.
 *
 * @param repo     the repo id, e.g. {@code facebook/musicgen-small}
 * @param revision what was asked for: a branch, tag or commit
 * @param commit   the commit it resolved to
 * @param snapshot the model folder, {@code models--org--name/snapshots/<commit>}
 * @param files    the files in that folder, relative to it, sorted
 */
public record CachedModel(String repo, String revision, String commit, Path snapshot, List<String> files) {
}
