package ai.musicgenti.train;

import org.bytedeco.pytorch.Tensor;

import java.util.List;

/**
 * What training reads from a prepared dataset: its concepts and, per split, fragments of EnCodec codes labelled
 * with their concept. Codes tensors are CPU Long [K, frames] and must outlive training (built outside any
 * PointerScope).
 */
public interface TrainingData {
    record Example(String concept, Tensor codes) {
    }

    /** The dataset's name: concepts files go to {@code <out>/<name>/<run>.safetensors}. */
    String name();

    /** Where the dataset lives (an absolute path), recorded in the checkpoint so a resumed run finds it; null when nowhere. */
    default String location() {
        return null;
    }

    List<String> concepts();

    List<Example> train();

    List<Example> valid();
}
