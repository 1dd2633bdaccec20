package ai.musicgenti.text;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Tensors;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A text encoder's tokenizer: a {@code tokenizer.json} (HF {@code tokenizers} format) run by the Rust library through
 * DJL, so ids match transformers' tokenizers exactly, special tokens included: T5's for MusicGen prompts (ending in
 * {@code </s>}), RoBERTa's for CLAP texts ({@code <s> … </s>}). Both pad with {@code <pad>}. Holds native memory: close it.
 */
public final class PromptTokenizer implements AutoCloseable {
    private static final String PAD = "<pad>";

    static {
        // DJL goes online in two places unless it is in offline mode (checked in the bytecode of api and
        // tokenizers 0.38.0): every newInstance() calls Ec2Utils.callHome (EC2 metadata at 169.254.169.254,
        // then a telemetry URL), and on a machine with CUDA LibUtils picks a cu* flavour of libtokenizers that is
        // not in the jar and downloads it. Offline, it skips the call home and always takes the CPU library,
        // which the jar bundles; that one is copied once into $DJL_CACHE_DIR (default ~/.djl.ai, else the temp
        // folder) under tokenizers/0.21.0-0.38.0-cpu-linux-x86_64/ and loaded from there. An explicit
        // DJL_OFFLINE=false in the environment still wins over this property.
        if (System.getProperty("ai.djl.offline") == null) System.setProperty("ai.djl.offline", "true");
    }

    private final HuggingFaceTokenizer tokenizer;
    private final long padId;
    private final long eosId;

    private PromptTokenizer(HuggingFaceTokenizer tokenizer, long padId, long eosId) {
        this.tokenizer = tokenizer;
        this.padId = padId;
        this.eosId = eosId;
    }

    /** Ids [B,S] and mask [B,S] (both Long), right-padded with the pad id as HF's {@code padding=True} does. */
    public record Batch(Tensor inputIds, Tensor attentionMask) {
    }

    /** Loads a {@code tokenizer.json}, or the one inside a model folder. */
    public static PromptTokenizer load(Path tokenizerJson) {
        Path file = Files.isDirectory(tokenizerJson) ? tokenizerJson.resolve("tokenizer.json") : tokenizerJson;
        if (!Files.isRegularFile(file)) {
            throw new BadInputException(file + " not found: give the tokenizer.json of the model's text encoder");
        }
        JsonNode json = readJson(file);
        long padId = addedTokenId(file, json, PAD);
        try {
            // no truncation (T5Tokenizer's __call__ does not truncate by default); padding is done here per batch
            Map<String, String> options = Map.of("addSpecialTokens", "true", "truncation", "false", "padding", "false");
            HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(file, options);
            // the post-processor appends the end token, so the empty text is exactly [</s>]
            long[] empty = tokenizer.encode("").getIds();
            return new PromptTokenizer(tokenizer, padId, empty[empty.length - 1]);
        } catch (IOException | RuntimeException e) {
            throw new BadInputException(file + " is not a valid HF tokenizers file (" + e.getMessage()
                    + "): export it again with tokenizer.save_pretrained()", e);
        }
    }

    // The Rust loader's errors are terse, so the JSON is checked here first; the pad id also comes from it.
    private static JsonNode readJson(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new BadInputException(file + " is not valid JSON (" + e.getOriginalMessage()
                    + "): export it again with tokenizer.save_pretrained()", e);
        } catch (IOException e) {
            throw new BadInputException(file + " cannot be read (" + e + "): check its permissions", e);
        }
    }

    private static long addedTokenId(Path file, JsonNode json, String token) {
        for (JsonNode t : json.path("added_tokens")) {
            if (token.equals(t.path("content").asText())) return t.path("id").asLong();
        }
        throw new BadInputException(file + " has no " + token + " token among its added_tokens: give the model's own tokenizer.json");
    }

    /** Token ids of one prompt, ending in {@code </s>}; the empty prompt gives {@code [</s>]}. */
    public long[] encode(String text) {
        return tokenizer.encode(text).getIds();
    }

    /** Token ids of a piece of text without {@code </s>}: one segment of a prompt that has placeholders in it. */
    public long[] encodePlain(String text) {
        return tokenizer.encode(text, false, false).getIds();
    }

    /**
     * The token strings of one prompt, aligned with {@link #encode(String)}: SentencePiece's pieces (e.g.
     * {@code ▁calm}, {@code </s>}); an unknown run shows as its normalised text, not as {@code <unk>}.
     */
    public List<String> tokens(String text) {
        return List.of(tokenizer.encode(text).getTokens());
    }

    public Batch encode(List<String> texts) {
        return encode(texts, Integer.MAX_VALUE);
    }

    /**
     * As {@link #encode(List)}, each row cut to at most {@code maxTokens} with its last (end) token kept, as HF's
     * {@code truncation=True} does for a model with a fixed number of positions.
     */
    public Batch encode(List<String> texts, int maxTokens) {
        if (texts.isEmpty()) throw new IllegalArgumentException("no prompts to encode");
        if (maxTokens < 2) throw new IllegalArgumentException("maxTokens " + maxTokens + ": need room for the special tokens");
        long[][] rows = texts.stream().map(this::encode).map(r -> truncate(r, maxTokens)).toArray(long[][]::new);
        int width = Arrays.stream(rows).mapToInt(r -> r.length).max().orElseThrow();
        long[] ids = new long[rows.length * width];
        long[] mask = new long[rows.length * width];
        Arrays.fill(ids, padId);
        for (int b = 0; b < rows.length; b++) {
            System.arraycopy(rows[b], 0, ids, b * width, rows[b].length);
            Arrays.fill(mask, b * width, b * width + rows[b].length, 1L);
        }
        return new Batch(Tensors.longs(ids, rows.length, width), Tensors.longs(mask, rows.length, width));
    }

    private static long[] truncate(long[] row, int maxTokens) {
        if (row.length <= maxTokens) return row;
        long[] out = Arrays.copyOf(row, maxTokens);
        out[maxTokens - 1] = row[row.length - 1];
        return out;
    }

    public long padId() {
        return padId;
    }

    public long eosId() {
        return eosId;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
