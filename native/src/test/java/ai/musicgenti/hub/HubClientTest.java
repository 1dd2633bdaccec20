package ai.musicgenti.hub;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Caches;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.TorchBins;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static ai.musicgenti.hub.FakeHub.COMMIT;
import static ai.musicgenti.hub.FakeHub.REPO;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HubClientTest {
    private static final Set<String> SERVED = Set.of("config.json", "generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json", "spiece.model", "preprocessor_config.json", "model.safetensors");

    @TempDir
    Path cache;
    private FakeHub hub;

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub();
        // as facebook/musicgen-small has: its processor's audio feature extractor config
        hub.put("preprocessor_config.json", "{\"feature_extractor_type\": \"EncodecFeatureExtractor\", \"sampling_rate\": 32000}"
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private HubClient client(String token, boolean offline) {
        return new HubClient(new HubConfig(cache, hub.endpoint(), token, offline));
    }

    private HubClient client() {
        return client(null, false);
    }

    private Path repoDir() {
        return cache.resolve("models--facebook--musicgen-tiny");
    }

    private Path weightsBlob() {
        return repoDir().resolve("blobs").resolve(FakeHub.sha256(hub.file("model.safetensors")));
    }

    @Test
    void downloadsIntoTheHuggingFaceCacheLayout() throws IOException {
        List<String> events = new ArrayList<>();
        Path dir = client().resolveModel(REPO, new ProgressListener() {
            @Override
            public void onStart(String file, long totalBytes, long alreadyHave) {
                events.add("start " + file);
            }

            @Override
            public void onDone(String file) {
                events.add("done " + file);
            }
        });

        assertEquals(repoDir().resolve("snapshots").resolve(COMMIT), dir);
        assertEquals(Set.of("blobs", "refs", "snapshots"), names(repoDir()));
        assertEquals(Set.of("main"), names(repoDir().resolve("refs")));
        assertEquals(COMMIT, Files.readString(repoDir().resolve("refs/main")));
        assertEquals(Set.of(COMMIT), names(repoDir().resolve("snapshots")));
        assertEquals(SERVED, names(dir));
        Set<String> blobs = names(repoDir().resolve("blobs"));
        assertEquals(SERVED.size(), blobs.size());
        for (String file : SERVED) {
            Path link = dir.resolve(file);
            assertTrue(Files.isSymbolicLink(link), file);
            byte[] served = hub.file(file);
            String etag = file.endsWith(".safetensors") ? FakeHub.sha256(served) : FakeHub.gitSha1(served);
            assertEquals(Path.of("..", "..", "blobs", etag), Files.readSymbolicLink(link));
            assertArrayEquals(served, Files.readAllBytes(link));
            assertTrue(events.contains("start " + file) && events.contains("done " + file), file);
        }
        try (ModelFolder folder = ModelFolder.open(dir)) {
            String name = folder.store().names().iterator().next();
            assertEquals(folder.store().entry(name).numel(), folder.store().tensor(name).numel());
            assertEquals(folder.config().path("model_type").asText(), "musicgen");
        }
        assertTrue(hub.requests("GET").stream().anyMatch(r -> r.path().startsWith("/cdn/")), "weights come from the CDN");
    }

    @Test
    void aSecondResolveDownloadsNothing() {
        Path first = client().resolveModel(REPO, ProgressListener.NONE);
        hub.requests.clear();

        assertEquals(first, client().resolveModel(REPO, ProgressListener.NONE));
        assertEquals(List.of(), hub.requests("GET"));
        assertEquals(1, hub.requests("HEAD").size(), "one HEAD finds the commit; its snapshot is complete");

        assertEquals(first, client(null, true).resolveModel(REPO, ProgressListener.NONE));
        assertEquals(1, hub.requests.size(), "offline asks nothing");
    }

    @Test
    void aCachedCommitNeedsNoRequestsAtAll() {
        Path first = client().resolveModel(REPO + "@" + COMMIT, ProgressListener.NONE);
        assertFalse(Files.exists(repoDir().resolve("refs")), "a commit needs no ref");
        hub.requests.clear();
        assertEquals(first, client().resolveModel(REPO + "@" + COMMIT, ProgressListener.NONE));
        assertEquals(List.of(), hub.requests);
    }

    @Test
    void offlineUsesAWarmCacheAndExplainsAColdOne() {
        BadInputException cold = assertThrows(BadInputException.class, () -> client(null, true).resolveModel(REPO, ProgressListener.NONE));
        assertTrue(cold.getMessage().startsWith(REPO + " is not in the cache (" + repoDir() + ")"), cold.getMessage());
        assertTrue(cold.getMessage().contains("offline") && cold.getMessage().contains("--model /path/to/a/local/folder"), cold.getMessage());
        assertEquals(List.of(), hub.requests);

        Path online = client().resolveModel(REPO, ProgressListener.NONE);
        assertEquals(online, client(null, true).resolveModel(REPO, ProgressListener.NONE));
        assertEquals(online, client(null, true).describe(REPO).orElseThrow().snapshot());
    }

    @Test
    void resumesAPartialDownloadWithARangeRequest() throws IOException {
        byte[] weights = hub.file("model.safetensors");
        int half = weights.length / 2;
        Path blob = weightsBlob();
        Files.createDirectories(blob.getParent());
        Files.write(blob.resolveSibling(blob.getFileName() + ".incomplete"), Arrays.copyOf(weights, half));
        long[] resumedFrom = {-1};

        client().resolveModel(REPO, new ProgressListener() {
            @Override
            public void onStart(String file, long totalBytes, long alreadyHave) {
                if (file.equals("model.safetensors")) resumedFrom[0] = alreadyHave;
            }
        });

        List<FakeHub.Request> cdn = hub.requests("GET").stream().filter(r -> r.path().startsWith("/cdn/")).toList();
        assertEquals(1, cdn.size());
        assertEquals("bytes=" + half + "-", cdn.get(0).range());
        assertEquals(half, resumedFrom[0]);
        assertEquals(FakeHub.sha256(weights), FakeHub.sha256(Files.readAllBytes(blob)));
        assertFalse(Files.exists(blob.resolveSibling(blob.getFileName() + ".incomplete")));
    }

    /** The surefire configuration sets musicgen.hub.stallSeconds=3 so that a stalled body is given up quickly. */
    @Test
    void aStalledDownloadIsGivenUpAndResumedNextRun() throws IOException {
        hub.stall(8000);
        String msg = assertThrows(BadInputException.class, () -> client().resolveModel(REPO, ProgressListener.NONE)).getMessage();
        assertTrue(msg.contains("no data for 3 s") && msg.contains("run again to resume"), msg);
        Path partial = weightsBlob().resolveSibling(weightsBlob().getFileName() + ".incomplete");
        assertTrue(Files.size(partial) > 0, "the bytes received so far are kept");

        hub.stall(0);
        client().resolveModel(REPO, ProgressListener.NONE);
        List<FakeHub.Request> cdn = hub.requests("GET").stream().filter(r -> r.path().startsWith("/cdn/")).toList();
        assertEquals("bytes=" + Files.size(partial.resolveSibling(weightsBlob().getFileName())) / 2 + "-",
                cdn.get(cdn.size() - 1).range(), "resumed where the stalled download stopped");
        assertArrayEquals(hub.file("model.safetensors"), Files.readAllBytes(weightsBlob()));
    }

    @Test
    void startsOverWhenTheServerIgnoresTheRange() throws IOException {
        hub.ignoreRange();
        byte[] weights = hub.file("model.safetensors");
        Path blob = weightsBlob();
        Files.createDirectories(blob.getParent());
        Files.write(blob.resolveSibling(blob.getFileName() + ".incomplete"), Arrays.copyOf(weights, 1000));

        client().resolveModel(REPO, ProgressListener.NONE);

        assertArrayEquals(weights, Files.readAllBytes(blob));
    }

    @Test
    void aCorruptDownloadIsRejectedAndDeleted() throws IOException {
        hub.corrupt("model.safetensors");
        BadInputException e = assertThrows(BadInputException.class, () -> client().resolveModel(REPO, ProgressListener.NONE));
        assertTrue(e.getMessage().startsWith("model.safetensors of " + REPO + ": the download's sha256"), e.getMessage());
        assertTrue(e.getMessage().contains("run again"), e.getMessage());
        try (Stream<Path> blobs = Files.list(repoDir().resolve("blobs"))) {
            assertTrue(blobs.noneMatch(p -> p.getFileName().toString().startsWith(FakeHub.sha256(hub.file("model.safetensors")))));
        }
        assertFalse(Files.exists(repoDir().resolve("snapshots").resolve(COMMIT).resolve("model.safetensors")));
    }

    @Test
    void aCacheThatCannotBeWrittenIsNamed() throws IOException {
        Files.createDirectories(repoDir());
        Files.writeString(repoDir().resolve("blobs"), "not a folder");
        BadInputException e = assertThrows(BadInputException.class, () -> client().resolveModel(REPO, ProgressListener.NONE));
        assertTrue(e.getMessage().startsWith(repoDir().resolve("blobs") + ": cannot write (a file is in the way)"), e.getMessage());
        assertTrue(e.getMessage().contains("HF_HUB_CACHE"), e.getMessage());
    }

    @Test
    void aGatedRepoNeedsTheToken() {
        hub.gate("hf_secret");
        BadInputException e = assertThrows(BadInputException.class, () -> client().resolveModel(REPO, ProgressListener.NONE));
        assertTrue(e.getMessage().startsWith(REPO + " is gated") && e.getMessage().contains("set HF_TOKEN"), e.getMessage());

        Path dir = client("hf_secret", false).resolveModel(REPO, ProgressListener.NONE);
        assertTrue(Files.isRegularFile(dir.resolve("model.safetensors")));
        assertTrue(hub.requests.stream().filter(r -> r.path().contains("/resolve/"))
                .allMatch(r -> r.authorization() == null || r.authorization().equals("Bearer hf_secret")));
    }

    @Test
    void unknownReposAndRevisionsAreNamed() {
        BadInputException repo = assertThrows(BadInputException.class,
                () -> client().resolveModel("facebook/musicgen-nope", ProgressListener.NONE));
        assertTrue(repo.getMessage().startsWith("facebook/musicgen-nope: no such local folder, nor a model on " + hub.endpoint()), repo.getMessage());
        assertTrue(repo.getMessage().contains("HF_TOKEN"), repo.getMessage());

        BadInputException revision = assertThrows(BadInputException.class,
                () -> client().resolveModel(REPO + "@v9", ProgressListener.NONE));
        assertTrue(revision.getMessage().startsWith(REPO + " has no revision 'v9'"), revision.getMessage());
    }

    @Test
    void anUnreachableHubIsExplainedAndAWarmCacheStillServes() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        String nowhere = "http://127.0.0.1:" + closedPort;
        HubClient unreachable = new HubClient(new HubConfig(cache, nowhere, null, false));
        BadInputException e = assertThrows(BadInputException.class, () -> unreachable.resolveModel(REPO, ProgressListener.NONE));
        assertTrue(e.getMessage().contains("not in the cache") && e.getMessage().contains(nowhere + ": connection refused"), e.getMessage());
        assertTrue(e.getMessage().contains("--model /path/to/a/local/folder"), e.getMessage());

        Path online = client().resolveModel(REPO, ProgressListener.NONE);
        assertEquals(online, unreachable.resolveModel(REPO, ProgressListener.NONE));
    }

    @Test
    void optionalFilesMissingOnTheHubAreRemembered() {
        hub.remove("spiece.model");
        Path dir = client().resolveModel(REPO, ProgressListener.NONE);
        assertFalse(Files.exists(dir.resolve("spiece.model")));
        assertTrue(Files.exists(repoDir().resolve(".no_exist").resolve(COMMIT).resolve("spiece.model")));
        hub.requests.clear();
        client().resolveModel(REPO, ProgressListener.NONE);
        assertEquals(1, hub.requests.size(), "only the commit check; spiece.model is not asked again");
    }

    @Test
    void shardedWeightsComeWithTheirIndex() throws IOException {
        byte[] weights = hub.file("model.safetensors");
        hub.remove("model.safetensors");
        hub.put("model-00001-of-00001.safetensors", weights);
        String index;
        try (ModelFolder golden = ModelFolder.open(FakeHub.golden())) {
            index = golden.store().names().stream().map(n -> "\"" + n + "\": \"model-00001-of-00001.safetensors\"")
                    .collect(Collectors.joining(", ", "{\"metadata\": {}, \"weight_map\": {", "}}"));
        } catch (BadInputException e) {
            throw new IllegalStateException("the golden folder should open", e);
        }
        hub.put("model.safetensors.index.json", index.getBytes(StandardCharsets.UTF_8));

        Path dir = client().resolveModel(REPO, ProgressListener.NONE);
        assertTrue(Files.exists(repoDir().resolve(".no_exist").resolve(COMMIT).resolve("model.safetensors")));
        try (ModelFolder folder = ModelFolder.open(dir)) {
            assertEquals(dir.resolve("model-00001-of-00001.safetensors"), folder.store().source(folder.store().names().iterator().next()));
        }
        hub.requests.clear();
        assertEquals(dir, client(null, true).resolveModel(REPO, ProgressListener.NONE));
        assertEquals(List.of(), hub.requests);
    }

    /** Older repos (laion/larger_clap_music) have only pytorch_model.bin: it is downloaded like safetensors and converted. */
    @Test
    void pytorchOnlyReposAreDownloadedAndConverted() throws IOException {
        byte[] bin = Files.readAllBytes(TorchBins.fixture("tensors.bin"));
        hub.put("pytorch_model.bin", bin);
        hub.remove("model.safetensors");
        Path dir = client().resolveModel(REPO, ProgressListener.NONE);
        Path blob = repoDir().resolve("blobs").resolve(FakeHub.sha256(bin));
        assertEquals(blob.toRealPath(), dir.resolve("pytorch_model.bin").toRealPath(), "an LFS blob named by its sha256");
        assertTrue(hub.requests("GET").stream().anyMatch(r -> r.path().equals("/cdn/" + FakeHub.sha256(bin))), "fetched from the CDN");
        for (String absent : List.of("model.safetensors", "model.safetensors.index.json")) {
            assertTrue(Files.exists(repoDir().resolve(".no_exist").resolve(COMMIT).resolve(absent)), absent);
        }
        Map<String, Tensor> expected = Safetensors.readAll(TorchBins.fixture("tensors.expected.safetensors"));
        try (ModelFolder folder = ModelFolder.open(dir)) {
            assertEquals(expected.keySet(), folder.store().names());
            expected.forEach((name, t) -> assertTrue(torch.equal(t, folder.store().tensor(name)), name));
            assertEquals(Caches.root().resolve("converted").resolve(FakeHub.sha256(bin) + ".safetensors"),
                    folder.store().source("dtype.f32"), "converted once, keyed by the blob's name");
        }
        hub.requests.clear();
        client().resolveModel(REPO, ProgressListener.NONE);
        assertEquals(1, hub.requests.size(), "only the commit check: the cache is complete with a .bin");
        hub.requests.clear();
        assertEquals(dir, client(null, true).resolveModel(REPO, ProgressListener.NONE));
        assertEquals(List.of(), hub.requests, "offline, the cached .bin is the weights");
    }

    @Test
    void reposWithoutWeightsAreRefusedNamingWhatWasLookedFor() {
        hub.remove("model.safetensors");
        BadInputException e = assertThrows(BadInputException.class, () -> client().resolveModel(REPO, ProgressListener.NONE));
        assertTrue(e.getMessage().startsWith(REPO + " has no model.safetensors, model.safetensors.index.json or pytorch_model.bin"),
                e.getMessage());
    }

    @Test
    void aRenamedRepoIsFollowed() {
        hub.renamedFrom("facebook/musicgen-old");
        Path dir = client().resolveModel("facebook/musicgen-old", ProgressListener.NONE);
        assertEquals(cache.resolve("models--facebook--musicgen-old/snapshots").resolve(COMMIT), dir);
        assertTrue(Files.isRegularFile(dir.resolve("model.safetensors")));
    }

    @Test
    void localFoldersAreUsedAsTheyAre() {
        Path golden = FakeHub.golden();
        assertEquals(golden, client().resolveModel(golden.toString(), ProgressListener.NONE));
        assertEquals(List.of(), hub.requests);

        String missing = cache.resolve("no/such/model").toString();
        BadInputException e = assertThrows(BadInputException.class, () -> client().resolveModel(missing, ProgressListener.NONE));
        assertTrue(e.getMessage().startsWith(missing + ": no such folder"), e.getMessage());
        assertThrows(BadInputException.class, () -> client().resolveModel("./models/musicgen", ProgressListener.NONE));
        assertEquals(List.of(), hub.requests);
    }

    private static Set<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }
}
