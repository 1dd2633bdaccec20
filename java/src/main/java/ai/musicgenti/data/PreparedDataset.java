package ai.musicgenti.data;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.CodesFile;
import org.bytedeco.pytorch.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A dataset folder written by {@code musicgen-ti prepare}, for training and evaluation:
 * <pre>
 * dataset.json                          {@link DatasetInfo}: model, sample and frame rate, codebooks, fragment length
 * metadata_train.json                   {"version": 1, "fragments": [{@link Fragment}, ...]}
 * metadata_valid.json                   the held-out fragments; no source clip has fragments on both sides
 * metadata_concepts.json                optional {@link ConceptDescriptions}, copied from the audio root
 * fragments/&lt;concept&gt;/&lt;hash&gt;-&lt;n&gt;.wav             mono float WAV at the codec's rate
 * fragments/&lt;concept&gt;/&lt;hash&gt;-&lt;n&gt;.codes.safetensors I16 codes [K, frames]
 * </pre>
 * Opening reads only the JSON; codes are read per fragment.
 */
public final class PreparedDataset {
    private final Path dir;
    private final DatasetInfo info;
    private final List<Fragment> train;
    private final List<Fragment> valid;

    private PreparedDataset(Path dir, DatasetInfo info, List<Fragment> train, List<Fragment> valid) {
        this.dir = dir;
        this.info = info;
        this.train = train;
        this.valid = valid;
    }

    /** Opens a prepared folder; BadInputException naming the folder when it is not one. */
    public static PreparedDataset open(Path dir) {
        Path infoFile = dir.resolve(DatasetFiles.INFO);
        if (!Files.isRegularFile(infoFile) || !Files.isRegularFile(dir.resolve(DatasetFiles.TRAIN))) {
            throw new BadInputException(dir + ": not a prepared dataset (no " + DatasetFiles.INFO + " and "
                    + DatasetFiles.TRAIN + "); run musicgen-ti prepare <audio-root> --dataset " + dir + " first");
        }
        DatasetInfo info = DatasetFiles.read(infoFile, DatasetInfo.class);
        return new PreparedDataset(dir, info, DatasetFiles.readFragments(dir.resolve(DatasetFiles.TRAIN)),
                DatasetFiles.readFragments(dir.resolve(DatasetFiles.VALID)));
    }

    public Path dir() {
        return dir;
    }

    /** dataset.json: model id, sample rate, frame rate, codebooks, fragment length, per-concept counts. */
    public DatasetInfo info() {
        return info;
    }

    /** Concept names in dataset order (sorted by folder name). */
    public List<String> concepts() {
        Set<String> names = new LinkedHashSet<>();
        Stream.concat(train.stream(), valid.stream()).map(Fragment::concept).sorted().forEach(names::add);
        return List.copyOf(names);
    }

    /** Each concept's text description, from metadata_concepts.json; empty when the dataset has none. */
    public Map<String, String> descriptions() {
        return ConceptDescriptions.of(dir);
    }

    public List<Fragment> train() {
        return train;
    }

    public List<Fragment> valid() {
        return valid;
    }

    /** The fragment's codes as a CPU Long tensor {@code [codebooks, frames]}. */
    public Tensor codes(Fragment fragment) {
        return CodesFile.read(dir.resolve(fragment.codes()));
    }

    /** The fragment's mono audio file (float WAV at {@link DatasetInfo#sampleRate()}). */
    public Path audio(Fragment fragment) {
        return dir.resolve(fragment.audio());
    }
}
