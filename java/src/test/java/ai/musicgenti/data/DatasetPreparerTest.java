package ai.musicgenti.data;

import ai.musicgenti.audio.Wav;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.models.EnCodec;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The preparer in-process on fixture clips, with the golden 50 Hz / 32 kHz EnCodec and 0.5 s (25-frame) fragments. */
class DatasetPreparerTest {
    static final double SECONDS = 0.5;
    static final int FRAMES = 25;
    private static ModelFolder folder;
    private static EnCodec codec;
    private static int codebooks;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        folder = ModelFolder.open(goldenModel());
        codec = new EnCodec(EnCodec.Config.fromJson(folder.config().path("audio_encoder")), folder.weights(Compute.cpu()).pp("audio_encoder"));
        codebooks = folder.config().path("decoder").path("num_codebooks").asInt();
    }

    @AfterAll
    static void close() {
        folder.close();
    }

    static Path goldenModel() {
        return Golden.root().resolve("musicgen_50hz");
    }

    /** A tone with a little noise, so that the codes vary from frame to frame. */
    static float[][] tone(int rate, int channels, double seconds, double hz, long seed) {
        Random random = new Random(seed);
        int n = (int) Math.round(seconds * rate);
        float[][] out = new float[channels][n];
        for (int c = 0; c < channels; c++) {
            for (int i = 0; i < n; i++) {
                out[c][i] = (float) (0.4 * Math.sin(2 * Math.PI * hz * (c + 1) * i / rate) + 0.05 * random.nextGaussian());
            }
        }
        return out;
    }

    /** alpha: 3 good clips (7 fragments) and 3 bad ones; beta: 2 good clips (4 fragments); empty: nothing. */
    static Path fixture(Path root) throws IOException {
        Path alpha = root.resolve("alpha"), beta = root.resolve("beta");
        Wav.write(alpha.resolve("song one.wav"), tone(44_100, 2, 1.3, 220, 1), 44_100, Wav.Format.PCM16);
        Wav.write(alpha.resolve("sóng ü 2.wav"), tone(48_000, 1, 1.0, 330, 2), 48_000, Wav.Format.PCM16);
        Wav.write(alpha.resolve("live/three.wav"), tone(22_050, 4, 1.6, 150, 3), 22_050, Wav.Format.PCM16);
        Wav.write(alpha.resolve("quiet.wav"), new float[1][32_000], 32_000, Wav.Format.PCM16);
        Wav.write(alpha.resolve("short.wav"), tone(32_000, 1, 0.2, 440, 4), 32_000, Wav.Format.PCM16);
        byte[] junk = new byte[4096];
        new Random(5).nextBytes(junk);
        Files.write(alpha.resolve("broken.mp3"), junk);
        Files.writeString(alpha.resolve("notes.txt"), "not audio");
        Wav.write(beta.resolve("b1.wav"), tone(37_800, 1, 1.1, 500, 6), 37_800, Wav.Format.FLOAT32);
        Wav.write(beta.resolve("b2.wav"), tone(32_000, 2, 1.0, 600, 7), 32_000, Wav.Format.PCM16);
        Files.createDirectories(root.resolve("empty"));
        return root;
    }

    DatasetPreparer preparer(DatasetPreparer.Last last, DatasetPreparer.Listener listener) {
        return new DatasetPreparer(codec, codebooks, new DatasetPreparer.Settings("golden/musicgen_50hz", null, SECONDS, last, 0.34, 0, 3, "test"),
                listener);
    }

    DatasetPreparer.Report prepare(Path root, Path ds) throws IOException {
        return preparer(DatasetPreparer.Last.DROP, new DatasetPreparer.Listener() {
        }).prepare(root, ds);
    }

    @Test
    void preparesFragmentsWhoseCodesAreTheirOwnAudios() throws IOException {
        Path root = fixture(tmp.resolve("clips")), ds = tmp.resolve("ds");
        DatasetPreparer.Report report = prepare(root, ds);

        assertEquals(5, report.preparedSources());
        assertEquals(11, report.newFragments());
        Map<String, String> skipped = report.skipped().stream().collect(Collectors.toMap(DatasetPreparer.Skip::file, DatasetPreparer.Skip::reason));
        assertEquals(Set.of("alpha/broken.mp3", "alpha/quiet.wav", "alpha/short.wav", "empty/"), skipped.keySet());
        assertTrue(skipped.get("alpha/quiet.wav").startsWith("silent"), skipped.toString());
        assertTrue(skipped.get("alpha/short.wav").contains("shorter than one fragment"), skipped.toString());
        assertTrue(skipped.get("empty/").contains("empty concept folder"), skipped.toString());

        PreparedDataset dataset = PreparedDataset.open(ds);
        DatasetInfo info = dataset.info();
        assertEquals(32_000, info.sampleRate());
        assertEquals(50.0, info.frameRate());
        assertEquals(codebooks, info.codebooks());
        assertEquals(FRAMES, info.fragmentFrames());
        assertEquals("golden/musicgen_50hz", info.model());
        assertEquals(List.of("alpha", "beta"), dataset.concepts());
        assertEquals(List.of(new DatasetInfo.Concept("alpha", 3, info.concepts().get(0).trainFragments(), 7 - info.concepts().get(0).trainFragments()),
                new DatasetInfo.Concept("beta", 2, 2, 2)), info.concepts());

        List<Fragment> all = Stream.concat(dataset.train().stream(), dataset.valid().stream()).toList();
        assertEquals(11, all.size());
        Map<String, Integer> perSource = new HashMap<>();
        all.forEach(f -> perSource.merge(f.source(), 1, Integer::sum));
        assertEquals(Map.of("alpha/song one.wav", 2, "alpha/sóng ü 2.wav", 2, "alpha/live/three.wav", 3, "beta/b1.wav", 2, "beta/b2.wav", 2), perSource);
        for (Fragment f : all) {
            assertEquals(FRAMES, f.frames());
            assertEquals(0, f.paddedSamples());
            assertEquals(SECONDS, f.seconds());
            assertEquals(64, f.sourceSha256().length());
            Wav.Audio audio = Wav.read(dataset.audio(f));
            assertEquals(1, audio.channelCount());
            assertEquals(32_000, audio.sampleRate());
            assertEquals(16_000, audio.frames());
            try (PointerScope scope = new PointerScope()) {
                var codes = dataset.codes(f);
                assertArrayEquals(new long[]{codebooks, FRAMES}, codes.shape());
                long[] own = Tensors.toLongs(codec.encode(Tensors.floats(audio.channels()[0], 1, 1, 16_000)).narrow(1, 0, codebooks));
                assertArrayEquals(own, Tensors.toLongs(codes), f.id() + ": codes are not those of its own audio");
            }
        }
        assertEquals(List.of(0.0, 0.5, 1.0), all.stream().filter(f -> f.source().equals("alpha/live/three.wav")).map(Fragment::offsetSeconds).toList());

        Set<String> trainSources = dataset.train().stream().map(Fragment::source).collect(Collectors.toSet());
        Set<String> validSources = dataset.valid().stream().map(Fragment::source).collect(Collectors.toSet());
        assertEquals(2, validSources.size(), "one held-out clip per concept");
        assertTrue(trainSources.stream().noneMatch(validSources::contains), "a clip on both sides");
        assertEquals(Set.of("alpha", "beta"), dataset.train().stream().map(Fragment::concept).collect(Collectors.toSet()));
        assertNoPartFiles(ds);
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void everyEntryOfAConceptThatIsNotPreparedIsReportedWithItsReasonAndNoneHangs() throws Exception {
        Path root = fixture(tmp.resolve("clips")), alpha = root.resolve("alpha");
        // read, /dev/zero never ends and a pipe never opens
        Files.createSymbolicLink(alpha.resolve("zero.wav"), Path.of("/dev/zero"));
        Path pipe = alpha.resolve("pipe.wav");
        assertEquals(0, new ProcessBuilder("mkfifo", pipe.toString()).inheritIO().start().waitFor());
        Files.createSymbolicLink(alpha.resolve("to-pipe.wav"), pipe);
        Files.createSymbolicLink(alpha.resolve("borrowed.wav"), root.resolve("beta/b1.wav"));
        Files.createSymbolicLink(alpha.resolve("gone.wav"), alpha.resolve("deleted.wav"));
        Files.createSymbolicLink(alpha.resolve("again"), alpha.resolve("live"));

        DatasetPreparer.Report report = prepare(root, tmp.resolve("ds"));

        Map<String, String> skipped = report.skipped().stream().collect(Collectors.toMap(DatasetPreparer.Skip::file, DatasetPreparer.Skip::reason));
        assertEquals(Set.of("alpha/broken.mp3", "alpha/quiet.wav", "alpha/short.wav", "empty/", "alpha/zero.wav", "alpha/pipe.wav",
                "alpha/to-pipe.wav", "alpha/borrowed.wav", "alpha/gone.wav", "alpha/again"), skipped.keySet());
        assertTrue(skipped.get("alpha/zero.wav").contains("outside the concept folder"), skipped.toString());
        assertTrue(skipped.get("alpha/borrowed.wav").contains("outside the concept folder"), skipped.toString());
        assertTrue(skipped.get("alpha/pipe.wav").startsWith("not a regular file"), skipped.toString());
        assertTrue(skipped.get("alpha/to-pipe.wav").startsWith("not a regular file"), skipped.toString());
        assertTrue(skipped.get("alpha/gone.wav").startsWith("a link to nothing"), skipped.toString());
        assertTrue(skipped.get("alpha/again").startsWith("a link to a folder"), skipped.toString());
        assertEquals(5, report.preparedSources());
    }

    @Test
    void aSecondRunOnTheSameInstanceReportsOnlyItsOwnWork() throws IOException {
        Path root = fixture(tmp.resolve("clips")), ds = tmp.resolve("ds");
        DatasetPreparer preparer = preparer(DatasetPreparer.Last.DROP, new DatasetPreparer.Listener() {
        });
        DatasetPreparer.Report first = preparer.prepare(root, ds);
        DatasetPreparer.Report second = preparer.prepare(root, ds);
        assertEquals(first.skipped(), second.skipped());
        assertEquals(0, second.preparedSources());
        assertEquals(5, second.keptSources());
        assertEquals(0, second.newFragments());
    }

    @Test
    void conceptDescriptionsBesideTheFoldersAreCopiedIntoTheDataset() throws IOException {
        Path root = fixture(tmp.resolve("clips")), ds = tmp.resolve("ds");
        Files.writeString(root.resolve(ConceptDescriptions.FILE), "[{\"concept\": \"alpha\", \"description\": \"a low hum\"}]");
        prepare(root, ds);
        assertEquals(java.util.Map.of("alpha", "a low hum"), PreparedDataset.open(ds).descriptions());
        assertTrue(prepare(root, ds).skipped().stream().noneMatch(s -> s.file().contains(ConceptDescriptions.FILE)));
    }

    @Test
    void aConceptOfOneClipHoldsOutTheClipsEnd() throws IOException {
        Path root = tmp.resolve("lone");
        Wav.write(root.resolve("solo/only.wav"), tone(32_000, 1, 2.0, 260, 9), 32_000, Wav.Format.PCM16);
        prepare(root, tmp.resolve("ds"));
        PreparedDataset dataset = PreparedDataset.open(tmp.resolve("ds"));
        assertEquals(List.of(new DatasetInfo.Concept("solo", 1, 3, 1)), dataset.info().concepts());
        assertEquals(List.of(1.5), dataset.valid().stream().map(Fragment::offsetSeconds).toList(), "the last fragment in time");
        assertEquals(List.of(0.0, 0.5, 1.0), dataset.train().stream().map(Fragment::offsetSeconds).sorted().toList());
    }

    @Test
    void splitIsDeterministicAndFollowsTheSeed() throws IOException {
        Path root = fixture(tmp.resolve("clips"));
        prepare(root, tmp.resolve("a"));
        prepare(root, tmp.resolve("b"));
        assertEquals(Files.readString(tmp.resolve("a/metadata_valid.json")), Files.readString(tmp.resolve("b/metadata_valid.json")));
    }

    @Test
    void reRunKeepsPreparedClipsAndRepreparesChangedOnes() throws IOException {
        Path root = fixture(tmp.resolve("clips")), ds = tmp.resolve("ds");
        prepare(root, ds);
        Map<Path, FileTime> times = modified(ds.resolve("fragments"));

        DatasetPreparer.Report again = prepare(root, ds);
        assertEquals(0, again.preparedSources());
        assertEquals(5, again.keptSources());
        assertEquals(0, again.newFragments());
        assertEquals(times, modified(ds.resolve("fragments")), "fragment files were rewritten");

        List<Fragment> oldB2 = fragmentsOf(PreparedDataset.open(ds), "beta/b2.wav");
        Wav.write(root.resolve("beta/b2.wav"), tone(32_000, 1, 1.6, 700, 8), 32_000, Wav.Format.PCM16);
        Wav.write(root.resolve("beta/b3.wav"), tone(32_000, 1, 0.5, 800, 9), 32_000, Wav.Format.PCM16);
        DatasetPreparer.Report changed = prepare(root, ds);
        assertEquals(2, changed.preparedSources());
        assertEquals(4, changed.newFragments());
        List<Fragment> newB2 = fragmentsOf(PreparedDataset.open(ds), "beta/b2.wav");
        assertEquals(3, newB2.size());
        assertNotEquals(oldB2.get(0).sourceSha256(), newB2.get(0).sourceSha256());
        for (Fragment f : oldB2) {
            assertFalse(Files.exists(ds.resolve(f.audio())), "old fragment left behind: " + f.audio());
            assertFalse(Files.exists(ds.resolve(f.codes())), "old codes left behind: " + f.codes());
        }
        assertEquals(13, PreparedDataset.open(ds).train().size() + PreparedDataset.open(ds).valid().size());
    }

    @Test
    void interruptedRunLeavesThePreviousMetadataAndNoPartFiles() throws IOException {
        Path root = fixture(tmp.resolve("clips")), ds = tmp.resolve("ds");
        prepare(root, ds);
        Map<String, String> before = jsonFiles(ds);
        Wav.write(root.resolve("alpha/new.wav"), tone(32_000, 1, 2.0, 900, 10), 32_000, Wav.Format.PCM16);

        int[] written = {0};
        DatasetPreparer crashing = preparer(DatasetPreparer.Last.DROP, new DatasetPreparer.Listener() {
            @Override
            public void fragmentWritten(Fragment fragment) {
                if (++written[0] == 2) throw new IllegalStateException("simulated crash");
            }
        });
        assertThrows(IllegalStateException.class, () -> crashing.prepare(root, ds));
        assertEquals(2, written[0]);
        assertEquals(before, jsonFiles(ds), "metadata changed by an interrupted run");
        assertNoPartFiles(ds);
        assertEquals(11, PreparedDataset.open(ds).train().size() + PreparedDataset.open(ds).valid().size());

        DatasetPreparer.Report resumed = prepare(root, ds);
        assertEquals(1, resumed.preparedSources());
        assertEquals(15, resumed.fragments());
        Set<Path> referenced = new HashSet<>();
        PreparedDataset d = PreparedDataset.open(ds);
        Stream.concat(d.train().stream(), d.valid().stream()).forEach(f -> {
            referenced.add(ds.resolve(f.audio()));
            referenced.add(ds.resolve(f.codes()));
        });
        assertEquals(referenced, modified(ds.resolve("fragments")).keySet(), "unreferenced fragment files remain");
    }

    @Test
    void padKeepsShortClipsAndLastPieces() throws IOException {
        Path root = fixture(tmp.resolve("clips")), ds = tmp.resolve("ds");
        DatasetPreparer.Report report = preparer(DatasetPreparer.Last.PAD, new DatasetPreparer.Listener() {
        }).prepare(root, ds);
        // song one 1.3 s -> 3, sóng 2, three 1.6 s -> 4, short 0.2 s -> 1, b1 1.1 s -> 3, b2 2
        assertEquals(15, report.fragments());
        PreparedDataset dataset = PreparedDataset.open(ds);
        Fragment shortOne = fragmentsOf(dataset, "alpha/short.wav").get(0);
        assertEquals(16_000 - 6_400, shortOne.paddedSamples());
        assertEquals(FRAMES, dataset.codes(shortOne).size(1));
        assertEquals(0, fragmentsOf(dataset, "alpha/sóng ü 2.wav").get(1).paddedSamples());
    }

    @Test
    void otherFragmentLengthIntoTheSameDatasetIsRefused() throws IOException {
        Path root = fixture(tmp.resolve("clips")), ds = tmp.resolve("ds");
        prepare(root, ds);
        DatasetPreparer other = new DatasetPreparer(codec, codebooks,
                new DatasetPreparer.Settings("golden/musicgen_50hz", null, 0.4, DatasetPreparer.Last.DROP, 0.1, 0, 3, "test"), new DatasetPreparer.Listener() {
        });
        var e = assertThrows(ai.musicgenti.core.BadInputException.class, () -> other.prepare(root, ds));
        assertTrue(e.getMessage().contains("--fragment-seconds 0.5"), e.getMessage());
    }

    @Test
    void rootWithoutConceptFoldersIsBadInput() throws IOException {
        Path root = Files.createDirectories(tmp.resolve("flat"));
        var e = assertThrows(ai.musicgenti.core.BadInputException.class, () -> prepare(root, tmp.resolve("ds")));
        assertTrue(e.getMessage().contains(root.toString()) && e.getMessage().contains("<root>/<concept>/"), e.getMessage());
        var missing = assertThrows(ai.musicgenti.core.BadInputException.class, () -> prepare(tmp.resolve("nope"), tmp.resolve("ds")));
        assertTrue(missing.getMessage().contains("nope"), missing.getMessage());
    }

    static List<Fragment> fragmentsOf(PreparedDataset d, String source) {
        return Stream.concat(d.train().stream(), d.valid().stream()).filter(f -> f.source().equals(source)).toList();
    }

    static Map<Path, FileTime> modified(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            Map<Path, FileTime> out = new HashMap<>();
            for (Path p : s.filter(Files::isRegularFile).toList()) out.put(p, Files.getLastModifiedTime(p));
            return out;
        }
    }

    static Map<String, String> jsonFiles(Path ds) throws IOException {
        Map<String, String> out = new HashMap<>();
        for (String name : List.of("dataset.json", "metadata_train.json", "metadata_valid.json")) out.put(name, Files.readString(ds.resolve(name)));
        return out;
    }

    static void assertNoPartFiles(Path ds) throws IOException {
        try (Stream<Path> s = Files.walk(ds)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().endsWith(".part")).toList());
        }
    }
}
