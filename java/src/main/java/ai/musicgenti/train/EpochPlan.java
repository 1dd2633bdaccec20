package ai.musicgenti.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Which fragments each step of an epoch trains on. A pure function of the settings, the data and the epoch's index,
 * so a resumed run replays the plan of the epoch it stopped in without storing it.
 */
final class EpochPlan {
    private EpochPlan() {
    }

    /**
     * The epoch's batches: per concept {@code examplesNum} fragments (0 = all it has), drawn from shuffled passes
     * over its fragments, interleaved round-robin across concepts so every batch mixes them.
     */
    static List<List<TrainingData.Example>> batches(Trainer.Settings settings, TrainingData data, int epochIndex) {
        SplittableRandom random = new SplittableRandom(settings.seed() ^ (0x5DEECE66DL * (epochIndex + 1)));
        List<List<TrainingData.Example>> perConcept = new ArrayList<>();
        for (String c : settings.concepts()) {
            List<TrainingData.Example> own = data.train().stream().filter(e -> e.concept().equals(c)).toList();
            int n = settings.examplesNum() > 0 ? settings.examplesNum() : own.size();
            List<TrainingData.Example> drawn = new ArrayList<>();
            while (drawn.size() < n) {
                List<TrainingData.Example> pass = new ArrayList<>(own);
                for (int i = pass.size() - 1; i > 0; i--) Collections.swap(pass, i, random.nextInt(i + 1));
                drawn.addAll(pass.subList(0, Math.min(pass.size(), n - drawn.size())));
            }
            perConcept.add(drawn);
        }
        List<TrainingData.Example> order = new ArrayList<>();
        for (int i = 0; order.size() < perConcept.stream().mapToInt(List::size).sum(); i++) {
            for (List<TrainingData.Example> own : perConcept) if (i < own.size()) order.add(own.get(i));
        }
        List<List<TrainingData.Example>> batches = new ArrayList<>();
        for (int i = 0; i < order.size(); i += settings.batchSize()) {
            batches.add(order.subList(i, Math.min(order.size(), i + settings.batchSize())));
        }
        return batches;
    }
}
