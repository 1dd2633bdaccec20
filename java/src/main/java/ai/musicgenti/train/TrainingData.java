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

    List<String> concepts();

    List<Example> train();

    List<Example> valid();
}
