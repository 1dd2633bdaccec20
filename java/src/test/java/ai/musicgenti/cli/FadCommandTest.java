package ai.musicgenti.cli;

import ai.musicgenti.audio.Wav;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.TorchBins;
import ai.musicgenti.eval.ClapEmbedder;
import ai.musicgenti.eval.ClapWindows;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.hub.FakeHub;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `fad` on the tiny golden CLAP model: identical sets score 0, a different set scores higher, the cache is reused. */
class FadCommandTest {
    private static final Pattern FAD = Pattern.compile("(?m)^fad ([0-9.eE+-]+)");

    @Test
    void comparesFoldersAndReusesItsCache(@TempDir Path dir) throws Exception {
        String clap = Golden.firstOfKind("clap_audio").dir().toString();
        Path tones = clips(dir.resolve("tones"), false, 1), copy = clips(dir.resolve("copy"), false, 1);
        Path noise = clips(dir.resolve("noise"), true, 2);
        String cache = dir.resolve("cache").toString();

        double same = fad(Cli.run("fad", tones.toString(), copy.toString(), "--windows", "single", "--clap", clap, "--cache", cache, "--device", "cpu"));
        assertEquals(0.0, same, 1e-6, "a folder against an identical copy");
        long cached;
        try (var files = Files.walk(dir.resolve("cache"))) {
            cached = files.filter(Files::isRegularFile).count();
        }
        assertEquals(8, cached, "one cache entry per distinct file content");

        Path stats = dir.resolve("tones-stats.safetensors");
        Cli.Run r = Cli.run("fad", tones.toString(), noise.toString(), "--windows", "single", "--clap", clap, "--cache", cache,
                "--save-stats", stats.toString(), "--per-song", "--device", "cpu");
        double different = fad(r);
        assertTrue(different > 1e-3, "tones against noise: " + different);
        assertTrue(r.out().contains("noise-0.wav"), r.out());
        assertTrue(r.err().contains("warning: reference only 8 embeddings"), "8 windows of 32-dim embeddings are too few for a full-rank covariance: " + r.err());
        Cli.Run perSongOfShortClips = Cli.run("fad", noise.toString(), tones.toString(), "--windows", "single", "--clap", clap, "--cache", cache, "--per-song");
        assertEquals(0, perSongOfShortClips.code(), "a song of one window is skipped, not a failure: " + perSongOfShortClips.err());
        assertTrue(perSongOfShortClips.err().contains("warning: --per-song skips tone-0.wav: 1 row"), perSongOfShortClips.err());
        assertTrue(FAD.matcher(perSongOfShortClips.out()).find(), perSongOfShortClips.out());

        double fromStats = fad(Cli.run("fad", stats.toString(), noise.toString(), "--windows", "single", "--clap", clap, "--cache", cache, "--device", "cpu"));
        assertEquals(different, fromStats, 1e-9 * different, "saved reference statistics give the same FAD");

        // a broken file is skipped and listed, as prepare does, instead of ending the run
        Path withBroken = clips(dir.resolve("with-broken"), false, 1);
        Files.writeString(withBroken.resolve("broken.wav"), "not audio");
        Cli.Run skipped = Cli.run("fad", tones.toString(), withBroken.toString(), "--windows", "single", "--clap", clap, "--cache", cache);
        assertEquals(0, skipped.code(), skipped.err());
        assertEquals(0.0, fad(skipped), 1e-6, "the readable files are the tones");
        assertTrue(skipped.err().contains("warning: skipped " + withBroken.resolve("broken.wav")), skipped.err());

        // a WAV where statistics are expected is named as what it is
        Cli.Run wavAsStats = Cli.run("fad", tones.resolve("tone-0.wav").toString(), noise.toString(), "--windows", "single", "--clap", clap, "--cache", cache);
        assertEquals(1, wavAsStats.code());
        assertTrue(wavAsStats.errLine().contains("tone-0.wav: an audio file") && !wavAsStats.err().contains("safetensors file"), wavAsStats.err());

        Cli.Run missing = Cli.run("fad", dir.resolve("nowhere").toString(), noise.toString(), "--windows", "single", "--clap", clap, "--cache", cache);
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("nowhere"), missing.err());
    }

    /**
     * The default, fadtk's windowing: a window every second (a 2 s tone gives 2, a 21 s noise 21), cached apart from
     * single windows, and statistics saved one way refused the other way with the flag to change.
     */
    @Test
    void fadtkWindowingIsTheDefaultAndKeptApart(@TempDir Path dir) throws Exception {
        String clap = Golden.firstOfKind("clap_audio").dir().toString();
        Path tones = clips(dir.resolve("tones"), false, 1), noise = clips(dir.resolve("noise"), true, 2);
        String cache = dir.resolve("cache").toString();
        Path stats = dir.resolve("stats.safetensors");
        Cli.Run r = Cli.run("fad", tones.toString(), noise.toString(), "--clap", clap, "--cache", cache, "--save-stats", stats.toString(),
                "--inf", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("(16 reference and 168 evaluated rows: one CLAP embedding per 10 s window every 1 s, fadtk windowing"), r.out());
        assertTrue(r.out().contains("fadtk score_inf: 25 sizes linspace(500, 168) drawn with replacement"), r.out());
        assertTrue(fad(r) > 1e-3, r.out());

        Cli.Run single = Cli.run("fad", tones.toString(), noise.toString(), "--windows", "single", "--clap", clap, "--cache", cache);
        assertTrue(single.out().contains("(8 reference and 24 evaluated rows"), single.out());
        try (var folders = Files.list(dir.resolve("cache"))) {
            assertEquals(List.of("fadtk", "single"), folders.map(p -> p.getFileName().toString().split("-")[1]).sorted().toList(),
                    "one cache folder per windowing");
        }
        Cli.Run refused = Cli.run("fad", stats.toString(), noise.toString(), "--windows", "single", "--clap", clap, "--cache", cache);
        assertEquals(1, refused.code());
        assertTrue(refused.errLine().contains("(fadtk windows)") && refused.errLine().contains("--windows"), refused.err());
        Cli.Run badMode = Cli.run("fad", tones.toString(), noise.toString(), "--windows", "overlap", "--clap", clap);
        assertEquals(1, badMode.code());
        assertTrue(badMode.errLine().contains("--windows overlap: use fadtk"), badMode.err());
    }

    /** EnCodec latents need no extra model: one row per 20 ms frame, so even 8 short clips give a full-rank covariance. */
    @Test
    void encodecEmbeddingsNeedNoClap(@TempDir Path dir) throws Exception {
        String codec = Golden.firstOfKind("musicgen_generate").dir().toString();
        Path tones = clips(dir.resolve("tones"), false, 1), copy = clips(dir.resolve("copy"), false, 1);
        Path noise = clips(dir.resolve("noise"), true, 2);
        String[] opts = {"--embedding", "encodec", "--codec", codec, "--cache", dir.resolve("cache").toString(), "--device", "cpu"};
        Cli.Run same = Cli.run(TrainCommandTest.concat(new String[]{"fad", tones.toString(), copy.toString()}, opts));
        assertEquals(0.0, fad(same), 1e-9);
        assertTrue(!same.err().contains("warning"), "800 frames of 16-dim latents are plenty: " + same.err());
        assertTrue(same.out().contains("800 reference and 800 evaluated rows"), same.out());
        assertTrue(fad(Cli.run(TrainCommandTest.concat(new String[]{"fad", tones.toString(), noise.toString()}, opts))) > 1e-4);
        assertEquals(1, Cli.run("fad", tones.toString(), noise.toString(), "--embedding", "mfcc").code());
    }

    private static double fad(Cli.Run r) {
        assertEquals(0, r.code(), r.err());
        Matcher m = FAD.matcher(r.out());
        assertTrue(m.find(), r.out());
        return Double.parseDouble(m.group(1));
    }

    /**
     * Eight clips at 44.1 kHz: 2 s tones of different pitches (one 10 s window each), or 21 s of noise of different
     * loudness (three windows each, enough for a per-song FAD).
     */
    @Test
    void clapScoreOfAFolderAgainstTexts(@TempDir Path dir) throws Exception {
        Path clap = EvalCommandTest.clapWithTokenizer(Golden.firstOfKind("clap_audio").dir(), dir.resolve("clap"));
        Path tones = clips(dir.resolve("tones"), false, 1);
        List<String> texts = List.of("a low calm hum", "bright whistle music");
        Cli.Run r = Cli.run("clap-score", tones.toString(), "--text", texts.get(0), "--text", texts.get(1), "--per-file",
                "--clap", clap.toString(), "--cache", dir.resolve("cache").toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        // the same numbers from the library in this JVM: each text's mean cosine over the files, each file one embedding
        // (the mean of its windows: a 2 s tone has 2 fadtk windows, the default)
        try (ClapEmbedder embedder = ClapEmbedder.load(clap, ClapWindows.FADTK, Compute.cpu(), dir.resolve("cache2"))) {
            float[][] rows = embedder.embedTexts(texts);
            List<float[]> perFile = new ArrayList<>();
            for (Path f : ai.musicgenti.audio.AudioDecoder.audioFiles(tones)) perFile.add(ClapEmbedder.clipEmbedding(embedder.embed(f)));
            for (int t = 0; t < texts.size(); t++) {
                double sum = 0;
                for (float[] w : perFile) {
                    for (int i = 0; i < w.length; i++) sum += (double) rows[t][i] * w[i];
                }
                Matcher m = Pattern.compile("(?m)^clap-score ([0-9.-]+)  \"" + texts.get(t) + "\"  \\(8 files, 16 windows: one CLAP embedding per 10 s"
                        + " window every 1 s").matcher(r.out());
                assertTrue(m.find(), r.out());
                assertEquals(sum / perFile.size(), Double.parseDouble(m.group(1)), 1e-4, r.out());
            }
            assertEquals(2 * 8, r.out().lines().filter(l -> l.matches("\\s+-?[0-9.]+\\s+tone-[0-9]\\.wav")).count(), r.out());
            assertTrue(rows[0][0] != rows[1][0], "different texts, different embeddings");
        }
        // the same CLAP served as a hub repo: the download brings the feature extractor config and the tokenizer too
        try (FakeHub hub = new FakeHub(clap, "laion/tiny-clap")) {
            Cli.Run viaHub = Cli.process(Map.of("HF_HUB_CACHE", dir.resolve("hf").toString(), "HF_ENDPOINT", hub.endpoint()),
                    "clap-score", tones.toString(), "--text", texts.get(0), "--clap", "laion/tiny-clap",
                    "--cache", dir.resolve("cache3").toString(), "--device", "cpu");
            assertEquals(0, viaHub.code(), viaHub.err());
            assertEquals(r.out().lines().findFirst().orElseThrow().replace(clap.toString(), "laion/tiny-clap"),
                    viaHub.out().lines().findFirst().orElseThrow());
        }
        // laion/larger_clap_music, the default, has only a pytorch_model.bin: a repo like it gives the same scores
        Path binOnly = Files.createDirectories(dir.resolve("clap-bin"));
        for (String f : List.of("config.json", "preprocessor_config.json", "tokenizer.json")) Files.copy(clap.resolve(f), binOnly.resolve(f));
        TorchBins.clapAudioBin(binOnly.resolve("pytorch_model.bin"));
        try (FakeHub hub = new FakeHub(binOnly, "laion/tiny-clap-bin")) {
            Cli.Run viaBin = Cli.process(Map.of("HF_HUB_CACHE", dir.resolve("hf").toString(), "HF_ENDPOINT", hub.endpoint(),
                            "MUSICGEN_TI_CACHE", dir.resolve("musicgen-ti").toString()),
                    "clap-score", tones.toString(), "--text", texts.get(0), "--clap", "laion/tiny-clap-bin",
                    "--cache", dir.resolve("cache4").toString(), "--device", "cpu");
            assertEquals(0, viaBin.code(), viaBin.err());
            assertEquals(r.out().lines().findFirst().orElseThrow().replace(clap.toString(), "laion/tiny-clap-bin"),
                    viaBin.out().lines().findFirst().orElseThrow());
            try (var converted = Files.list(dir.resolve("musicgen-ti/converted"))) {
                assertEquals(1, converted.filter(p -> p.toString().endsWith(".safetensors")).count(), "converted once into the cache");
            }
        }
        Cli.Run single = Cli.run("clap-score", tones.toString(), "--text", texts.get(0), "--windows", "single", "--clap", clap.toString(),
                "--cache", dir.resolve("cache").toString(), "--device", "cpu");
        assertEquals(0, single.code(), single.err());
        assertTrue(single.out().contains("(8 files, 8 windows: one CLAP embedding per 10 s window (48000 Hz"), single.out());
        Cli.Run badWindows = Cli.run("clap-score", tones.toString(), "--text", "x", "--windows", "hop", "--clap", clap.toString());
        assertEquals(1, badWindows.code());
        assertEquals(1, badWindows.err().strip().lines().count(), badWindows.err());
        assertTrue(badWindows.err().contains("--windows hop: use fadtk"), badWindows.err());
        Cli.Run missing = Cli.run("clap-score", dir.resolve("nope").toString(), "--text", "x", "--clap", clap.toString());
        assertEquals(1, missing.code());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
        assertTrue(missing.err().contains("nope"), missing.err());
    }

    private static Path clips(Path dir, boolean noise, long seed) throws Exception {
        Random rng = new Random(seed);
        for (int i = 0; i < 8; i++) {
            float[] x = new float[noise ? 21 * 44100 : 88200];
            for (int n = 0; n < x.length; n++) {
                x[n] = noise ? (float) ((0.1 + 0.05 * i) * rng.nextGaussian())
                        : (float) (0.3 * Math.sin(2 * Math.PI * (200 + 150 * i) * n / 44100.0));
            }
            Wav.write(dir.resolve((noise ? "noise-" : "tone-") + i + ".wav"), new float[][]{x}, 44100, Wav.Format.PCM16);
        }
        return dir;
    }
}
