package ai.musicgenti.app;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The only way a request reaches a file: a relative path inside one of the named roots (data, models, runs).
 * Paths arrive already percent-decoded once; anything that still looks encoded, climbs ({@code ..}), is absolute,
 * or resolves (symlinks followed) outside its root is refused before the file system is asked about it.
 */
final class SafePaths {
    static final int MAX_LENGTH = 512;
    /** Segments of letters, digits, space and {@code . _ - + ( ) ,}; no percent, backslash, colon or control characters. */
    private static final Pattern SEGMENT = Pattern.compile("[\\p{L}\\p{N} ._+(),-]{1,255}");

    private final Map<String, Path> roots = new LinkedHashMap<>();

    SafePaths(Map<String, Path> roots) {
        roots.forEach((name, dir) -> this.roots.put(name, dir.toAbsolutePath().normalize()));
    }

    Path root(String name) {
        Path root = roots.get(name);
        if (root == null) throw HttpError.badRequest("root '" + name + "': use one of " + roots.keySet());
        return root;
    }

    Map<String, Path> roots() {
        return Map.copyOf(roots);
    }

    /**
     * {@code relative} inside root {@code rootName}, existing and, with symlinks followed, still inside it; 400 for a
     * malformed path (naming {@code field}), 404 when it does not exist or leads out.
     */
    Path existing(String rootName, String relative, String field) {
        Path p = resolve(rootName, relative, field);
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) throw HttpError.notFound(field + " '" + relative + "': not found in " + rootName);
        try {
            Path real = p.toRealPath();
            Path realRoot = root(rootName).toRealPath();
            if (!real.startsWith(realRoot)) throw HttpError.notFound(field + " '" + relative + "': not found in " + rootName);
            return real;
        } catch (IOException e) {
            throw HttpError.notFound(field + " '" + relative + "': not found in " + rootName);
        }
    }

    /** {@code relative} inside root {@code rootName}, checked in form only (for files a job will create). */
    Path resolve(String rootName, String relative, String field) {
        Path root = root(rootName);
        checkForm(relative, field);
        Path p = root.resolve(relative).normalize();
        if (!p.startsWith(root) || p.equals(root)) throw HttpError.badRequest(field + " '" + relative + "': must name something inside " + rootName);
        return p;
    }

    /** {@code p} as the path under root {@code rootName} the API names it by. */
    String relative(String rootName, Path p) {
        return root(rootName).relativize(p.toAbsolutePath().normalize()).toString().replace('\\', '/');
    }

    /** One name, no separators: a run, a dataset. */
    static String name(String value, String field) {
        if (value == null || value.isEmpty()) throw HttpError.badRequest(field + ": missing");
        if (!value.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,99}")) {
            throw HttpError.badRequest(field + " '" + shown(value) + "': use 1-100 of A-Z a-z 0-9 . _ - starting with a letter or digit");
        }
        return value;
    }

    private static void checkForm(String relative, String field) {
        if (relative == null || relative.isEmpty()) throw HttpError.badRequest(field + ": missing");
        if (relative.length() > MAX_LENGTH) throw HttpError.badRequest(field + ": longer than " + MAX_LENGTH + " characters");
        if (relative.startsWith("/") || relative.startsWith("~")) throw HttpError.badRequest(field + " '" + shown(relative) + "': must be relative");
        for (String segment : relative.split("/", -1)) {
            if (segment.equals("..") || segment.equals(".") || segment.isEmpty()) {
                throw HttpError.badRequest(field + " '" + shown(relative) + "': no empty, '.' or '..' segments");
            }
            if (!SEGMENT.matcher(segment).matches()) {
                throw HttpError.badRequest(field + " '" + shown(relative) + "': segment '" + shown(segment)
                        + "' may use letters, digits, space and . _ - + ( ) , only");
            }
        }
    }

    /** Echoed values are cut and stripped of control characters, so an error line stays one line. */
    static String shown(String value) {
        String s = value.replaceAll("\\p{Cntrl}", "?");
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
