package ai.musicgenti.train;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.data.DatasetInfo;
import ai.musicgenti.data.PreparedDataset;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.models.MusicGenDecoder;

import java.nio.file.Path;
import java.util.List;

/**
 * A dataset made by {@code prepare}, as training examples: every fragment's codes, loaded once (they are small: a
 * 5 s fragment is 4 x 250 codes).
 */
public final class PreparedTrainingData implements TrainingData {
    private final PreparedDataset dataset;
    private final List<Example> train;
    private final List<Example> valid;

    private PreparedTrainingData(PreparedDataset dataset) {
        this.dataset = dataset;
        this.train = dataset.train().stream().map(f -> new Example(f.concept(), dataset.codes(f))).toList();
        this.valid = dataset.valid().stream().map(f -> new Example(f.concept(), dataset.codes(f))).toList();
    }

    /** Opens a prepared dataset and checks that its codes are codes of this model's codec. */
    public static PreparedTrainingData open(Path dir, MusicGen model) {
        PreparedDataset dataset = PreparedDataset.open(dir);
        DatasetInfo info = dataset.info();
        MusicGenDecoder.Config decoder = model.config().decoder();
        int frameRate = model.audioEncoder().frameRate();
        if (info.codebooks() != decoder.numCodebooks() || info.codebookSize() != decoder.vocabSize() || info.frameRate() != frameRate) {
            throw new BadInputException(dir + ": prepared for " + info.model() + " (" + info.codebooks() + " codebooks of "
                    + info.codebookSize() + " codes at " + info.frameRate() + " Hz), which does not fit this model's codec ("
                    + decoder.numCodebooks() + " of " + decoder.vocabSize() + " at " + frameRate
                    + " Hz); prepare the clips again with this --model");
        }
        return new PreparedTrainingData(dataset);
    }

    @Override
    public String name() {
        return dataset.dir().toAbsolutePath().normalize().getFileName().toString();
    }

    @Override
    public String location() {
        return dataset.dir().toAbsolutePath().normalize().toString();
    }

    @Override
    public List<String> concepts() {
        return dataset.concepts();
    }

    @Override
    public List<Example> train() {
        return train;
    }

    @Override
    public List<Example> valid() {
        return valid;
    }
}
