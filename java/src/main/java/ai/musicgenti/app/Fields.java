package ai.musicgenti.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The fields of one JSON request body, read with bounds: every refusal is a 400 whose message names the field and
 * the range it must lie in. Unknown fields are refused too, so a misspelt one is not silently ignored.
 */
final class Fields {
    private final JsonNode body;
    private final Set<String> known;

    Fields(JsonNode body, Set<String> known) {
        if (body == null || !body.isObject()) throw HttpError.badRequest("body: must be a JSON object");
        this.body = body;
        this.known = known;
        body.fieldNames().forEachRemaining(name -> {
            if (!known.contains(name)) throw HttpError.badRequest("field " + SafePaths.shown(name) + ": unknown; known fields are " + known);
        });
    }

    boolean has(String field) {
        JsonNode n = body.get(field);
        return n != null && !n.isNull();
    }

    int integer(String field, int min, int max, Integer fallback) {
        JsonNode n = node(field, fallback != null);
        if (n == null) return fallback;
        if (!n.canConvertToLong() || !n.isIntegralNumber() || n.asLong() < min || n.asLong() > max) {
            throw HttpError.badRequest("field " + field + ": must be a whole number from " + min + " to " + max);
        }
        return n.intValue();
    }

    long longValue(String field, long min, long max, Long fallback) {
        JsonNode n = node(field, fallback != null);
        if (n == null) return fallback;
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < min || n.asLong() > max) {
            throw HttpError.badRequest("field " + field + ": must be a whole number from " + min + " to " + max);
        }
        return n.longValue();
    }

    /** A number in {@code (min, max]} when {@code openMin}, else in {@code [min, max]}. */
    double number(String field, double min, boolean openMin, double max, Double fallback) {
        JsonNode n = node(field, fallback != null);
        if (n == null) return fallback;
        double v = n.isNumber() ? n.doubleValue() : Double.NaN;
        if (!Double.isFinite(v) || (openMin ? v <= min : v < min) || v > max) {
            throw HttpError.badRequest(String.format(Locale.ROOT, "field %s: must be a number %s %s and at most %s", field,
                    openMin ? "above" : "from", plain(min), plain(max)));
        }
        return v;
    }

    boolean flag(String field, boolean fallback) {
        JsonNode n = node(field, true);
        if (n == null) return fallback;
        if (n.getNodeType() != JsonNodeType.BOOLEAN) throw HttpError.badRequest("field " + field + ": must be true or false");
        return n.booleanValue();
    }

    /** A string of at most {@code maxLength} characters without control characters; null when optional and absent. */
    String text(String field, int maxLength, boolean required) {
        JsonNode n = node(field, !required);
        if (n == null) return null;
        if (!n.isTextual()) throw HttpError.badRequest("field " + field + ": must be a string");
        String s = n.textValue();
        if (s.length() > maxLength) throw HttpError.badRequest("field " + field + ": longer than " + maxLength + " characters");
        if (s.chars().anyMatch(Character::isISOControl)) throw HttpError.badRequest("field " + field + ": holds control characters");
        if (required && s.isBlank()) throw HttpError.badRequest("field " + field + ": must not be empty");
        return s;
    }

    /** A list of strings, each as {@link #text}, between {@code minItems} and {@code maxItems} long. */
    List<String> texts(String field, int maxLength, int minItems, int maxItems) {
        JsonNode n = node(field, minItems == 0);
        List<String> out = new ArrayList<>();
        if (n == null) return out;
        if (!n.isArray() || n.size() < minItems || n.size() > maxItems) {
            throw HttpError.badRequest("field " + field + ": must be a list of " + minItems + " to " + maxItems + " strings");
        }
        for (JsonNode item : n) {
            if (!item.isTextual() || item.textValue().isEmpty() || item.textValue().length() > maxLength
                    || item.textValue().chars().anyMatch(Character::isISOControl)) {
                throw HttpError.badRequest("field " + field + ": each item must be a non-empty string of at most " + maxLength + " characters");
            }
            out.add(item.textValue());
        }
        return out;
    }

    private JsonNode node(String field, boolean optional) {
        if (!known.contains(field)) throw new IllegalStateException(field + " is not among the fields declared for this request");
        JsonNode n = body.get(field);
        if (n == null || n.isNull()) {
            if (optional) return null;
            throw HttpError.badRequest("field " + field + ": missing");
        }
        return n;
    }

    private static String plain(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
