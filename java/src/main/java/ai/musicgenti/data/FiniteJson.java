package ai.musicgenti.data;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;

import java.io.IOException;

/**
 * The JSON the launcher writes (metrics.jsonl, eval.json, concepts-file metrics): a metric that could not be computed
 * (NaN, say a validation loss without validation data) is {@code null}. Jackson's default, the string "NaN", would
 * make the same key a number in one line and a string in the next.
 */
public final class FiniteJson {
    private FiniteJson() {
    }

    public static ObjectMapper mapper() {
        JsonSerializer<Double> finite = new JsonSerializer<>() {
            @Override
            public void serialize(Double value, JsonGenerator gen, SerializerProvider serializers) throws IOException {
                if (Double.isFinite(value)) gen.writeNumber(value);
                else gen.writeNull();
            }
        };
        return new ObjectMapper().registerModule(new SimpleModule("finite-doubles").addSerializer(Double.class, finite)
                .addSerializer(double.class, finite));
    }
}
