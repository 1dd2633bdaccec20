package ai.musicgenti.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Hugging Face model folder: {@code config.json}, the weights (safetensors, or a {@code pytorch_model.bin}) and optionally
 * {@code generation_config.json}. Configs are in HF's diff format (keys equal to the class defaults omitted); each
 * model's config record fills the defaults itself.
 */
public final class ModelFolder implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final JsonNode config;
    private final WeightStore store;

    private ModelFolder(Path dir, JsonNode config, WeightStore store) {
        this.dir = dir;
        this.config = config;
        this.store = store;
    }

    public static ModelFolder open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir + ": not a folder; point it at a folder with config.json and its weights (model.safetensors or pytorch_model.bin)");
        }
        JsonNode config = readJson(dir.resolve("config.json"), true);
        return new ModelFolder(dir, config, WeightStore.open(dir));
    }

    /** Reads a JSON file; a missing optional file gives a missing node, a broken one a clear error. */
    public static JsonNode readJson(Path file, boolean required) {
        if (!Files.exists(file)) {
            if (!required) return MissingNode.getInstance();
            throw new BadInputException(file + ": missing; a model folder needs its " + file.getFileName()
                    + " beside its weights (download the whole checkpoint again)");
        }
        try {
            JsonNode node = JSON.readTree(file.toFile());
            if (node == null || !node.isObject()) throw new BadInputException(file + ": not a JSON object; download it again");
            return node;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            // where, not the parser's wording ("Unexpected character ... was expecting double-quote to start field name")
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new BadInputException(file + ": not valid JSON" + where + "; fix it there, or download it again");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot be read (" + e.getMessage() + "); check the file");
        }
    }

    public Path dir() {
        return dir;
    }

    public JsonNode config() {
        return config;
    }

    public JsonNode generationConfig() {
        return readJson(dir.resolve("generation_config.json"), false);
    }

    public WeightStore store() {
        return store;
    }

    public Weights weights(Compute compute) {
        return new Weights(store, compute);
    }

    @Override
    public void close() {
        store.close();
    }
}
