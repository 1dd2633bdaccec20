package ai.musicgenti.core;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Values of a Hugging Face {@code config.json}, read strictly: a key that is absent or null takes the class default
 * (HF writes configs as a diff against the defaults), and anything that is not what the key needs is an error.
 */
public final class ConfigJson {
    private ConfigJson() {
    }

    /**
     * The first of {@code keys} that is set (configs spell some keys two ways), else {@code fallback}.
     *
     * @param where names the config in errors, e.g. "T5 config"
     */
    public static int integer(JsonNode json, String where, int fallback, String... keys) {
        for (String key : keys) {
            JsonNode v = json.get(key);
            if (v != null && !v.isNull()) {
                if (!v.canConvertToInt()) throw new BadInputException(where + ": " + key + " is not an integer: " + v);
                return v.asInt();
            }
        }
        return fallback;
    }
}
