package ai.musicgenti.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A loopback stand-in for the hub's resolve endpoint that serves the golden MusicGen folder as
 * {@value #REPO}. Like huggingface.co it answers small files directly with a quoted git-sha1 ETag, and
 * {@code .safetensors} and {@code .bin} (LFS) files with a 302 to a CDN path plus {@code X-Linked-Etag} (the sha256) and
 * {@code X-Linked-Size}; it honours {@code Range}, and reports errors with {@code X-Error-Code}.
 */
public final class FakeHub implements AutoCloseable {
    public static final String REPO = "facebook/musicgen-tiny";
    static final String COMMIT = "5b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c";
    private static final Pattern RESOLVE = Pattern.compile("/([^/]+/[^/]+)/resolve/([^/]+)/(.+)");
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    public record Request(String method, String path, String range, String authorization) {
    }

    public final List<Request> requests = new CopyOnWriteArrayList<>();
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();
    private final Set<String> corrupted = ConcurrentHashMap.newKeySet();
    private final Set<String> oldNames = ConcurrentHashMap.newKeySet();
    private final HttpServer server;
    private final String repo;
    private volatile String requiredToken;
    private volatile boolean ignoreRange;
    private volatile long stallMillis;

    FakeHub() throws IOException {
        this(golden());
    }

    /** Serves a golden MusicGen case folder as {@link #REPO}. */
    public FakeHub(Path golden) throws IOException {
        this(golden, REPO);
    }

    /** Serves every file of a golden case folder as {@code repo} (its weights.safetensors as model.safetensors). */
    public FakeHub(Path folder, String repo) throws IOException {
        this.repo = repo;
        try (var list = Files.list(folder)) {
            for (Path f : list.filter(Files::isRegularFile).toList()) {
                String name = f.getFileName().toString();
                files.put(name.equals("weights.safetensors") ? "model.safetensors" : name, Files.readAllBytes(f));
            }
        }
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    /** Maven points musicgen.golden.default at the golden folder; tests run in the module folder. */
    static Path golden() {
        return Path.of(System.getProperty("musicgen.golden.default", "../../shared/golden")).resolve("musicgen");
    }

    public String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    byte[] file(String name) {
        return files.get(name);
    }

    void put(String name, byte[] bytes) {
        files.put(name, bytes);
    }

    void remove(String name) {
        files.remove(name);
    }

    /** Makes the repo gated: only requests with this bearer token get through. */
    void gate(String token) {
        requiredToken = token;
    }

    /** Serves this file with one byte flipped (the metadata still describes the real file). */
    void corrupt(String name) {
        corrupted.add(name);
    }

    /** Sends the first half of each weights body, then goes quiet for this long before the rest (a stalled connection). */
    void stall(long millis) {
        stallMillis = millis;
    }

    /** Answers Range requests with the whole file, as some servers and proxies do. */
    void ignoreRange() {
        ignoreRange = true;
    }

    /** Serves the repo under a former name too, with the hub's relative redirect to the current one. */
    void renamedFrom(String oldRepo) {
        oldNames.add(oldRepo);
    }

    public List<Request> requests(String method) {
        return requests.stream().filter(r -> r.method().equals(method)).toList();
    }

    static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest("SHA-256", bytes));
    }

    /** The object id git gives a file: what the hub sends as the ETag of a small file. */
    static String gitSha1(byte[] bytes) {
        byte[] header = ("blob " + bytes.length + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] all = Arrays.copyOf(header, header.length + bytes.length);
        System.arraycopy(bytes, 0, all, header.length, bytes.length);
        return HexFormat.of().formatHex(digest("SHA-1", all));
    }

    @Override
    public void close() {
        server.stop(0);
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getRawPath();
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        requests.add(new Request(ex.getRequestMethod(), path, ex.getRequestHeaders().getFirst("Range"), auth));
        try (ex) {
            if (path.startsWith("/cdn/")) {
                String name = lfsName(path.substring("/cdn/".length()));
                if (name == null) error(ex, 404, "EntryNotFound");
                else serve(ex, name);
                return;
            }
            Matcher m = RESOLVE.matcher(path);
            if (!m.matches()) {
                error(ex, 404, "RepoNotFound");
                return;
            }
            String asked = m.group(1);
            String revision = URLDecoder.decode(m.group(2), StandardCharsets.UTF_8);
            String file = URLDecoder.decode(m.group(3), StandardCharsets.UTF_8);
            if (oldNames.contains(asked)) {
                ex.getResponseHeaders().set("Location", "/" + repo + "/resolve/" + m.group(2) + "/" + m.group(3));
                ex.sendResponseHeaders(307, -1);
            } else if (!asked.equals(repo)) {
                error(ex, 401, "RepoNotFound"); // the hub hides whether a repo exists from anonymous users
            } else if (requiredToken != null && !("Bearer " + requiredToken).equals(auth)) {
                error(ex, 401, "GatedRepo");
            } else if (!revision.equals("main") && !revision.equals(COMMIT)) {
                error(ex, 404, "RevisionNotFound");
            } else {
                ex.getResponseHeaders().set("X-Repo-Commit", COMMIT);
                byte[] body = files.get(file);
                if (body == null) {
                    error(ex, 404, "EntryNotFound");
                } else if (lfs(file)) {
                    String sha = sha256(body);
                    String pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + sha + "\nsize " + body.length + "\n";
                    ex.getResponseHeaders().set("ETag", "\"" + gitSha1(pointer.getBytes(StandardCharsets.UTF_8)) + "\"");
                    ex.getResponseHeaders().set("X-Linked-Etag", "\"" + sha + "\"");
                    ex.getResponseHeaders().set("X-Linked-Size", Long.toString(body.length));
                    ex.getResponseHeaders().set("Location", endpoint() + "/cdn/" + sha);
                    ex.sendResponseHeaders(302, -1);
                } else {
                    serve(ex, file);
                }
            }
        }
    }

    private void serve(HttpExchange ex, String name) throws IOException {
        byte[] real = files.get(name);
        byte[] body = real.clone();
        if (corrupted.contains(name)) body[body.length / 2] ^= 1;
        ex.getResponseHeaders().set("ETag", "\"" + (lfs(name) ? sha256(real) : gitSha1(real)) + "\"");
        ex.getResponseHeaders().set("Accept-Ranges", "bytes");
        int status = 200;
        int from = 0;
        Matcher range = RANGE.matcher(String.valueOf(ex.getRequestHeaders().getFirst("Range")));
        if (range.matches() && !ignoreRange) {
            from = Integer.parseInt(range.group(1));
            if (from >= body.length) {
                ex.getResponseHeaders().set("Content-Range", "bytes */" + body.length);
                ex.sendResponseHeaders(416, -1);
                return;
            }
            status = 206;
            ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (body.length - 1) + "/" + body.length);
        }
        int length = body.length - from;
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().set("Content-Length", Integer.toString(length));
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, length);
        try (OutputStream out = ex.getResponseBody()) {
            if (stallMillis > 0 && lfs(name) && length > 1) {
                out.write(body, from, length / 2);
                out.flush();
                try {
                    Thread.sleep(stallMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                out.write(body, from + length / 2, length - length / 2);
            } else {
                out.write(body, from, length);
            }
        }
    }

    /** The hub keeps weights in LFS, as these extensions are in a new repo's .gitattributes. */
    private static boolean lfs(String name) {
        return name.endsWith(".safetensors") || name.endsWith(".bin");
    }

    private String lfsName(String sha) {
        return new ArrayList<>(files.keySet()).stream().filter(n -> sha256(files.get(n)).equals(sha)).findFirst().orElse(null);
    }

    private static void error(HttpExchange ex, int status, String code) throws IOException {
        ex.getResponseHeaders().set("X-Error-Code", code);
        ex.getResponseHeaders().set("X-Error-Message", code);
        ex.sendResponseHeaders(status, -1);
    }

    private static byte[] digest(String algorithm, byte[] bytes) {
        try {
            return MessageDigest.getInstance(algorithm).digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
