package ai.musicgenti.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where the Hugging Face hub is and where its files go, read from the same environment variables as Python's
 * huggingface_hub so that both share one cache.
 *
 * @param cacheDir the hub cache: {@code $HF_HUB_CACHE}, else {@code $HF_HOME/hub}, else {@code ~/.cache/huggingface/hub}
 * @param endpoint the hub's base URL without a trailing slash: {@code $HF_ENDPOINT}, else {@code https://huggingface.co}
 * @param token    the access token sent as a bearer token, or null: {@code $HF_TOKEN}, else the file that
 *                 {@code huggingface-cli login} writes ({@code $HF_TOKEN_PATH}, else {@code $HF_HOME/token})
 * @param offline  {@code $HF_HUB_OFFLINE} (or {@code $TRANSFORMERS_OFFLINE}) is 1, true, yes or on: use the cache only
 */
public record HubConfig(Path cacheDir, String endpoint, String token, boolean offline) {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    private static final Set<String> TRUE = Set.of("1", "true", "yes", "on");

    public HubConfig {
        endpoint = endpoint.replaceAll("/+$", "");
    }

    public static HubConfig fromEnvironment() {
        return fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    public static HubConfig fromEnvironment(Map<String, String> env, Path home) {
        Path hfHome = path(env, "HF_HOME", home)
                .orElseGet(() -> path(env, "XDG_CACHE_HOME", home).orElse(home.resolve(".cache")).resolve("huggingface"));
        Path cache = path(env, "HF_HUB_CACHE", home).or(() -> path(env, "HUGGINGFACE_HUB_CACHE", home))
                .orElse(hfHome.resolve("hub"));
        String endpoint = value(env, "HF_ENDPOINT").orElse(DEFAULT_ENDPOINT);
        String token = value(env, "HF_TOKEN")
                .or(() -> readToken(path(env, "HF_TOKEN_PATH", home).orElse(hfHome.resolve("token"))))
                .orElse(null);
        boolean offline = isTrue(env, "HF_HUB_OFFLINE") || isTrue(env, "TRANSFORMERS_OFFLINE");
        return new HubConfig(cache, endpoint, token, offline);
    }

    public HubConfig withOffline(boolean offline) {
        return new HubConfig(cacheDir, endpoint, token, offline);
    }

    /** Keeps the token out of logs and error reports. */
    @Override
    public String toString() {
        return "HubConfig[cacheDir=" + cacheDir + ", endpoint=" + endpoint + ", token=" + (token == null ? "none" : "set")
                + ", offline=" + offline + "]";
    }

    private static Optional<String> value(Map<String, String> env, String key) {
        return Optional.ofNullable(env.get(key)).map(String::strip).filter(v -> !v.isEmpty());
    }

    /** Python expands a leading ~ in these variables; shells do not when the value is quoted. */
    private static Optional<Path> path(Map<String, String> env, String key, Path home) {
        return value(env, key).map(v -> v.equals("~") ? home : v.startsWith("~/") ? home.resolve(v.substring(2)) : Path.of(v));
    }

    private static boolean isTrue(Map<String, String> env, String key) {
        return value(env, key).map(v -> TRUE.contains(v.toLowerCase(Locale.ROOT))).orElse(false);
    }

    private static Optional<String> readToken(Path file) {
        try {
            return Files.isRegularFile(file)
                    ? Optional.of(Files.readString(file, StandardCharsets.UTF_8).strip()).filter(t -> !t.isEmpty())
                    : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
