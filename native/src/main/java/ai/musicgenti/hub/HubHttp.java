package ai.musicgenti.hub;

import ai.musicgenti.core.BadInputException;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** The hub's resolve endpoint: file metadata from HEAD, and streaming, resumable, verified downloads into blobs. */
final class HubHttp {
    /**
     * What the hub says about one file of one commit.
     *
     * @param etag git sha1 of a small file, sha256 of an LFS file: the blob's name in the cache
     */
    record FileMeta(String commit, String etag, long size) {
        boolean lfs() {
            return SHA256.matcher(etag).matches();
        }
    }

    /** The hub could not be asked at all (no connection, a timeout, a server error), so the cache may serve instead. */
    static final class Unreachable extends Exception {
        Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    /**
     * The JDK client has no read timeout for a body, so a connection that goes quiet mid-download would wait forever:
     * a watchdog closes the stream after this long without a byte, and the partial file is resumed on the next run.
     */
    private static final long STALL_NANOS = Long.getLong("musicgen.hub.stallSeconds", 60) * 1_000_000_000L;
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "hub-download-watchdog");
        t.setDaemon(true);
        return t;
    });
    private static final int MAX_REDIRECTS = 10;
    private static final int CHUNK = 1 << 20;
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-\\d+/(\\d+|\\*)");

    private final HubConfig config;
    private final URI endpoint;
    private final HttpClient client;
    private final String flag;

    /** @param flag the option through which the user named the model, for the hint to pass it a local folder */
    HubHttp(HubConfig config, String flag) {
        this.config = config;
        this.flag = flag;
        this.endpoint = URI.create(config.endpoint() + "/");
        // redirects are ours to follow: HEAD must stop at the CDN redirect, and the token must not follow it there
        this.client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).connectTimeout(TIMEOUT).build();
    }

    /** The file's metadata at a revision, or empty when the hub says the file does not exist there. */
    Optional<FileMeta> head(ModelId id, String revision, String file) throws Unreachable {
        URI uri = resolveUri(id, revision, file);
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest request = request(uri).method("HEAD", HttpRequest.BodyPublishers.noBody()).build();
            HttpResponse<Void> r = send(request, HttpResponse.BodyHandlers.discarding());
            Optional<String> location = r.headers().firstValue("Location");
            // a renamed repo answers with a relative redirect to its new name; an absolute one leads to the CDN,
            // and this response already carries the metadata
            if (isRedirect(r.statusCode()) && location.isPresent() && URI.create(location.get()).getHost() == null) {
                uri = uri.resolve(location.get());
                continue;
            }
            String code = r.headers().firstValue("X-Error-Code").orElse("");
            if (r.statusCode() == 404 && !code.equals("RepoNotFound") && !code.equals("RevisionNotFound")) {
                return Optional.empty();
            }
            checkHubStatus(r, id);
            String commit = r.headers().firstValue("X-Repo-Commit").orElse(null);
            String etag = r.headers().firstValue("X-Linked-Etag").or(() -> r.headers().firstValue("ETag")).map(HubHttp::normalizeEtag).orElse(null);
            long size = r.headers().firstValue("X-Linked-Size").or(() -> r.headers().firstValue("Content-Length"))
                    .map(HubHttp::parseSize).orElse(-1L);
            if (commit == null || !ModelId.COMMIT.matcher(commit).matches() || etag == null || etag.isEmpty() || size < 0) {
                throw new BadInputException(uri + ": the answer lacks X-Repo-Commit, ETag or the size; "
                        + "is HF_ENDPOINT (" + config.endpoint() + ") a Hugging Face hub, without a proxy that drops headers?");
            }
            return Optional.of(new FileMeta(commit, etag, size));
        }
        throw new BadInputException(resolveUri(id, revision, file) + ": more than " + MAX_REDIRECTS + " redirects; check HF_ENDPOINT");
    }

    /**
     * Downloads a file of a commit into its blob: continues {@code blobs/<etag>.incomplete} where an earlier run
     * stopped, checks the size and, for LFS files, the sha256, then renames it to {@code blobs/<etag>}.
     */
    void download(ModelId id, String commit, String file, FileMeta meta, HubCache cache, ProgressListener progress) {
        Path blob = cache.blob(meta.etag());
        try (FileChannel lock = cache.lock(meta.etag())) {
            if (Files.isRegularFile(blob)) return; // another process finished it while we waited for the lock
            Path part = cache.incomplete(meta.etag());
            Files.createDirectories(part.getParent());
            fetch(id, commit, file, meta, part, progress);
            try {
                Files.move(part, blob, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw HubCache.cannotWrite(blob, e);
            }
            progress.onDone(file);
        } catch (IOException e) {
            throw HubCache.cannotWrite(blob, e);
        }
    }

    private void fetch(ModelId id, String commit, String file, FileMeta meta, Path part, ProgressListener progress) {
        String what = file + " of " + id;
        long have = sizeOf(part);
        if (have > meta.size()) have = restart(part);
        MessageDigest sha = meta.lfs() ? sha256() : null;
        if (sha != null && have > 0) hashPrefix(part, sha);
        progress.onStart(file, meta.size(), have);
        if (have < meta.size()) {
            HttpResponse<InputStream> r = get(id, commit, file, have);
            if (have > 0 && !usable(r, have)) {
                // the server cannot continue our partial file: start over
                close(r);
                have = restart(part);
                if (sha != null) sha.reset();
                r = get(id, commit, file, 0);
            }
            have = stream(r, what, part, have, meta.size(), sha, progress, file);
        }
        if (have != meta.size()) {
            restart(part);
            throw new BadInputException(what + ": got " + have + " bytes where the hub announced " + meta.size()
                    + "; deleted the partial download, run again");
        }
        if (sha != null) {
            String got = HexFormat.of().formatHex(sha.digest());
            if (!got.equals(meta.etag())) {
                restart(part);
                throw new BadInputException(what + ": the download's sha256 " + got + " is not the hub's " + meta.etag()
                        + "; deleted it, run again (if it recurs, check HF_ENDPOINT and any proxy in between)");
            }
        }
    }

    /** Appends the body to the partial file; a 200 (the whole file) replaces it. Returns the file's new length. */
    private long stream(HttpResponse<InputStream> r, String what, Path part, long have, long size, MessageDigest sha,
                        ProgressListener progress, String file) {
        if (r.statusCode() == 200) {
            have = 0;
            if (sha != null) sha.reset();
        }
        byte[] buf = new byte[CHUNK];
        AtomicLong lastByte = new AtomicLong(System.nanoTime());
        AtomicBoolean stalled = new AtomicBoolean();
        InputStream in = r.body();
        long tick = Math.max(1, STALL_NANOS / 4);
        ScheduledFuture<?> watchdog = WATCHDOG.scheduleAtFixedRate(() -> {
            if (System.nanoTime() - lastByte.get() > STALL_NANOS && !stalled.getAndSet(true)) {
                try {
                    in.close();
                } catch (IOException ignored) {
                    // the reader sees the closed stream either way
                }
            }
        }, tick, tick, TimeUnit.NANOSECONDS);
        try (in; FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            out.truncate(have);
            out.position(have);
            while (true) {
                int n;
                try {
                    n = in.read(buf);
                } catch (IOException e) {
                    String why = stalled.get() ? "no data for " + STALL_NANOS / 1_000_000_000L + " s" : reason(e);
                    throw new BadInputException(what + ": the download from " + origin(r.uri()) + " broke off at "
                            + mb(have) + " of " + mb(size) + " (" + why + "); run again to resume it", e);
                }
                if (stalled.get()) {
                    throw new BadInputException(what + ": the download from " + origin(r.uri()) + " stalled at "
                            + mb(have) + " of " + mb(size) + " (no data for " + STALL_NANOS / 1_000_000_000L + " s); run again to resume it");
                }
                lastByte.set(System.nanoTime());
                if (n < 0) return have;
                if (have + n > size) return have + n; // more than announced: the size check rejects it
                ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
                while (b.hasRemaining()) out.write(b);
                if (sha != null) sha.update(buf, 0, n);
                have += n;
                progress.onProgress(file, have);
            }
        } catch (IOException e) {
            throw HubCache.cannotWrite(part, e);
        } finally {
            watchdog.cancel(false);
        }
    }

    /** GETs a file of a commit, following redirects (to the CDN, or to a renamed repo). */
    private HttpResponse<InputStream> get(ModelId id, String commit, String file, long from) {
        URI uri = resolveUri(id, commit, file);
        try {
            for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
                HttpRequest.Builder b = request(uri).GET();
                if (from > 0) b.header("Range", "bytes=" + from + "-");
                HttpResponse<InputStream> r = send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
                Optional<String> location = r.headers().firstValue("Location");
                if (isRedirect(r.statusCode()) && location.isPresent()) {
                    close(r);
                    uri = uri.resolve(location.get());
                    continue;
                }
                boolean rangeRefused = r.statusCode() == 416 && from > 0;
                if (r.statusCode() == 200 || r.statusCode() == 206 || rangeRefused) return r;
                close(r);
                if (sameOrigin(r.uri())) checkHubStatus(r, id);
                throw new BadInputException(file + " of " + id + ": " + origin(r.uri()) + " answered HTTP " + r.statusCode()
                        + " to the download; run again later");
            }
        } catch (Unreachable e) {
            throw new BadInputException(file + " of " + id + ": " + e.getMessage() + "; run again (a partial download "
                    + "resumes), or set HF_HUB_OFFLINE=1 or pass " + flag + " /path/to/a/local/folder", e);
        }
        throw new BadInputException(resolveUri(id, commit, file) + ": more than " + MAX_REDIRECTS + " redirects; check HF_ENDPOINT");
    }

    /** A 206 that continues at our offset, or a 200 with the whole file; not a 416 or a range elsewhere. */
    private static boolean usable(HttpResponse<?> r, long have) {
        if (r.statusCode() != 206) return r.statusCode() == 200;
        Matcher m = CONTENT_RANGE.matcher(r.headers().firstValue("Content-Range").orElse(""));
        return m.matches() && Long.parseLong(m.group(1)) == have;
    }

    /** Turns a hub error into a one-line user error, or {@link Unreachable} when the hub itself is in trouble. */
    private void checkHubStatus(HttpResponse<?> r, ModelId id) throws Unreachable {
        int s = r.statusCode();
        if (s < 400) return;
        String code = r.headers().firstValue("X-Error-Code").orElse("");
        String page = config.endpoint() + "/" + id.repo();
        boolean hasToken = config.token() != null;
        if (code.equals("GatedRepo") || s == 403) {
            throw new BadInputException(hasToken
                    ? id.repo() + " is gated and HF_TOKEN has no access to it: accept its terms at " + page
                    + " with the token's account, or set HF_TOKEN to a token of an account that has"
                    : id.repo() + " is gated: accept its terms at " + page + ", then set HF_TOKEN to an access token"
                    + " of that account (" + config.endpoint() + "/settings/tokens)");
        }
        if (s == 401 || code.equals("RepoNotFound")) {
            // a repo id that does not exist may well be a mistyped local folder
            throw new BadInputException(id.repo() + ": no such local folder, nor a model on " + config.endpoint() + (hasToken
                    ? " that HF_TOKEN can read; check the name (e.g. facebook/musicgen-small) and that the token is valid"
                    : "; check the name (e.g. facebook/musicgen-small), or if it is private set HF_TOKEN to an access token that can read it"));
        }
        if (code.equals("RevisionNotFound")) {
            throw new BadInputException(id.repo() + " has no revision '" + id.revision()
                    + "'; check the part after @ (a branch, tag or 40-hex commit)");
        }
        if (s == 429 || s >= 500) throw new Unreachable(origin(r.uri()) + " answered HTTP " + s, null);
        throw new BadInputException(r.uri() + ": the hub answered HTTP " + s + "; check HF_ENDPOINT (" + config.endpoint() + ")");
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(TIMEOUT)
                .header("User-Agent", "musicgen-ti")
                .header("Accept-Encoding", "identity"); // sizes and hashes are of the file itself
        // the token is for the hub: never hand it to the CDN a download is redirected to
        if (config.token() != null && sameOrigin(uri)) b.header("Authorization", "Bearer " + config.token());
        return b;
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> body) throws Unreachable {
        try {
            return client.send(request, body);
        } catch (IOException e) {
            throw new Unreachable(origin(request.uri()) + ": " + reason(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while talking to " + origin(request.uri()));
        }
    }

    private URI resolveUri(ModelId id, String revision, String file) {
        String path = Arrays.stream(file.split("/")).map(HubHttp::encode).collect(Collectors.joining("/"));
        return endpoint.resolve(id.repo() + "/resolve/" + encode(revision) + "/" + path);
    }

    private boolean sameOrigin(URI uri) {
        return origin(uri).equals(origin(endpoint));
    }

    private static String origin(URI uri) {
        return uri.getScheme() + "://" + uri.getAuthority();
    }

    private static boolean isRedirect(int status) {
        return status >= 300 && status < 400;
    }

    /** A quoted (and possibly weak) ETag becomes a plain name for the blob file. */
    static String normalizeEtag(String etag) {
        String e = etag.strip();
        if (e.startsWith("W/")) e = e.substring(2);
        return e.replace("\"", "");
    }

    private static long parseSize(String value) {
        try {
            return Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Revisions like refs/pr/1 travel as one path segment. */
    private static String encode(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String reason(IOException e) {
        if (e instanceof HttpTimeoutException) return "timed out";
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnresolvedAddressException) return "unknown host";
            if (t.getMessage() != null && !t.getMessage().isBlank()) return t.getMessage().toLowerCase(Locale.ROOT);
        }
        // the JDK client reports a refused connection without any message
        return e instanceof ConnectException ? "connection refused" : e.getClass().getSimpleName();
    }

    private static String mb(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    private static long sizeOf(Path file) {
        try {
            return Files.isRegularFile(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    /** Deletes a partial download; returns the length to continue from: 0. */
    private static long restart(Path part) {
        try {
            Files.deleteIfExists(part);
            return 0;
        } catch (IOException e) {
            throw HubCache.cannotWrite(part, e);
        }
    }

    private static void hashPrefix(Path part, MessageDigest sha) {
        byte[] buf = new byte[CHUNK];
        try (InputStream in = Files.newInputStream(part)) {
            for (int n; (n = in.read(buf)) > 0; ) sha.update(buf, 0, n);
        } catch (IOException e) {
            throw new BadInputException(part + ": cannot read the partial download (" + e.getMessage() + "); delete it and run again", e);
        }
    }

    private static void close(HttpResponse<InputStream> r) {
        try {
            r.body().close();
        } catch (IOException e) {
            // only frees the connection; nothing was read from it
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
