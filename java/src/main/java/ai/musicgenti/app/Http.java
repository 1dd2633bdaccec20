package ai.musicgenti.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reading requests and writing responses on the JDK server: bounded bodies, strict decoding, JSON out. */
final class Http {
    /** The largest request body the API reads: requests are small JSON objects. */
    static final int MAX_BODY = 64 * 1024;
    static final int MAX_QUERY = 2048;
    /** How much of a too-large body is read and dropped before the 413. */
    static final int DRAIN = 1024 * 1024;

    private Http() {
    }

    /** The JSON object in the body, refused when larger than {@link #MAX_BODY}, not JSON, or not sent as JSON. */
    static JsonNode jsonBody(HttpExchange ex) throws IOException {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
            throw new HttpError(415, "body: send it as Content-Type: application/json");
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (InputStream in = ex.getRequestBody()) {
            byte[] chunk = new byte[8192];
            long read = 0;
            for (int n; (n = in.read(chunk)) > 0; ) {
                read += n;
                if (read <= MAX_BODY) buf.write(chunk, 0, n);
                // read on past the limit (up to DRAIN) so that the client, still sending, gets the 413 rather than a reset
                if (read > DRAIN) break;
            }
            if (read > MAX_BODY) throw new HttpError(413, "body: larger than " + MAX_BODY + " bytes");
        }
        if (buf.size() == 0) return RunFolders.JSON.createObjectNode();
        try {
            return RunFolders.JSON.readTree(buf.toByteArray());
        } catch (IOException e) {
            throw HttpError.badRequest("body: not valid JSON (" + SafePaths.shown(e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()) + ")");
        }
    }

    /**
     * The path's segments, each percent-decoded exactly once. A decoded segment that still holds '%', '/', '\' or a
     * control character was encoded to slip past a check and is refused.
     */
    static List<String> segments(String rawPath) {
        List<String> out = new ArrayList<>();
        for (String raw : rawPath.split("/")) {
            if (raw.isEmpty()) continue;
            String s = decode(raw, "path");
            if (s.contains("%") || s.contains("/") || s.contains("\\") || s.chars().anyMatch(Character::isISOControl)) {
                throw HttpError.badRequest("path: segment '" + SafePaths.shown(s) + "' holds an encoded separator or '%'");
            }
            out.add(s);
        }
        return out;
    }

    static Map<String, String> query(String rawQuery) {
        Map<String, String> out = new LinkedHashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) return out;
        if (rawQuery.length() > MAX_QUERY) throw HttpError.badRequest("query: longer than " + MAX_QUERY + " characters");
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            String k = decode(eq < 0 ? pair : pair.substring(0, eq), "query");
            String v = eq < 0 ? "" : decode(pair.substring(eq + 1).replace('+', ' '), "query parameter " + k);
            out.put(k, v);
        }
        return out;
    }

    /** Strict %XX decoding as UTF-8: a malformed escape or invalid UTF-8 is a 400 naming {@code what}. */
    static String decode(String s, String what) {
        if (s.indexOf('%') < 0) return s;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length()) throw HttpError.badRequest(what + ": malformed percent escape");
                int hi = Character.digit(s.charAt(i + 1), 16), lo = Character.digit(s.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) throw HttpError.badRequest(what + ": malformed percent escape");
                bytes.write(hi * 16 + lo);
                i += 2;
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                bytes.write(b, 0, b.length);
            }
        }
        var decoder = StandardCharsets.UTF_8.newDecoder();
        try {
            return decoder.decode(java.nio.ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw HttpError.badRequest(what + ": not UTF-8 after percent decoding");
        }
    }

    static void json(HttpExchange ex, int status, Object body) throws IOException {
        send(ex, status, "application/json; charset=utf-8", RunFolders.JSON.writeValueAsBytes(body));
    }

    static void send(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, -1);
        } else {
            ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
            if (body.length > 0) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(body);
                }
            }
        }
    }
}
