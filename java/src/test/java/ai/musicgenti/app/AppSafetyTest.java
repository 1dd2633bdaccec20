package ai.musicgenti.app;

import ai.musicgenti.core.BadInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Who may talk to the server: loopback by default, a token beyond it, no foreign Host names. */
class AppSafetyTest {
    static final String TOKEN = "0123456789abcdef-token";
    /** Every endpoint, with a request that would succeed or fail validation if it got that far. */
    static final List<String[]> ENDPOINTS = List.of(new String[]{"GET", "/"}, new String[]{"GET", "/static/app.js"},
            new String[]{"GET", "/api/status"}, new String[]{"GET", "/api/datasets"}, new String[]{"GET", "/api/concepts-files"},
            new String[]{"GET", "/api/runs"}, new String[]{"GET", "/api/runs/r"}, new String[]{"GET", "/api/jobs"},
            new String[]{"GET", "/api/jobs/j1"}, new String[]{"GET", "/api/events"}, new String[]{"GET", "/api/files/runs/r/x.wav"},
            new String[]{"POST", "/api/prepare"}, new String[]{"POST", "/api/train"}, new String[]{"POST", "/api/generate"}, new String[]{"POST", "/api/model"},
            new String[]{"POST", "/api/runs/r/stop"}, new String[]{"POST", "/api/runs/r/resume"}, new String[]{"POST", "/api/jobs/j1/cancel"},
            new String[]{"GET", "/api/sweeps"}, new String[]{"GET", "/api/sweeps/s"}, new String[]{"GET", "/api/sweeps/s/runs/trial-000"});

    private static AppServer.Settings.Builder settings(Path dir) {
        return AppServer.Settings.builder().data(dir.resolve("data")).models(dir.resolve("models")).runs(dir.resolve("runs")).port(0);
    }

    @Test
    void refusesToServeBeyondLoopbackWithoutAToken(@TempDir Path dir) {
        BadInputException e = assertThrows(BadInputException.class, () -> AppServer.start(settings(dir).host("0.0.0.0").build()));
        assertTrue(e.getMessage().contains("--token"), e.getMessage());
        assertThrows(BadInputException.class, () -> settings(dir).token("short").build());
    }

    @Test
    void everyEndpointNeedsTheToken(@TempDir Path dir) throws Exception {
        try (AppServer server = AppServer.start(settings(dir).host("0.0.0.0").token(TOKEN).build())) {
            assertTrue(server.url().endsWith("/?token=" + TOKEN), server.url());
            HttpClient http = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + server.port();
            for (String[] e : ENDPOINTS) {
                for (Map<String, String> wrong : List.of(Map.<String, String>of(), Map.of("Authorization", "Bearer wrong-token-0123456789"),
                        Map.of("Cookie", AppServer.COOKIE + "=" + TOKEN.substring(1)))) {
                    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + e[1]));
                    wrong.forEach(b::header);
                    b.header("Content-Type", "application/json").method(e[0], e[0].equals("POST") ? HttpRequest.BodyPublishers.ofString("{}") : HttpRequest.BodyPublishers.noBody());
                    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
                    assertEquals(401, r.statusCode(), e[0] + " " + e[1] + " with " + wrong);
                }
            }
            HttpResponse<String> header = http.send(HttpRequest.newBuilder(URI.create(base + "/api/status")).header("Authorization", "Bearer " + TOKEN).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, header.statusCode());
            HttpResponse<String> cookie = http.send(HttpRequest.newBuilder(URI.create(base + "/api/runs")).header("Cookie", "a=b; " + AppServer.COOKIE + "=" + TOKEN).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, cookie.statusCode());
            HttpResponse<String> login = http.send(HttpRequest.newBuilder(URI.create(base + "/?token=" + TOKEN)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(303, login.statusCode());
            assertTrue(login.headers().firstValue("Set-Cookie").orElse("").startsWith(AppServer.COOKIE + "=" + TOKEN + ";"));
            assertTrue(login.headers().firstValue("Set-Cookie").orElse("").contains("HttpOnly"));
            assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(base + "/?token=wrong")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
        }
    }

    @Test
    void loopbackRefusesForeignHostNames(@TempDir Path dir) throws Exception {
        try (AppServer server = AppServer.start(settings(dir).build())) {
            assertTrue(server.url().startsWith("http://127.0.0.1:"), server.url());
            // a page of another site whose name was made to resolve to 127.0.0.1 (DNS rebinding)
            java.net.Socket s = new java.net.Socket("127.0.0.1", server.port());
            try (s) {
                s.getOutputStream().write(("GET /api/status HTTP/1.1\r\nHost: evil.example:" + server.port() + "\r\nConnection: close\r\n\r\n").getBytes());
                String reply = new String(s.getInputStream().readAllBytes());
                assertTrue(reply.startsWith("HTTP/1.1 403"), reply);
            }
            HttpResponse<String> ok = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/api/status")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, ok.statusCode());
        }
    }
}
