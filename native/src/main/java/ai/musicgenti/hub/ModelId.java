package ai.musicgenti.hub;

import java.util.Optional;
import java.util.regex.Pattern;

/** A hub model: {@code org/name}, optionally {@code @revision} (a branch, tag or 40-hex commit; default main). */
record ModelId(String repo, String revision) {
    /** The hub's rules for names; a string with "..", "--" or a leading "." or "/" is a path, not a repo. */
    private static final Pattern REPO = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}");
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*");
    static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    static Optional<ModelId> parse(String arg) {
        int at = arg.indexOf('@');
        String repo = at < 0 ? arg : arg.substring(0, at);
        String revision = at < 0 ? "main" : arg.substring(at + 1);
        boolean valid = REPO.matcher(repo).matches() && !repo.contains("--") && !repo.contains("..")
                && REVISION.matcher(revision).matches() && !revision.contains("..");
        return valid ? Optional.of(new ModelId(repo, revision)) : Optional.empty();
    }

    /** A commit never moves, so its cached files need no check with the hub. */
    boolean pinned() {
        return COMMIT.matcher(revision).matches();
    }

    /** huggingface_hub's folder name for a model repo in the cache. */
    String folderName() {
        return "models--" + repo.replace("/", "--");
    }

    @Override
    public String toString() {
        return revision.equals("main") ? repo : repo + "@" + revision;
    }
}
