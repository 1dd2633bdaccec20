package ai.musicgenti.sweep;

import java.nio.file.Path;
import java.util.Map;

/**
 * What a trial trains: the sweep's dataset and model, its parameter values by canonical name (see
 * {@link TrainParameters}), where its run and concepts files go, and the device it was given (null: train's default).
 */
public record TrialSpec(int index, String dataset, String model, Map<String, Object> parameters, Path runDir, Path modelsDir, String device) {
    public TrialSpec withDevice(String device) {
        return new TrialSpec(index, dataset, model, parameters, runDir, modelsDir, device);
    }

    public String runName() {
        return runDir.getFileName().toString();
    }
}
