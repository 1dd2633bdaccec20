package ai.musicgenti.cli;

import ai.musicgenti.audio.Wav;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.golden.GoldenCase;
import ai.musicgenti.hub.FakeHub;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The launcher end to end, as a user runs it: a separate JVM with its own environment, the tiny 50 Hz golden model
 * served over loopback as a hub repo, WAV files out.
 */
class GenerateCommandTest {
    private static final String PROMPT = "calm piano";
    private static GoldenCase golden;
    private static FakeHub hub;
    @TempDir
    static Path tmp;
    private static Path cache;

    @BeforeAll
    static void serve() throws IOException {
        golden = Golden.firstOfKind("musicgen_generate");
        hub = new FakeHub(golden.dir());
        cache = tmp.resolve("hf-cache");
    }

    @AfterAll
    static void stop() {
        hub.close();
    }

    static Map<String, String> online() {
        return Map.of("HF_HUB_CACHE", cache.toString(), "HF_ENDPOINT", hub.endpoint());
    }

    static Map<String, String> offline() {
        Map<String, String> env = new HashMap<>(online());
        env.put("HF_HUB_OFFLINE", "1");
        return env;
    }

    /** Greedy CFG generation through the CLI gives the reference's codes and audio for the golden prompt. */
    @Test
    void greedyGenerationFromTheHubReproducesTheReference() throws Exception {
        double seconds = golden.io("gen.audio_codes").size(2) / 50.0;
        Path wav = tmp.resolve("calm.wav");
        Cli.Run r = Cli.process(online(), "generate", "--model", FakeHub.REPO, "--prompt", PROMPT, "--greedy", "--cfg", "3",
                "--duration", Double.toString(seconds), "--format", "float", "--save-codes", "--out", wav.toString());
        assertEquals(0, r.code(), r.err());
        Tensor codes = Safetensors.readAll(tmp.resolve("calm.codes.safetensors")).get("codes");
        assertArrayEquals(Tensors.toLongs(golden.io("gen.audio_codes")), Tensors.toLongs(codes), "codes differ from the reference");

        Wav.Audio audio = Wav.read(wav);
        assertEquals(32000, audio.sampleRate());
        float[] expected = Tensors.toFloats(golden.io("gen.audio_values"));
        assertEquals(expected.length, audio.frames());
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], audio.channels()[0][i], 1e-4, "sample " + i);

        // the same from the cache with the hub unreachable by policy, and no request at all
        int requests = hub.requests.size();
        Path again = tmp.resolve("again.wav");
        Cli.Run offline = Cli.process(offline(), "generate", "--model", FakeHub.REPO, "--prompt", PROMPT, "--greedy",
                "--duration", Double.toString(seconds), "--out", again.toString());
        assertEquals(0, offline.code(), offline.err());
        assertEquals(requests, hub.requests.size(), "offline run talked to the hub");
        assertPlayable(again, 32000, expected.length);

        // online again: metadata only, no second download
        int blobs = hub.requests("GET").size();
        Cli.Run online = Cli.process(online(), "generate", "--model", FakeHub.REPO, "--prompt", PROMPT, "--duration", "0.5",
                "--seed", "1", "--out", tmp.resolve("sampled.wav").toString());
        assertEquals(0, online.code(), online.err());
        assertEquals(blobs, hub.requests("GET").size(), "second run downloaded again");
        assertPlayable(tmp.resolve("sampled.wav"), 32000, 25 * 640);
    }

    @Test
    void severalPromptsAndABatchGoToAFolder() throws Exception {
        Path prompts = tmp.resolve("prompts.txt");
        Files.writeString(prompts, "# a comment\nslow piano\n\nfast drums\n", StandardCharsets.UTF_8);
        Path dir = tmp.resolve("many");
        Cli.Run r = Cli.process(online(), "generate", "--model", golden.dir().toString(), "--prompts-file", prompts.toString(),
                "--batch", "2", "--duration", "0.3", "--seed", "5", "--out", dir.toString());
        assertEquals(0, r.code(), r.err());
        for (String name : List.of("slow-piano_1", "slow-piano_2", "fast-drums_1", "fast-drums_2")) {
            assertPlayable(dir.resolve(name + ".wav"), 32000, 15 * 640);
        }
        assertTrue(!Files.readAllBytes(dir.resolve("slow-piano_1.wav")).equals(Files.readAllBytes(dir.resolve("slow-piano_2.wav"))));
    }

    @Test
    void continuesAnAudioPrompt() throws Exception {
        Path clip = tmp.resolve("clip.wav");
        float[] samples = Tensors.toFloats(golden.io("enc.input_values"));
        Wav.write(clip, new float[][]{java.util.Arrays.copyOf(samples, 32000 / 2)}, 32000, Wav.Format.FLOAT32);
        Path wav = tmp.resolve("continued.wav");
        Cli.Run r = Cli.process(Map.of(), "generate", "--model", golden.dir().toString(), "--prompt", PROMPT, "--audio-prompt", clip.toString(),
                "--duration", "1.0", "--seed", "3", "--out", wav.toString());
        assertEquals(0, r.code(), r.err());
        assertPlayable(wav, 32000, 50 * 640);

        // the audio prompt goes through the decoder as many positions at once, here on packed F16 weights
        Path packed = tmp.resolve("continued-f16w.wav");
        Cli.Run f16w = Cli.process(Map.of(), "generate", "--model", golden.dir().toString(), "--prompt", PROMPT, "--audio-prompt", clip.toString(),
                "--duration", "1.0", "--seed", "3", "--dtype", "f16w", "--out", packed.toString());
        assertEquals(0, f16w.code(), f16w.err());
        assertPlayable(packed, 32000, 50 * 640);
        // libtorch's notes to its developers (fbgemm's F16 ops are deprecated, NNPACK unsupported) only with --verbose
        assertTrue(!f16w.err().contains("deprecated") && !f16w.err().contains("NNPACK"), f16w.err());
        Cli.Run verbose = Cli.process(Map.of(), "generate", "--verbose", "--model", golden.dir().toString(), "--prompt", PROMPT,
                "--duration", "0.2", "--seed", "3", "--dtype", "f16w", "--out", tmp.resolve("verbose.wav").toString());
        assertEquals(0, verbose.code(), verbose.err());
        assertTrue(verbose.err().contains("fbgemm_pack_gemm_matrix_fp16 is deprecated"), verbose.err());
    }

    @Test
    void badInputIsOneLineExitOne(@TempDir Path dir) throws Exception {
        Path model = golden.dir();
        String[] base = {"generate", "--model", model.toString(), "--prompt", PROMPT};

        expectUserError(Cli.process(offline(), "generate", "--model", "nobody/not-cached", "--prompt", PROMPT), "nobody/not-cached", "--model /path");
        expectUserError(Cli.process(Map.of(), concat(base, "--duration", "0")), "--duration", "positive");
        expectUserError(Cli.process(Map.of(), concat(base, "--duration", "-2")), "--duration", "positive");
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        expectUserError(Cli.process(Map.of(), concat(base, "--duration", "0.2", "--out", file.resolve("x.wav").toString())), "a-file", "--out");
        Path text = Files.writeString(dir.resolve("notes.wav"), "not audio at all");
        expectUserError(Cli.process(Map.of(), concat(base, "--duration", "0.2", "--audio-prompt", text.toString(), "--out", dir.resolve("o.wav").toString())), "notes.wav", "");

        Path broken = copyModel(dir.resolve("broken"));
        byte[] weights = Files.readAllBytes(broken.resolve("weights.safetensors"));
        Files.write(broken.resolve("weights.safetensors"), java.util.Arrays.copyOf(weights, weights.length / 2));
        expectUserError(Cli.process(Map.of(), "generate", "--model", broken.toString(), "--prompt", PROMPT, "--out", dir.resolve("b.wav").toString()),
                "weights.safetensors", "truncated");

        Path mismatch = copyModel(dir.resolve("mismatch"));
        String config = Files.readString(mismatch.resolve("config.json")).replaceFirst("\"ffn_dim\": *\\d+", "\"ffn_dim\": 96");
        Files.writeString(mismatch.resolve("config.json"), config);
        expectUserError(Cli.process(Map.of(), "generate", "--model", mismatch.toString(), "--prompt", PROMPT, "--out", dir.resolve("m.wav").toString()),
                "fc1.weight", "config.json");
    }

    private static void expectUserError(Cli.Run r, String mention, String fix) {
        assertEquals(1, r.code(), "expected a user error, got " + r.code() + ": " + r.err());
        String line = r.errLine();
        assertTrue(line.contains(mention) && line.contains(fix), "error should name '" + mention + "' and '" + fix + "': " + r.err());
        assertTrue(!r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
    }

    private static void assertPlayable(Path wav, int rate, int samples) {
        Wav.Audio a = Wav.read(wav);
        assertEquals(rate, a.sampleRate());
        assertEquals(samples, a.frames(), wav + " length");
        double energy = 0;
        for (float v : a.channels()[0]) {
            assertTrue(Float.isFinite(v));
            energy += v * v;
        }
        assertTrue(energy > 0, wav + " is silent");
    }

    private static Path copyModel(Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(golden.dir())) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().equals("io.safetensors")) Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
