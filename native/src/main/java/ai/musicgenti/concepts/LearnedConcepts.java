package ai.musicgenti.concepts;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.text.PromptTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A concepts file: one safetensors file holding, per concept, its learned rows [tokens, d_model] F32 under the
 * concept's name, and string metadata: {@code concepts} (JSON list, the row order), {@code tokens} (JSON map
 * concept → token strings), {@code base_model}, {@code base_model_hash} ({@link #baseModelHash}), {@code d_model},
 * {@code epoch}, {@code step} and {@code metrics} (JSON). Rows learned against one base model mean nothing to
 * another, so loading checks the hash and the width.
 */
public final class LearnedConcepts {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the file says about where its rows come from. */
    public record Info(String baseModel, String baseModelHash, int epoch, long step, String metricsJson) {
    }

    /** Prompt ids [B,S], mask [B,S] and the spliced input embeddings [B,S,d_model] for {@code MusicGen.conditionFromEmbeddings}. */
    public record Conditioning(Tensor inputIds, Tensor attentionMask, Tensor inputsEmbeds) {
    }

    private final Map<String, Integer> tokenCounts;
    private final Tensor table;
    private final Info info;

    private LearnedConcepts(Map<String, Integer> tokenCounts, Tensor table, Info info) {
        this.tokenCounts = tokenCounts;
        this.table = table;
        this.info = info;
    }

    public static void save(Path file, List<ConceptPrompts.Concept> concepts, Tensor learned, Info info) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, List<String>> tokens = new LinkedHashMap<>();
        for (ConceptPrompts.Concept c : concepts) {
            tensors.put(c.name(), learned.detach().narrow(0, c.firstRow(), c.tokens()).to(ScalarType.Float));
            tokens.put(c.name(), c.tokenStrings());
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("concepts", JSON.writeValueAsString(concepts.stream().map(ConceptPrompts.Concept::name).toList()));
        metadata.put("tokens", JSON.writeValueAsString(tokens));
        metadata.put("base_model", info.baseModel());
        metadata.put("base_model_hash", info.baseModelHash());
        metadata.put("d_model", Long.toString(learned.size(1)));
        metadata.put("epoch", Integer.toString(info.epoch()));
        metadata.put("step", Long.toString(info.step()));
        metadata.put("metrics", info.metricsJson());
        Safetensors.write(file, tensors, metadata);
    }

    /**
     * Reads a concepts file and checks that it fits the base model in {@code base}.
     *
     * @throws BadInputException when the file is not a concepts file, or was learned on another base model
     */
    public static LearnedConcepts load(Path file, ModelFolder base) {
        return load(file, base, baseModelHash(base));
    }

    /** {@code baseHash}: {@link #baseModelHash} of {@code base}, which reads the whole T5 table, so callers compute it once. */
    private static LearnedConcepts load(Path file, ModelFolder base, String baseHash) {
        Safetensors.Contents contents = Safetensors.load(file);
        Map<String, String> meta = contents.metadata();
        Map<String, Tensor> tensors = contents.tensors();
        for (String key : new String[]{"concepts", "base_model_hash", "d_model"}) {
            if (!meta.containsKey(key)) {
                throw new BadInputException(file + ": no '" + key + "' metadata; this is not a concepts file written by musicgen-ti train");
            }
        }
        long width = MusicGen.Config.fromJson(base.config()).text().dModel();
        if (Long.parseLong(meta.get("d_model")) != width) {
            throw new BadInputException(file + ": concepts of width " + meta.get("d_model") + " do not fit " + base.dir()
                    + " (text encoder width " + width + "); use the model they were learned on (" + meta.get("base_model") + ")");
        }
        if (!meta.get("base_model_hash").equals(baseHash)) {
            throw new BadInputException(file + ": learned on " + meta.get("base_model") + ", whose text embeddings differ from "
                    + base.dir() + "'s; use --model " + meta.get("base_model"));
        }
        List<String> names = readJson(file, meta.get("concepts"), new TypeReference<>() { });
        Map<String, Integer> counts = new LinkedHashMap<>();
        TensorVector rows = new TensorVector();
        for (String name : names) {
            Tensor t = tensors.get(name);
            if (t == null || t.dim() != 2 || t.size(1) != width) {
                throw new BadInputException(file + ": concept '" + name + "' has no [tokens, " + width + "] tensor; write the file again");
            }
            counts.put(name, (int) t.size(0));
            rows.push_back(t.to(ScalarType.Float));
        }
        Info info = new Info(meta.getOrDefault("base_model", ""), meta.get("base_model_hash"),
                Integer.parseInt(meta.getOrDefault("epoch", "0")), Long.parseLong(meta.getOrDefault("step", "0")),
                meta.getOrDefault("metrics", "{}"));
        return new LearnedConcepts(counts, torch.cat(rows, 0), info);
    }

    /**
     * Concepts held in memory, as a training run has them: {@code learned} rows [total tokens, d_model] in
     * {@code concepts} order (detached and copied here, so later training steps do not change them).
     */
    public static LearnedConcepts of(List<ConceptPrompts.Concept> concepts, Tensor learned, Info info) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (ConceptPrompts.Concept c : concepts) counts.put(c.name(), c.tokens());
        return new LearnedConcepts(counts, learned.detach().to(ScalarType.Float).clone(), info);
    }

    /** Several concepts files used together (say, two runs' concepts in one prompt); names must not repeat. */
    public static LearnedConcepts loadAll(List<Path> files, ModelFolder base) {
        Map<String, Integer> counts = new LinkedHashMap<>();
        TensorVector tables = new TensorVector();
        Info info = null;
        String baseHash = baseModelHash(base);
        for (Path file : files) {
            LearnedConcepts one = load(file, base, baseHash);
            for (var e : one.tokenCounts.entrySet()) {
                if (counts.put(e.getKey(), e.getValue()) != null) {
                    throw new BadInputException(file + ": concept '" + e.getKey() + "' is also in an earlier --concepts file; give each concept once");
                }
            }
            tables.push_back(one.table);
            if (info == null) info = one.info;
        }
        if (info == null) throw new IllegalArgumentException("no concepts file");
        return new LearnedConcepts(counts, torch.cat(tables, 0), info);
    }

    private static <T> T readJson(Path file, String json, TypeReference<T> type) {
        try {
            return JSON.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new BadInputException(file + ": metadata is not valid JSON (" + e.getOriginalMessage() + "); write the file again");
        }
    }

    /**
     * sha256 of the T5 token embedding table as stored (dtype, shape and bytes): the part of the base model the
     * learned rows sit beside. Independent of the dtype the model is run in.
     */
    public static String baseModelHash(ModelFolder base) {
        String name = base.store().contains("text_encoder.shared.weight") ? "text_encoder.shared.weight" : "text_encoder.encoder.embed_tokens.weight";
        return base.store().sha256(List.of(name));
    }

    /** Concept names and their token counts, in row order. */
    public Map<String, Integer> tokenCounts() {
        return tokenCounts;
    }

    /** All concepts' rows [total tokens, d_model] F32, in row order. */
    public Tensor table() {
        return table;
    }

    public Info info() {
        return info;
    }

    public ConceptPrompts prompts(PromptTokenizer tokenizer) {
        return new ConceptPrompts(tokenizer, tokenCounts);
    }

    /** Prompts that may name these concepts ({@code <name>}, {@code <name_i>}), ready for {@code MusicGen.conditionFromEmbeddings}. */
    public Conditioning condition(MusicGen model, PromptTokenizer tokenizer, List<String> prompts) {
        ConceptPrompts.Batch batch = prompts(tokenizer).batch(prompts, null);
        Tensor embeds = LearnedConcepts.splice(model.textEncoder().embed(batch.inputIds()), batch.rows(), table);
        return new Conditioning(batch.inputIds(), batch.attentionMask(), embeds);
    }

    /**
     * Puts learned rows into prompt embeddings: position (b, s) takes {@code learned[rows[b, s]]} where that index is
     * at least 0 and keeps its token embedding where it is -1. Out of place, so gradients reach {@code learned} (and
     * only it: the token embeddings come from the frozen table). embeds [B,S,D], rows [B,S] long, learned [N,D].
     */
    public static Tensor splice(Tensor embeds, Tensor rows, Tensor learned) {
        long batch = embeds.size(0), seq = embeds.size(1), width = embeds.size(2);
        Tensor at = rows.to(embeds.device(), ScalarType.Long);
        Tensor picked = learned.to(embeds.device(), embeds.scalar_type())
                .index_select(0, at.clamp_min(Tensors.scalar(0)).to(ScalarType.Long).flatten()).view(batch, seq, width);
        return torch.where(at.ge(Tensors.scalar(0)).unsqueeze(-1), picked, embeds);
    }
}
