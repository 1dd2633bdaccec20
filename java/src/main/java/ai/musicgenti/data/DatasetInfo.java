package ai.musicgenti.data;

import java.util.List;

/**
 * {@code dataset.json}: how the dataset was prepared. A re-run with other codec or fragment settings would mix
 * incompatible fragments, so the preparer refuses it (see {@link DatasetPreparer}).
 *
 * @param model           the --model the codes were made with: hub id, or the local folder's absolute real path
 * @param modelHash       sha256 of the EnCodec weights that made the codes (null in datasets from before it was kept):
 *                        the model's identity, however it was named
 * @param sampleRate      Hz of the fragment WAVs and of the codec
 * @param frameRate       codec frames per second
 * @param codebooks       K, the rows of every codes tensor
 * @param fragmentSeconds the length of every fragment
 * @param last            what happened to a clip's last short piece: "drop" or "pad"
 */
public record DatasetInfo(int version, String model, String modelHash, int sampleRate, double frameRate, int codebooks, int codebookSize,
                          double fragmentSeconds, int fragmentSamples, int fragmentFrames, String last,
                          double valFraction, long seed, List<Concept> concepts, String tool) {
    public static final int VERSION = 1;

    public record Concept(String name, int sources, int trainFragments, int validFragments) {
    }

    /** True when fragments made under other settings can sit beside fragments made under these. */
    boolean compatibleWith(DatasetInfo o) {
        boolean sameModel = modelHash != null && o.modelHash != null ? modelHash.equals(o.modelHash) : model.equals(o.model);
        return sameModel && sampleRate == o.sampleRate && frameRate == o.frameRate
                && codebooks == o.codebooks && fragmentSamples == o.fragmentSamples && last.equals(o.last);
    }
}
