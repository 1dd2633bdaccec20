package ai.musicgenti.app;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.pipeline.ModelChoice;
import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The web app: the page, its JSON API and the live event stream, on the JDK's own HTTP server. It binds to the
 * loopback address unless told otherwise, and then only with a token; it serves files only from inside the data,
 * models and runs folders.
 */
public final class AppServer implements AutoCloseable {
    public static final String COOKIE = "musicgen_ti_token";
    /** SSE clients at once; each holds a server thread. */
    static final int MAX_CLIENTS = 16;
    static final long HEARTBEAT_MILLIS = 15_000;
    private static final Set<String> STATIC = Set.of("index.html", "app.css", "app.js", "charts.js");

    /**
     * Where the app reads and writes, where it listens, the model and device its jobs run on, and the CLAP checkpoint
     * for evaluations during training (null: the default).
     */
    public record Settings(Path data, Path models, Path runs, String host, int port, String token, ModelChoice model, String clap) {
        public Settings {
            Objects.requireNonNull(data);
            Objects.requireNonNull(models);
            Objects.requireNonNull(runs);
            if (port < 0 || port > 65535) throw new BadInputException("--port " + port + ": must be 0 to 65535");
            if (token != null && token.length() < 16) throw new BadInputException("--token: use at least 16 characters");
            if (token != null && !token.matches("[A-Za-z0-9._~-]+")) throw new BadInputException("--token: use letters, digits and . _ ~ - only");
        }

        public static Builder builder() {
            return new Builder();
        }

        public static final class Builder {
            private Path data = Path.of("data"), models = Path.of("models"), runs = Path.of("runs");
            private String host = "127.0.0.1", token, clap;
            private int port = 7860;
            private ModelChoice model = ModelChoice.defaults();

            public Builder data(Path v) { data = v; return this; }
            public Builder models(Path v) { models = v; return this; }
            public Builder runs(Path v) { runs = v; return this; }
            public Builder host(String v) { host = v; return this; }
            public Builder port(int v) { port = v; return this; }
            public Builder token(String v) { token = v; return this; }
            public Builder model(ModelChoice v) { model = v; return this; }
            public Builder clap(String v) { clap = v; return this; }

            public Settings build() {
                return new Settings(data, models, runs, host, port, token, model, clap);
            }
        }
    }

    private final Settings settings;
    private final HttpServer server;
    private final ExecutorService threads;
    private final EventBus bus = new EventBus(MAX_CLIENTS);
    private final RunManager manager = new RunManager(bus);
    private final SafePaths paths;
    private final Api api;
    private final boolean loopback;
    private volatile boolean closing;

    private AppServer(Settings settings, HttpServer server, boolean loopback) {
        this.settings = settings;
        this.server = server;
        this.loopback = loopback;
        this.paths = new SafePaths(Map.of("data", settings.data(), "models", settings.models(), "runs", settings.runs()));
        this.api = new Api(paths, manager, new PipelineJobs(settings.model(), paths), bus, settings.clap());
        this.threads = Executors.newFixedThreadPool(MAX_CLIENTS + 16, r -> {
            Thread t = new Thread(r, "musicgen-ti-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(threads);
        server.createContext("/", this::handle);
    }

    /** Creates the folders, binds and starts serving; refuses a non-loopback address without a token. */
    public static AppServer start(Settings settings) throws IOException {
        InetAddress address;
        try {
            address = InetAddress.getByName(settings.host());
        } catch (IOException e) {
            throw new BadInputException("--host " + settings.host() + ": not an address this machine has (" + e.getMessage() + ")");
        }
        boolean loopback = address.isLoopbackAddress();
        if (!loopback && settings.token() == null) {
            throw new BadInputException("--host " + settings.host() + ": serving beyond this machine needs --token SECRET (16+ characters), "
                    + "which every request must then carry");
        }
        for (Path dir : List.of(settings.data(), settings.models(), settings.runs())) Files.createDirectories(dir);
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(address, settings.port()), 64);
        } catch (java.net.BindException e) {
            throw new BadInputException("--port " + settings.port() + ": already in use on " + settings.host() + "; choose another --port");
        }
        AppServer app = new AppServer(settings, server, loopback);
        server.start();
        return app;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** The address to open, with the token for the first visit when there is one. */
    public String url() {
        String host = settings.host().equals("0.0.0.0") ? "127.0.0.1" : settings.host();
        if (host.contains(":")) host = "[" + host + "]";
        return "http://" + host + ":" + port() + "/" + (settings.token() != null ? "?token=" + settings.token() : "");
    }

    /** Stops running jobs (a training run saves its state first), then the server. */
    @Override
    public void close() {
        closing = true;
        manager.close();
        server.stop(0);
        threads.shutdownNow();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            try {
                route(ex);
            } catch (HttpError e) {
                Http.json(ex, e.status(), Map.of("error", e.getMessage()));
            } catch (BadInputException e) {
                Http.json(ex, 400, Map.of("error", e.getMessage()));
            } catch (IOException e) {
                // the client went away mid-response
            } catch (RuntimeException e) {
                Http.json(ex, 500, Map.of("error", "internal error: " + e));
            }
        } catch (IOException | RuntimeException ignored) {
            // the response could not be written: the client is gone
        }
    }

    private void route(HttpExchange ex) throws IOException {
        checkHost(ex);
        String method = ex.getRequestMethod();
        List<String> s = Http.segments(ex.getRequestURI().getRawPath());
        Map<String, String> query = Http.query(ex.getRequestURI().getRawQuery());
        if (s.isEmpty() && method.equals("GET") && settings.token() != null && query.containsKey("token")) {
            loginWithToken(ex, query.get("token"));
            return;
        }
        authorize(ex);
        if (!method.equals("GET") && !method.equals("HEAD")) checkOrigin(ex);
        String m = method.equals("HEAD") ? "GET" : method;
        if (s.isEmpty() || (s.size() == 1 && s.get(0).equals("index.html"))) {
            if (!m.equals("GET")) throw new HttpError(405, "method " + method + ": use GET");
            staticFile(ex, "index.html");
            return;
        }
        if (s.get(0).equals("static") && s.size() == 2) {
            if (!m.equals("GET")) throw new HttpError(405, "method " + method + ": use GET");
            staticFile(ex, s.get(1));
            return;
        }
        if (!s.get(0).equals("api") || s.size() < 2) throw HttpError.notFound("path: no such page");
        String key = m + " " + s.get(1);
        switch (key) {
            case "GET status" -> only(ex, s, 2, api::status);
            case "GET datasets" -> only(ex, s, 2, api::datasets);
            case "GET concepts-files" -> only(ex, s, 2, api::conceptsFiles);
            case "GET jobs" -> {
                if (s.size() == 2) Http.json(ex, 200, api.status());
                else if (s.size() == 3) Http.json(ex, 200, api.job(s.get(2)));
                else throw HttpError.notFound("path: no such endpoint");
            }
            case "POST jobs" -> {
                if (s.size() != 4 || !s.get(3).equals("cancel")) throw HttpError.notFound("path: use POST /api/jobs/<id>/cancel");
                Http.json(ex, 200, api.cancel(s.get(2)));
            }
            case "GET runs" -> {
                if (s.size() == 2) Http.json(ex, 200, api.runs());
                else if (s.size() == 3) Http.json(ex, 200, api.run(s.get(2)));
                else throw HttpError.notFound("path: no such endpoint");
            }
            case "GET sweeps" -> {
                if (s.size() == 2) Http.json(ex, 200, api.sweeps());
                else if (s.size() == 3) Http.json(ex, 200, api.sweep(s.get(2)));
                else if (s.size() == 5 && s.get(3).equals("runs")) Http.json(ex, 200, api.sweepRun(s.get(2), s.get(4)));
                else throw HttpError.notFound("path: use GET /api/sweeps, /api/sweeps/<id> or /api/sweeps/<id>/runs/<trial>");
            }
            case "POST runs" -> {
                if (s.size() != 4) throw HttpError.notFound("path: use POST /api/runs/<run>/stop or /resume");
                switch (s.get(3)) {
                    case "stop" -> Http.json(ex, 202, api.stop(s.get(2)));
                    case "resume" -> Http.json(ex, 202, api.resume(s.get(2), new Fields(Http.jsonBody(ex), Set.of("epochs", "extend"))));
                    default -> throw HttpError.notFound("path: use POST /api/runs/<run>/stop or /resume");
                }
            }
            case "POST prepare" -> {
                JsonNode body = Http.jsonBody(ex);
                Http.json(ex, 202, api.prepare(new Fields(body, Set.of("clips", "dataset", "fragment_seconds", "val_fraction", "seed"))));
            }
            case "POST model" -> {
                if (s.size() != 2) throw HttpError.notFound("path: use POST /api/model");
                Http.json(ex, 200, api.model(new Fields(Http.jsonBody(ex), Api.MODEL_FIELDS)));
            }
            case "POST train" -> Http.json(ex, 202, api.train(new Fields(Http.jsonBody(ex), Api.TRAIN_FIELDS)));
            case "POST generate" -> Http.json(ex, 202, api.generate(new Fields(Http.jsonBody(ex), Api.GENERATE_FIELDS)));
            case "GET files" -> api.file(ex, s.subList(2, s.size()));
            case "GET events" -> events(ex);
            default -> {
                if (key.startsWith("GET ") || key.startsWith("POST ")) throw HttpError.notFound("path: no such endpoint /api/" + s.get(1));
                throw new HttpError(405, "method " + method + ": use GET or POST");
            }
        }
    }

    private interface Endpoint {
        Object call() throws IOException;
    }

    private static void only(HttpExchange ex, List<String> s, int size, Endpoint e) throws IOException {
        if (s.size() != size) throw HttpError.notFound("path: no such endpoint");
        Http.json(ex, 200, e.call());
    }

    /**
     * On the loopback address a page of another site could still reach us through a DNS name that resolves to
     * 127.0.0.1 (DNS rebinding); its requests carry that name as Host, ours carry an address or localhost.
     */
    private void checkHost(HttpExchange ex) {
        if (!loopback) return;
        String host = ex.getRequestHeaders().getFirst("Host");
        if (host == null) return;
        String h = host.toLowerCase(Locale.ROOT).replaceAll(":[0-9]+$", "");
        if (!h.equals("127.0.0.1") && !h.equals("localhost") && !h.equals("[::1]")) throw new HttpError(403, "Host '" + SafePaths.shown(host) + "': use 127.0.0.1");
    }

    /** A page of another site may post to us (a form, a fetch without CORS): refuse requests whose Origin is not ours. */
    private static void checkOrigin(HttpExchange ex) {
        String origin = ex.getRequestHeaders().getFirst("Origin");
        String host = ex.getRequestHeaders().getFirst("Host");
        if (origin != null && !origin.equals("http://" + host)) throw new HttpError(403, "Origin '" + SafePaths.shown(origin) + "': cross-site requests are refused");
    }

    private void authorize(HttpExchange ex) {
        if (settings.token() == null) return;
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (auth != null && auth.startsWith("Bearer ") && same(auth.substring(7).strip())) return;
        List<String> cookies = ex.getRequestHeaders().get("Cookie");
        if (cookies != null) {
            for (String header : cookies) {
                for (String c : header.split(";")) {
                    String t = c.strip();
                    if (t.startsWith(COOKIE + "=") && same(t.substring(COOKIE.length() + 1))) return;
                }
            }
        }
        ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
        throw new HttpError(401, "token: missing or wrong; send Authorization: Bearer <token>, or open the address the app printed");
    }

    private boolean same(String given) {
        return MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), settings.token().getBytes(StandardCharsets.UTF_8));
    }

    /** The printed address carries the token once; the browser keeps it as an HttpOnly cookie and the address bar loses it. */
    private void loginWithToken(HttpExchange ex, String token) throws IOException {
        if (!same(token)) throw new HttpError(401, "token: wrong");
        ex.getResponseHeaders().add("Set-Cookie", COOKIE + "=" + token + "; Path=/; HttpOnly; SameSite=Strict");
        ex.getResponseHeaders().set("Location", "/");
        ex.sendResponseHeaders(303, -1);
    }

    private static void staticFile(HttpExchange ex, String name) throws IOException {
        if (!STATIC.contains(name)) throw HttpError.notFound("static '" + SafePaths.shown(name) + "': no such asset");
        try (InputStream in = AppServer.class.getResourceAsStream("static/" + name)) {
            if (in == null) throw new IllegalStateException("the launcher lacks its page asset " + name);
            String type = name.endsWith(".html") ? "text/html; charset=utf-8" : name.endsWith(".css") ? "text/css; charset=utf-8"
                    : "text/javascript; charset=utf-8";
            ex.getResponseHeaders().set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: data:; style-src 'self' 'unsafe-inline'");
            Http.send(ex, 200, type, in.readAllBytes());
        }
    }

    /** Server-sent events: every bus event as it happens, a comment line as heartbeat when nothing happened. */
    private void events(HttpExchange ex) throws IOException {
        EventBus.Subscription sub = bus.subscribe();
        if (sub == null) throw new HttpError(503, "events: " + MAX_CLIENTS + " clients are connected already");
        try (sub) {
            ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            ex.getResponseHeaders().set("Cache-Control", "no-store");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            write(out, "retry: 2000\n\n");
            write(out, frame(0, "hello", Map.of("jobs", manager.list())));
            while (!closing) {
                EventBus.Event e = sub.next(HEARTBEAT_MILLIS);
                long dropped = sub.takeDropped();
                if (dropped > 0) write(out, frame(0, "dropped", Map.of("events", dropped)));
                write(out, e == null ? ": heartbeat\n\n" : frame(e.id(), e.type(), e.data()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String frame(long id, String type, Object data) throws IOException {
        return (id > 0 ? "id: " + id + "\n" : "") + "event: " + type + "\ndata: " + RunFolders.JSON.writeValueAsString(data) + "\n\n";
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
