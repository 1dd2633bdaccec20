package ai.musicgenti.hub;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.ModelFolder;
import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Finds the model folder that {@code --model} names: a local folder as it is, or a hub repo
 * ({@code org/name[@revision]}) downloaded into the shared Hugging Face cache. Only what the models need is fetched:
 * the configs (CLAP's feature extractor config too), the tokenizer files and the weights: safetensors (one file or the
 * shards of an index), else {@code pytorch_model.bin}, which {@link ai.musicgenti.core.WeightStore} converts.
 */
public final class HubClient {
    static final String CONFIG = "config.json";
    static final List<String> OPTIONAL = List.of("generation_config.json", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "spiece.model", "preprocessor_config.json");
    static final String WEIGHTS = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";
    static final String BIN = "pytorch_model.bin";
    private static final Pattern SHARD = Pattern.compile("[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*\\.safetensors");

    private final HubConfig config;
    private final HubHttp http;
    private final String flag;

    public HubClient(HubConfig config) {
        this(config, "--model");
    }

    private HubClient(HubConfig config, String flag) {
        this.config = config;
        this.flag = flag;
        this.http = new HubHttp(config, flag);
    }

    /**
     * The same client for a model the user named through {@code flag} (say {@code --clap}): its hints tell them to
     * pass that flag a local folder instead.
     */
    public HubClient namedBy(String flag) {
        return new HubClient(config, flag);
    }

    public static HubClient fromEnvironment() {
        return new HubClient(HubConfig.fromEnvironment());
    }

    public HubConfig config() {
        return config;
    }

    /** The model folder for {@code --model}: an existing path unchanged, else the cached snapshot of a hub repo. */
    public Path resolveModel(String modelArg, ProgressListener progress) {
        try {
            Path path = Path.of(modelArg);
            if (Files.exists(path)) return path;
        } catch (InvalidPathException e) {
            // not a path on this system; it may still be a repo id
        }
        return fetch(modelArg, progress).snapshot();
    }

    /**
     * How a model is recorded (dataset.json, concepts files, eval.json): a local folder by its absolute real path, so
     * that the record and hints built from it hold from any working directory and however the path was typed; a hub
     * repo as {@code org/name[@revision]}.
     */
    /** Whether {@code arg} has the form of a hub model id ({@code org/name[@revision]}) rather than of a path. */
    public static boolean isModelId(String arg) {
        return ModelId.parse(arg).isPresent();
    }

    public static String canonicalId(String modelArg) {
        try {
            Path path = Path.of(modelArg);
            if (Files.exists(path)) return path.toRealPath().toString();
        } catch (InvalidPathException | java.io.IOException e) {
            // not a readable path on this system; it may still be a repo id
        }
        return ModelId.parse(modelArg).map(ModelId::toString).orElse(modelArg);
    }

    /** Makes sure a hub model ({@code org/name[@revision]}) is in the cache, downloading what is missing. */
    public CachedModel fetch(String repoArg, ProgressListener progress) {
        ModelId id = parse(repoArg);
        HubCache cache = new HubCache(config.cacheDir(), id);
        if (config.offline()) {
            return fromCache(cache, id).orElseThrow(() -> notCached(id, cache, "offline: HF_HUB_OFFLINE is set"));
        }
        if (id.pinned() && complete(cache, id.revision())) return cachedModel(cache, id, id.revision());
        try {
            HubHttp.FileMeta configMeta = http.head(id, id.revision(), CONFIG).orElseThrow(() -> new BadInputException(
                    id + ": no config.json on " + config.endpoint() + "; is it a transformers model repo? check the name and revision"));
            String commit = configMeta.commit();
            if (!commit.equals(id.revision())) cache.writeRef(id.revision(), commit);
            // the commit pins every later request, so all files come from one consistent state of the repo
            fetchFile(cache, id, commit, CONFIG, configMeta, progress);
            for (String file : OPTIONAL) fetchIfPresent(cache, id, commit, file, progress);
            fetchWeights(cache, id, commit, progress);
            return cachedModel(cache, id, commit);
        } catch (HubHttp.Unreachable e) {
            return fromCache(cache, id).orElseThrow(() -> notCached(id, cache, e.getMessage()));
        }
    }

    /** What the cache holds for a hub model, without asking the hub; empty when the config or weights are missing. */
    public Optional<CachedModel> describe(String repoArg) {
        ModelId id = parse(repoArg);
        return fromCache(new HubCache(config.cacheDir(), id), id);
    }

    /** Downloads a file unless the cache has it; false when the hub says (now or before) that it does not exist. */
    private boolean fetchIfPresent(HubCache cache, ModelId id, String commit, String file, ProgressListener progress)
            throws HubHttp.Unreachable {
        if (cache.has(commit, file)) return true;
        if (cache.knownMissing(commit, file)) return false;
        Optional<HubHttp.FileMeta> meta = http.head(id, commit, file);
        if (meta.isEmpty()) {
            cache.markMissing(commit, file);
            return false;
        }
        fetchFile(cache, id, commit, file, meta.get(), progress);
        return true;
    }

    private void fetchWeights(HubCache cache, ModelId id, String commit, ProgressListener progress) throws HubHttp.Unreachable {
        if (fetchIfPresent(cache, id, commit, WEIGHTS, progress)) return;
        if (fetchIfPresent(cache, id, commit, INDEX, progress)) {
            for (String shard : shards(cache.snapshot(commit).resolve(INDEX))) {
                if (cache.has(commit, shard)) continue;
                HubHttp.FileMeta meta = http.head(id, commit, shard).orElseThrow(() -> new BadInputException(
                        id + ": " + INDEX + " lists " + shard + " but the repo has no such file; ask the repo's owners to fix it"));
                fetchFile(cache, id, commit, shard, meta, progress);
            }
            return;
        }
        // older repos, laion/larger_clap_music among them, have only the pickled PyTorch weights
        if (fetchIfPresent(cache, id, commit, BIN, progress)) return;
        throw new BadInputException(id + " has no " + WEIGHTS + ", " + INDEX + " or " + BIN + "; musicgen-ti reads these "
                + "(not sharded pytorch_model-*.bin): pick a revision that has one, or convert the weights with transformers' "
                + "save_pretrained(..., safe_serialization=True)");
    }

    private void fetchFile(HubCache cache, ModelId id, String commit, String file, HubHttp.FileMeta meta, ProgressListener progress) {
        if (cache.has(commit, file)) return;
        Path blob = cache.blob(meta.etag());
        // blobs are shared by every revision that has the same contents
        if (!Files.isRegularFile(blob)) http.download(id, commit, file, meta, cache, progress);
        cache.link(commit, file, blob);
    }

    private Optional<CachedModel> fromCache(HubCache cache, ModelId id) {
        return cache.commitFor(id).filter(commit -> cache.has(commit, CONFIG) && hasWeights(cache, commit))
                .map(commit -> cachedModel(cache, id, commit));
    }

    /** Everything a fetch would look for is settled: present, or known to be absent. */
    private static boolean complete(HubCache cache, String commit) {
        return cache.has(commit, CONFIG) && hasWeights(cache, commit)
                && OPTIONAL.stream().allMatch(f -> cache.has(commit, f) || cache.knownMissing(commit, f));
    }

    private static boolean hasWeights(HubCache cache, String commit) {
        if (cache.has(commit, WEIGHTS)) return true;
        if (cache.has(commit, INDEX)) return shards(cache.snapshot(commit).resolve(INDEX)).stream().allMatch(s -> cache.has(commit, s));
        return cache.has(commit, BIN);
    }

    /** The shard files an index names; a name that could leave the snapshot folder is refused. */
    static List<String> shards(Path index) {
        JsonNode map = ModelFolder.readJson(index, true).path("weight_map");
        if (!map.isObject()) throw new BadInputException(index + ": has no weight_map; delete it and run again");
        Set<String> names = new LinkedHashSet<>();
        map.elements().forEachRemaining(v -> names.add(v.asText()));
        for (String name : names) {
            if (!SHARD.matcher(name).matches() || name.contains("..")) {
                throw new BadInputException(index + ": lists a shard named '" + name + "', which is not a plain .safetensors file name");
            }
        }
        return new ArrayList<>(names);
    }

    private static CachedModel cachedModel(HubCache cache, ModelId id, String commit) {
        return new CachedModel(id.repo(), id.revision(), commit, cache.snapshot(commit), cache.files(commit));
    }

    private BadInputException notCached(ModelId id, HubCache cache, String why) {
        return new BadInputException(id + " is not in the cache (" + cache.repoDir() + ") and the hub cannot be reached ("
                + why + "); run once online, or pass " + flag + " /path/to/a/local/folder");
    }

    private ModelId parse(String repoArg) {
        return ModelId.parse(repoArg).orElseThrow(() -> new BadInputException(repoArg + ": no such folder, and not a Hugging Face repo id; "
                + "pass " + flag + " a model folder or a repo like facebook/musicgen-small[@revision]"));
    }
}
