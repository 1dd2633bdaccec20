package ai.musicgenti.app;

import ai.musicgenti.data.FiniteJson;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** A client of the app over real HTTP, as a script would be one: JSON requests, raw paths, and an SSE listener. */
final class AppClient {
    static final ObjectMapper JSON = FiniteJson.mapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final Map<String, String> headers;

    AppClient(int port, Map<String, String> headers) {
        this.base = "http://127.0.0.1:" + port;
        this.headers = headers;
    }

    record Reply(int status, String body, HttpResponse<byte[]> raw) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }

        String error() {
            return json().path("error").asText();
        }
    }

    Reply get(String rawPath) throws IOException, InterruptedException {
        return send(request(rawPath).GET().build());
    }

    Reply post(String rawPath, Object body) throws IOException, InterruptedException {
        String text = body instanceof String s ? s : JSON.writeValueAsString(body);
        return send(request(rawPath).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(text)).build());
    }

    HttpRequest.Builder request(String rawPath) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + rawPath)).timeout(Duration.ofSeconds(60));
        headers.forEach(b::header);
        return b;
    }

    Reply send(HttpRequest request) throws IOException, InterruptedException {
        HttpResponse<byte[]> r = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        return new Reply(r.statusCode(), new String(r.body(), java.nio.charset.StandardCharsets.UTF_8), r);
    }

    /** Polls the job until it has ended (done, failed, cancelled); its last view. */
    JsonNode awaitJob(String id, long seconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            JsonNode j = get("/api/jobs/" + id).json();
            if (!List.of("queued", "running").contains(j.path("state").asText())) return j;
            Thread.sleep(100);
        }
        fail("job " + id + " did not end within " + seconds + " s");
        return null;
    }

    static JsonNode ok(Reply r, int status) {
        assertEquals(status, r.status(), r.body());
        return r.json();
    }

    /** One SSE connection: its events (type, data) as they arrive. */
    Events events() throws Exception {
        Events e = new Events();
        HttpRequest req = request("/api/events").GET().build();
        http.sendAsync(req, HttpResponse.BodyHandlers.ofLines()).thenAccept(r -> {
            e.status = r.statusCode();
            String type = null;
            for (var it = r.body().iterator(); it.hasNext(); ) {
                String line = it.next();
                if (line.startsWith("event: ")) type = line.substring(7);
                else if (line.startsWith("data: ") && type != null) {
                    try {
                        e.queue.add(new Event(type, JSON.readTree(line.substring(6))));
                    } catch (IOException ex) {
                        e.queue.add(new Event("unparsable", null));
                    }
                } else if (line.startsWith(":")) {
                    e.queue.add(new Event("heartbeat", null));
                }
            }
        });
        e.await(ev -> ev.type().equals("hello"), 10);
        return e;
    }

    record Event(String type, JsonNode data) {
    }

    static final class Events {
        final BlockingQueue<Event> queue = new LinkedBlockingQueue<>();
        volatile int status;

        /** The first event from now on that matches, failing after {@code seconds}. */
        Event await(Predicate<Event> match, long seconds) throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            for (long left; (left = end - System.nanoTime()) > 0; ) {
                Event e = queue.poll(left, TimeUnit.NANOSECONDS);
                if (e != null && match.test(e)) return e;
            }
            throw new AssertionError("no matching event within " + seconds + " s");
        }
    }
}
