package ai.musicgenti.data;

import ai.musicgenti.audio.AudioDecoder;
import ai.musicgenti.audio.Wav;
import ai.musicgenti.core.AtomicFiles;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Caches;
import ai.musicgenti.core.CodesFile;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.models.EnCodec;
import ai.musicgenti.concepts.ConceptPrompts;
import org.bytedeco.javacpp.PointerScope;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Turns {@code <root>/<concept>/**} audio clips into a {@link PreparedDataset}: decode to mono at the codec's rate,
 * cut into fixed-length fragments, encode them with EnCodec in batches, write each fragment's WAV and codes, then
 * the metadata.
 *
 * <p>Re-runs are incremental: a clip whose content hash is already in the metadata is kept as it is; a changed clip
 * gets new fragment files (named by the new hash) and its old ones are deleted once the new metadata is written. Every
 * file is written atomically, and the metadata only after all fragments it lists, at the end of each concept: an
 * interrupted run leaves the previous metadata valid and, at worst, unreferenced fragment files, which the next run
 * deletes.
 *
 * <p>Bad clips (unreadable, not regular files, links leading outside their concept folder, silent, too short,
 * duplicates) are reported to the listener and skipped; only a root that is not a folder of concept folders, or
 * settings that contradict the existing dataset, stop the run.
 */
public final class DatasetPreparer {
    /** Below this peak a clip is taken for silence (or a failed recording), not music. */
    static final double SILENCE_DBFS = -60;

    public enum Last { DROP, PAD }

    /**
     * @param model           recorded in dataset.json ({@code HubClient.canonicalId})
     * @param modelHash       sha256 of the codec's weights, recorded in dataset.json; a re-run must use the same codec
     * @param fragmentSeconds length of every fragment
     * @param last            a clip's last piece shorter than a fragment (and a clip shorter than one): DROP or PAD with zeros
     * @param valFraction     share of each concept's clips held out for validation
     * @param seed            picks which clips are held out
     * @param encodeBatch     fragments per EnCodec call
     * @param tool            recorded in dataset.json
     */
    public record Settings(String model, String modelHash, double fragmentSeconds, Last last, double valFraction, long seed, int encodeBatch, String tool) {
    }

    /** A clip (or folder) left out, and why; file is relative to the root. */
    public record Skip(String file, String reason) {
    }

    /** What a run did: concepts as now in the dataset, clips prepared now, clips kept from before, and what was skipped. */
    public record Report(List<DatasetInfo.Concept> concepts, int preparedSources, int keptSources, int newFragments, List<Skip> skipped) {
        public int fragments() {
            return concepts.stream().mapToInt(c -> c.trainFragments() + c.validFragments()).sum();
        }
    }

    /** Progress events, in order; an exception thrown here stops the run as a crash would. */
    public interface Listener {
        default void conceptStarted(String concept, int audioFiles) {
        }

        /** A clip is finished: prepared, kept from before, or skipped. */
        default void fileDone(String concept, String source) {
        }

        default void fragmentWritten(Fragment fragment) {
        }

        default void skipped(Skip skip) {
        }
    }

    /** One prepared clip and its fragments, in order. */
    private record Source(String path, String sha256, List<Fragment> fragments) {
    }

    /** A fragment waiting for its batch to be encoded. */
    private record Pending(Work work, int index, float[] samples, int paddedSamples) {
    }

    /** A clip whose fragments are being encoded; it joins the dataset when the last one is written. */
    private static final class Work {
        final String concept, path, sha256;
        final Fragment[] fragments;
        int remaining;

        Work(String concept, String path, String sha256, int count) {
            this.concept = concept;
            this.path = path;
            this.sha256 = sha256;
            this.fragments = new Fragment[count];
            this.remaining = count;
        }
    }

    private final EnCodec codec;
    private final int codebooks;
    private final Settings settings;
    private final Listener listener;
    private final int rate;
    private final int fragmentSamples;
    private final int fragmentFrames;

    private Path root;
    private Path dataset;
    private final List<Pending> pending = new ArrayList<>();
    private final List<Source> finished = new ArrayList<>();
    private final List<Skip> skipped = new ArrayList<>();
    private int newFragments;

    /** @param codebooks how many of the codec's codebooks the decoder reads (MusicGen's num_codebooks) */
    public DatasetPreparer(EnCodec codec, int codebooks, Settings settings, Listener listener) {
        if (!(settings.fragmentSeconds() > 0)) throw new BadInputException("--fragment-seconds " + settings.fragmentSeconds() + ": must be positive");
        if (!(settings.valFraction() >= 0 && settings.valFraction() < 1)) {
            throw new BadInputException("--val-fraction " + settings.valFraction() + ": must be at least 0 and below 1");
        }
        if (settings.encodeBatch() < 1) throw new BadInputException("--encode-batch " + settings.encodeBatch() + ": must be at least 1");
        if (codebooks < 1 || codebooks > codec.numCodebooks()) {
            throw new BadInputException("the model's decoder reads " + codebooks + " codebooks but its EnCodec makes " + codec.numCodebooks());
        }
        this.codec = codec;
        this.codebooks = codebooks;
        this.settings = settings;
        this.listener = listener;
        this.rate = codec.samplingRate();
        this.fragmentSamples = (int) Math.round(settings.fragmentSeconds() * rate);
        if (fragmentSamples < codec.hopLength()) {
            throw new BadInputException("--fragment-seconds " + settings.fragmentSeconds() + ": shorter than one codec frame ("
                    + codec.hopLength() + " samples at " + rate + " Hz)");
        }
        this.fragmentFrames = (fragmentSamples + codec.hopLength() - 1) / codec.hopLength();
    }

    /** The concept folders of root, sorted; BadInputException naming root and the expected layout when there are none. */
    public static List<Path> conceptFolders(Path root, Path dataset) {
        String layout = "expected <root>/<concept>/<audio files>, e.g. clips/my-band/song1.mp3";
        if (!Files.isDirectory(root)) throw new BadInputException(root + ": no such folder; " + layout);
        List<Path> concepts;
        try (Stream<Path> s = Files.list(root)) {
            concepts = s.filter(Files::isDirectory).filter(p -> !hidden(p)).filter(p -> !isInside(dataset, p)).sorted().toList();
        } catch (IOException e) {
            throw new BadInputException(root + ": cannot list it (" + e.getMessage() + "); " + layout, e);
        }
        if (concepts.isEmpty()) throw new BadInputException(root + ": contains no concept folders; " + layout);
        // here, before any encoding, rather than when train finds it
        for (Path c : concepts) ConceptPrompts.requireName(c.getFileName().toString(), c + " (rename the folder)");
        return concepts;
    }

    /**
     * All of it in one {@link CpuThreads#libtorch} phase: its only heavy work is EnCodec, and handing the cores
     * back and forth around every batch cost more than the smaller batches took (a pool that just lost the cores
     * still spins on them for a while).
     */
    public Report prepare(Path root, Path dataset) throws IOException {
        try (CpuThreads.Phase threads = CpuThreads.libtorch()) {
            return prepareInPhase(root, dataset);
        }
    }

    private Report prepareInPhase(Path root, Path dataset) throws IOException {
        this.root = root;
        this.dataset = dataset;
        // a run's report is its own, and a run that failed half-way leaves no fragments queued for the next
        pending.clear();
        finished.clear();
        skipped.clear();
        newFragments = 0;
        List<Path> conceptDirs = conceptFolders(root, dataset);
        DatasetInfo previousInfo = Files.exists(dataset.resolve(DatasetFiles.INFO))
                ? DatasetFiles.read(dataset.resolve(DatasetFiles.INFO), DatasetInfo.class) : null;
        if (previousInfo != null && !previousInfo.compatibleWith(info(List.of()))) {
            throw new BadInputException(dataset + " was prepared with --model " + previousInfo.model() + ", --fragment-seconds "
                    + previousInfo.fragmentSeconds() + ", --last " + previousInfo.last().toLowerCase(Locale.ROOT)
                    + "; use the same settings to add clips to it, or give a new --dataset folder");
        }
        Map<String, List<Source>> byConcept = previousSources();
        AtomicFiles.deleteLeftovers(dataset);
        reportLooseFiles();
        Path descriptions = root.resolve(ConceptDescriptions.FILE);
        if (Files.isRegularFile(descriptions)) {
            ConceptDescriptions.write(dataset.resolve(ConceptDescriptions.FILE), ConceptDescriptions.read(descriptions));
        }

        int kept = 0, prepared = 0;
        Set<String> present = new HashSet<>();
        for (Path dir : conceptDirs) {
            String concept = dir.getFileName().toString();
            present.add(concept);
            Map<String, Source> before = new HashMap<>();
            for (Source s : byConcept.getOrDefault(concept, List.of())) before.put(s.sha256(), s);
            List<Path> files = audioFiles(dir);
            if (files.isEmpty()) {
                skip(concept + "/", "empty concept folder: no audio files (" + String.join(", ", AudioDecoder.AUDIO_EXTENSIONS) + ")");
                byConcept.remove(concept);
                continue;
            }
            listener.conceptStarted(concept, files.size());
            List<Source> sources = new ArrayList<>();
            Map<String, String> seen = new HashMap<>();
            for (Path file : files) {
                String path = relative(file);
                String sha = sha256(file);
                if (sha == null) {
                    skip(path, "cannot be read");
                } else if (seen.containsKey(sha)) {
                    skip(path, "same content as " + seen.get(sha));
                } else if (before.containsKey(sha) && filesExist(before.get(sha))) {
                    seen.put(sha, path);
                    sources.add(renamed(before.get(sha), path));
                    kept++;
                } else {
                    seen.put(sha, path);
                    if (cut(concept, path, file, sha)) prepared++;
                    continue;
                }
                listener.fileDone(concept, path);
            }
            encodePending();
            sources.addAll(finished);
            finished.clear();
            sources.sort(Comparator.comparing(Source::path));
            if (sources.isEmpty()) {
                skip(concept + "/", "no clip in this concept could be prepared");
                byConcept.remove(concept);
            } else {
                byConcept.put(concept, sources);
            }
            writeMetadata(byConcept);
        }
        byConcept.keySet().retainAll(present);
        List<DatasetInfo.Concept> concepts = writeMetadata(byConcept);
        deleteUnreferenced(byConcept);
        return new Report(concepts, prepared, kept, newFragments, List.copyOf(skipped));
    }

    /** Decodes a clip and queues its fragments; false (with a skip reported) when the clip gives none. */
    private boolean cut(String concept, String path, Path file, String sha) {
        float[] audio;
        try {
            audio = AudioDecoder.decode(file, rate, true).channels()[0];
        } catch (BadInputException e) {
            skip(path, e.getMessage().replace(file.toString() + ": ", ""));
            listener.fileDone(concept, path);
            return false;
        }
        float peak = 0;
        for (float v : audio) peak = Math.max(peak, Math.abs(v));
        double peakDb = 20 * Math.log10(Math.max(peak, 1e-12));
        if (peakDb < SILENCE_DBFS) {
            skip(path, String.format(Locale.ROOT, "silent (peak %.0f dBFS, below %.0f dBFS)", Math.max(peakDb, -240), SILENCE_DBFS));
            listener.fileDone(concept, path);
            return false;
        }
        int whole = audio.length / fragmentSamples, rest = audio.length % fragmentSamples;
        boolean padLast = rest > 0 && settings.last() == Last.PAD;
        int count = whole + (padLast ? 1 : 0);
        if (count == 0) {
            skip(path, String.format(Locale.ROOT, "shorter than one fragment (%.2f s < %s s); use --last pad to keep it padded with silence",
                    audio.length / (double) rate, settings.fragmentSeconds()));
            listener.fileDone(concept, path);
            return false;
        }
        Work work = new Work(concept, path, sha, count);
        for (int i = 0; i < count; i++) {
            int start = i * fragmentSamples;
            // copyOfRange pads the last piece with zeros
            float[] samples = Arrays.copyOfRange(audio, start, start + fragmentSamples);
            pending.add(new Pending(work, i, samples, Math.max(0, start + fragmentSamples - audio.length)));
            if (pending.size() == settings.encodeBatch()) encodePending();
        }
        return true;
    }

    private void encodePending() {
        if (pending.isEmpty()) return;
        int batch = pending.size();
        float[] flat = new float[batch * fragmentSamples];
        for (int b = 0; b < batch; b++) System.arraycopy(pending.get(b).samples(), 0, flat, b * fragmentSamples, fragmentSamples);
        long[] codes;
        try (PointerScope scope = new PointerScope()) {
            codes = Tensors.toLongs(codec.encode(Tensors.floats(flat, batch, 1, fragmentSamples)));
        }
        int perRow = codec.numCodebooks() * fragmentFrames;
        if (codes.length != batch * perRow) {
            throw new IllegalStateException("EnCodec returned " + codes.length + " codes for " + batch + " x " + perRow);
        }
        List<Pending> done = List.copyOf(pending);
        pending.clear();
        for (int b = 0; b < batch; b++) {
            // a row is [codec codebooks, frames]; the decoder's codebooks are its first rows
            writeFragment(done.get(b), Arrays.copyOfRange(codes, b * perRow, b * perRow + codebooks * fragmentFrames));
        }
    }

    private void writeFragment(Pending p, long[] codes) {
        Work w = p.work();
        String name = w.sha256.substring(0, 16) + "-" + String.format(Locale.ROOT, "%04d", p.index());
        String folder = DatasetFiles.FRAGMENTS + "/" + w.concept + "/";
        Fragment f = new Fragment(w.concept + "/" + name, w.concept, w.path, w.sha256, p.index() * settings.fragmentSeconds(),
                settings.fragmentSeconds(), folder + name + ".wav", folder + name + ".codes.safetensors", fragmentFrames, p.paddedSamples());
        Wav.write(dataset.resolve(f.audio()), new float[][]{p.samples()}, rate, Wav.Format.FLOAT32);
        try {
            CodesFile.write(dataset.resolve(f.codes()), codes, codebooks, fragmentFrames, Map.of("source", w.path, "source_sha256", w.sha256));
        } catch (IOException e) {
            throw new BadInputException("cannot write " + dataset.resolve(f.codes()) + " (" + e.getMessage() + "); check that --dataset is writable and has space", e);
        }
        newFragments++;
        listener.fragmentWritten(f);
        w.fragments[p.index()] = f;
        if (--w.remaining == 0) {
            finished.add(new Source(w.path, w.sha256, List.of(w.fragments)));
            listener.fileDone(w.concept, w.path);
        }
    }

    private Map<String, List<Source>> previousSources() {
        Map<String, Map<String, List<Fragment>>> grouped = new TreeMap<>();
        Stream.concat(DatasetFiles.readFragments(dataset.resolve(DatasetFiles.TRAIN)).stream(),
                        DatasetFiles.readFragments(dataset.resolve(DatasetFiles.VALID)).stream())
                .forEach(f -> grouped.computeIfAbsent(f.concept(), c -> new LinkedHashMap<>())
                        .computeIfAbsent(f.sourceSha256(), h -> new ArrayList<>()).add(f));
        Map<String, List<Source>> out = new TreeMap<>();
        grouped.forEach((concept, bySha) -> bySha.forEach((sha, fragments) -> {
            fragments.sort(Comparator.comparingDouble(Fragment::offsetSeconds));
            out.computeIfAbsent(concept, c -> new ArrayList<>()).add(new Source(fragments.get(0).source(), sha, fragments));
        }));
        return out;
    }

    /** A clip whose fragment files were deleted since is prepared again: training would fail on the missing file. */
    private boolean filesExist(Source s) {
        return s.fragments().stream().allMatch(f -> Files.isRegularFile(dataset.resolve(f.audio())) && Files.isRegularFile(dataset.resolve(f.codes())));
    }

    /** A kept clip under its current name: a moved or renamed file keeps its fragments. */
    private static Source renamed(Source s, String path) {
        if (s.path().equals(path)) return s;
        List<Fragment> fragments = s.fragments().stream().map(f -> new Fragment(f.id(), f.concept(), path, f.sourceSha256(),
                f.offsetSeconds(), f.seconds(), f.audio(), f.codes(), f.frames(), f.paddedSamples())).toList();
        return new Source(path, s.sha256(), fragments);
    }

    /** Writes dataset.json and both metadata files; fragments of every listed clip are already on disk. */
    private List<DatasetInfo.Concept> writeMetadata(Map<String, List<Source>> byConcept) throws IOException {
        List<Fragment> train = new ArrayList<>(), valid = new ArrayList<>();
        List<DatasetInfo.Concept> concepts = new ArrayList<>();
        byConcept.forEach((concept, sources) -> {
            Set<String> held = heldOut(sources);
            int t = 0, v = 0;
            for (Source s : sources) {
                List<Fragment> fragments = s.fragments().stream().sorted(Comparator.comparingDouble(Fragment::offsetSeconds)).toList();
                // a concept of one clip has no clip to hold out: the clip's end is, so there is validation data at all
                int late = sources.size() == 1 ? heldOutByTime(fragments.size()) : held.contains(s.path()) ? fragments.size() : 0;
                train.addAll(fragments.subList(0, fragments.size() - late));
                valid.addAll(fragments.subList(fragments.size() - late, fragments.size()));
                t += fragments.size() - late;
                v += late;
            }
            concepts.add(new DatasetInfo.Concept(concept, sources.size(), t, v));
        });
        DatasetFiles.write(dataset.resolve(DatasetFiles.INFO), info(concepts));
        DatasetFiles.write(dataset.resolve(DatasetFiles.VALID), new DatasetFiles.FragmentList(DatasetInfo.VERSION, valid));
        DatasetFiles.write(dataset.resolve(DatasetFiles.TRAIN), new DatasetFiles.FragmentList(DatasetInfo.VERSION, train));
        return concepts;
    }

    /**
     * The clips of one concept held out for validation: round(fraction x clips), at least one when the fraction is
     * positive and there are two clips or more, and never all of them. Clips are ranked by a hash of seed and path,
     * so the choice is repeatable and a clip keeps its side when its content changes.
     */
    private Set<String> heldOut(List<Source> sources) {
        int n = sources.size();
        if (settings.valFraction() <= 0 || n < 2) return Set.of();
        int k = (int) Math.max(1, Math.min(n - 1, Math.round(settings.valFraction() * n)));
        Set<String> held = new HashSet<>();
        sources.stream().map(Source::path).sorted(Comparator.comparing(p -> Caches.sha256((settings.seed() + "/" + p).getBytes(StandardCharsets.UTF_8))))
                .limit(k).forEach(held::add);
        return held;
    }

    /** Of a lone clip's fragments (in time order), the last round(fraction x n) are held out; one at least, never all. */
    private int heldOutByTime(int n) {
        if (settings.valFraction() <= 0 || n < 2) return 0;
        return (int) Math.max(1, Math.min(n - 1, Math.round(settings.valFraction() * n)));
    }

    private DatasetInfo info(List<DatasetInfo.Concept> concepts) {
        return new DatasetInfo(DatasetInfo.VERSION, settings.model(), settings.modelHash(), rate, codec.frameRate(), codebooks, codec.codebookSize(),
                settings.fragmentSeconds(), fragmentSamples, fragmentFrames, settings.last().name().toLowerCase(Locale.ROOT),
                settings.valFraction(), settings.seed(), concepts, settings.tool());
    }

    /** Fragment files of changed or removed clips, and of runs that stopped before their metadata. */
    private void deleteUnreferenced(Map<String, List<Source>> byConcept) throws IOException {
        Path fragments = dataset.resolve(DatasetFiles.FRAGMENTS);
        if (!Files.isDirectory(fragments)) return;
        Set<Path> keep = new HashSet<>();
        byConcept.values().forEach(list -> list.forEach(s -> s.fragments().forEach(f -> {
            keep.add(dataset.resolve(f.audio()).normalize());
            keep.add(dataset.resolve(f.codes()).normalize());
        })));
        List<Path> all;
        try (Stream<Path> s = Files.walk(fragments)) {
            all = s.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path p : all) {
            if (Files.isRegularFile(p) && !keep.contains(p.normalize())) Files.delete(p);
            else if (Files.isDirectory(p) && !p.equals(fragments) && isEmpty(p)) Files.delete(p);
        }
    }

    private void reportLooseFiles() throws IOException {
        try (Stream<Path> s = Files.list(root)) {
            s.filter(Files::isRegularFile).filter(p -> !hidden(p)).filter(AudioDecoder::isAudioFile).sorted()
                    .forEach(p -> skip(relative(p), "not inside a concept folder; move it into <root>/<concept>/"));
        }
    }

    /**
     * Audio files under a concept folder by extension, sorted. Every other entry that cannot be prepared is reported
     * (a device or pipe would hang the decoder, a link outside the folder would bring in a clip of another concept,
     * an unreadable folder would stop the walk); other regular files (covers, notes) are ignored silently.
     */
    private List<Path> audioFiles(Path dir) throws IOException {
        Path conceptDir = dir.toRealPath();
        List<Path> files = new ArrayList<>();
        Map<Path, String> problems = new HashMap<>();
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                return isInside(dataset, d) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (hidden(file)) return FileVisitResult.CONTINUE;
                String problem = problem(file, conceptDir);
                if (problem != null) problems.put(file, problem);
                else if (AudioDecoder.isAudioFile(file)) files.add(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
                if (!hidden(file)) problems.put(file, "cannot be read (" + e.getMessage() + "); fix its permissions or remove it");
                return FileVisitResult.CONTINUE;
            }
        });
        problems.keySet().stream().sorted(Comparator.comparing(this::relative)).forEach(p -> skip(relative(p), problems.get(p)));
        files.sort(Comparator.comparing(this::relative));
        return files;
    }

    /** Why an entry the walk did not descend into (links are not followed) cannot be prepared, or null when it can. */
    private static String problem(Path file, Path conceptDir) {
        if (Files.isSymbolicLink(file)) {
            Path target;
            try {
                target = file.toRealPath();
            } catch (IOException e) {
                return "a link to nothing (" + e.getMessage() + "); remove it or point it at an audio file";
            }
            if (!target.startsWith(conceptDir)) return "a link leading outside the concept folder (to " + target + "); copy the file in instead";
            if (Files.isDirectory(target)) return "a link to a folder, which is not followed; move the folder's clips in instead";
        }
        if (!Files.isRegularFile(file)) return "not a regular file (a device, pipe or socket); replace it with an audio file";
        if (!Files.isReadable(file)) return "cannot be read; fix its permissions or remove it";
        return null;
    }

    private static boolean hidden(Path p) {
        return p.getFileName().toString().startsWith(".");
    }

    private static boolean isInside(Path dir, Path p) {
        return p.toAbsolutePath().normalize().startsWith(dir.toAbsolutePath().normalize());
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private String relative(Path file) {
        return root.relativize(file).toString().replace(file.getFileSystem().getSeparator(), "/");
    }

    private void skip(String file, String reason) {
        Skip s = new Skip(file, reason);
        skipped.add(s);
        listener.skipped(s);
    }

    /** The file's SHA-256 in hex, or null when it cannot be read. */
    private static String sha256(Path file) {
        try {
            return Caches.sha256(file);
        } catch (IOException e) {
            return null;
        }
    }
}
