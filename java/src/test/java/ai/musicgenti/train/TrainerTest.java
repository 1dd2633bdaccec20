package ai.musicgenti.train;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.generation.CodeSampler;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.concepts.ConceptPrompts;
import ai.musicgenti.concepts.LearnedConcepts;
import ai.musicgenti.inversion.TextualInversion;
import ai.musicgenti.text.PromptTokenizer;
import ai.musicgenti.memory.NativeUsage;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainerTest {
    private static final String CONCEPT = "x";
    private static final Trainer.Templates ONE_TEMPLATE = new Trainer.Templates(List.of("the sound of %s"), List.of("the sound of %s"));
    private static ModelFolder folder;
    private static MusicGen model;
    private static PromptTokenizer tokenizer;
    private static Trainer.Base base;

    @BeforeAll
    static void load() throws Exception {
        Path dir = Golden.firstOfKind("musicgen_generate").dir();
        folder = ModelFolder.open(dir);
        model = MusicGen.load(folder, Compute.cpu());
        tokenizer = PromptTokenizer.load(dir);
        base = new Trainer.Base(model, tokenizer, "golden/musicgen_50hz", LearnedConcepts.baseModelHash(folder));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
        folder.close();
    }

    private record Data(List<Example> train, List<Example> valid) implements TrainingData {
        @Override
        public String name() {
            return "test";
        }

        @Override
        public List<String> concepts() {
            return List.of(CONCEPT);
        }
    }

    private static Trainer.Settings settings(int epochs, int batchSize, int examplesNum, int musicLen, double lr, long seed) {
        return new Trainer.Settings(List.of(CONCEPT), 3, epochs, batchSize, examplesNum, musicLen, lr, 0, 1.0, 10, 1, 0, 0, 1.5,
                false, null, seed);
    }

    private static Trainer.Outputs outputs(Path dir, String run) {
        return new Trainer.Outputs(dir.resolve("models/test/" + run + ".safetensors"), dir.resolve("runs/" + run));
    }

    /** Fragments sampled from the model conditioned on "the sound of <x>" where <x> is {@code table}'s rows. */
    private static List<TrainingData.Example> sample(Tensor table, int clips, int frames, long seed) {
        ConceptPrompts prompts = new ConceptPrompts(tokenizer, Map.of(CONCEPT, (int) table.size(0)));
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < clips; i++) texts.add("the sound of <" + CONCEPT + ">");
        ConceptPrompts.Batch batch = prompts.batch(texts, null);
        Tensor states = model.conditionFromEmbeddings(
                ai.musicgenti.concepts.LearnedConcepts.splice(model.textEncoder().embed(batch.inputIds()), batch.rows(), table), batch.attentionMask());
        int k = model.config().decoder().numCodebooks();
        Tensor delayed = CodeSampler.generate(model.decoder(), states, batch.attentionMask(),
                CodeSampler.Settings.sampling(frames + k - 1, 1.0, 0, 1.0, 1.0, seed), null);
        Tensor codes = model.audioCodes(delayed);
        List<TrainingData.Example> out = new ArrayList<>();
        for (int i = 0; i < clips; i++) out.add(new TrainingData.Example(CONCEPT, codes.select(0, i).clone()));
        return out;
    }

    private static double crossEntropy(Tensor table, String prompt, List<TrainingData.Example> examples) {
        ConceptPrompts prompts = new ConceptPrompts(tokenizer, Map.of(CONCEPT, (int) table.size(0)));
        List<String> texts = new ArrayList<>();
        List<Tensor> codes = new ArrayList<>();
        for (TrainingData.Example e : examples) {
            texts.add(prompt);
            codes.add(e.codes());
        }
        Tensor stacked = torch.stack(new org.bytedeco.pytorch.TensorVector(codes.toArray(new Tensor[0])));
        return TextualInversion.crossEntropy(model, table, prompts.batch(texts, null), stacked, null).loss().item_double();
    }

    /**
     * The product's promise in small: codes drawn from the model under a hidden concept embedding are enough to
     * recover an embedding that explains them as well as the hidden one does.
     */
    @Test
    void studentApproachesTheTeacher(@TempDir Path dir) throws Exception {
        teacherToStudent(base, dir, "ts");
    }

    /**
     * Learned through the BF16 model (the fast CPU path, {@code train --dtype bf16}), the rows explain the teacher's
     * codes under the F32 model as well: BF16 changes how fast the rows are found, not what they are worth.
     */
    @Test
    void studentLearnedInBf16ApproachesTheTeacher(@TempDir Path dir) throws Exception {
        MusicGen bf16 = MusicGen.load(folder, new Compute(new Device("cpu"), ScalarType.BFloat16));
        teacherToStudent(new Trainer.Base(bf16, tokenizer, base.id(), base.hash()), dir, "bf16");
    }

    /** Trains on {@code student}'s model; every cross-entropy is the F32 model's. */
    private void teacherToStudent(Trainer.Base student, Path dir, String run) throws Exception {
        Tensor teacher = TextualInversion.initFromMean(model, 3, 1.0, 1234).detach();
        List<TrainingData.Example> train = sample(teacher, 16, 60, 1);
        List<TrainingData.Example> valid = sample(teacher, 8, 60, 2);
        double teacherCe = crossEntropy(teacher, "the sound of <x>", valid);
        double unconditionedCe = crossEntropy(teacher, "", valid);

        Trainer trainer = Trainer.start(student, new Data(train, valid), ONE_TEMPLATE, settings(EPOCHS, 8, 0, 60, 0.1, 7), outputs(dir, run));
        double initialCe = crossEntropy(trainer.learned().detach(), "the sound of <x>", valid);
        trainer.run(new Trainer.Listener() { });
        double studentCe = crossEntropy(trainer.learned().detach(), "the sound of <x>", valid);
        System.out.printf("teacher->student (%s): teacher %.4f, student %.4f (start %.4f), unconditioned %.4f%n",
                run, teacherCe, studentCe, initialCe, unconditionedCe);
        assertTrue(studentCe < teacherCe * 1.03, "student " + studentCe + " is not within 3% of the teacher's " + teacherCe);
        assertTrue(unconditionedCe - teacherCe > 0.1 && studentCe < teacherCe + 0.2 * (unconditionedCe - teacherCe),
                "student " + studentCe + " is not far below the unconditioned model's " + unconditionedCe);
        assertTrue(initialCe - studentCe > 0.7 * (initialCe - teacherCe), "training closed less than 70% of the gap to the teacher");
        assertTrue(Files.exists(dir.resolve("models/test/" + run + ".safetensors")));
    }

    private static final int EPOCHS = 30;

    /** A run split by a checkpoint, at an epoch's end or mid-epoch by a stop request, equals the run in one go. */
    @Test
    void resumeContinuesExactly(@TempDir Path dir) throws Exception {
        Tensor teacher = TextualInversion.initFromMean(model, 3, 1.0, 99).detach();
        Data data = new Data(sample(teacher, 6, 40, 3), sample(teacher, 2, 40, 4));
        Trainer.Settings s = new Trainer.Settings(List.of(CONCEPT), 3, 2, 2, 0, 24, 0.1, 1, 0.5, 10, 1, 0.1, 0, 1.5, true, null, 5);

        Trainer whole = Trainer.start(base, data, ONE_TEMPLATE, s, outputs(dir, "whole"));
        whole.run(new Trainer.Listener() { });

        Trainer.start(base, data, ONE_TEMPLATE, s.withEpochs(1), outputs(dir, "epochs")).run(new Trainer.Listener() { });
        Trainer second = Trainer.resume(base, data, ONE_TEMPLATE, outputs(dir, "epochs"), 2);
        second.run(new Trainer.Listener() { });

        Trainer first = Trainer.start(base, data, ONE_TEMPLATE, s, outputs(dir, "stopped"));
        first.run(new Trainer.Listener() {
            @Override
            public void onStep(Trainer.StepMetrics m, int stepInEpoch, int stepsInEpoch) {
                if (m.step() == 4) first.requestStop();
            }
        });
        assertEquals(4, first.step());
        Trainer rest = Trainer.resume(base, data, ONE_TEMPLATE, outputs(dir, "stopped"), null);
        rest.run(new Trainer.Listener() { });

        assertEquals(6, whole.step());
        for (Trainer t : List.of(second, rest)) {
            assertEquals(whole.step(), t.step());
            double diff = t.learned().sub(whole.learned()).abs().max().item_double();
            assertTrue(diff <= 1e-6, "resumed rows differ by " + diff);
        }
        List<String> metrics = MetricsLines.withoutClock(dir.resolve("runs/whole/metrics.jsonl"));
        assertEquals(6 + 2, metrics.size());
        assertEquals(metrics, MetricsLines.withoutClock(dir.resolve("runs/epochs/metrics.jsonl")));
        assertEquals(metrics, MetricsLines.withoutClock(dir.resolve("runs/stopped/metrics.jsonl")));
        LearnedConcepts saved = LearnedConcepts.load(dir.resolve("models/test/whole.safetensors"), folder);
        assertEquals(0.0, saved.table().sub(whole.learned().detach()).abs().max().item_double(), 0.0);
    }

    /** 1,000 training steps leave no native objects behind: every step's temporaries die with its PointerScope. */
    @Test
    void thousandStepsDoNotGrow(@TempDir Path dir) throws Exception {
        thousandSteps(base, dir);
    }

    /** The same in BF16, whose attention casts to F32 and back, and whose steps hand the cores to libtorch's pool. */
    @Test
    void thousandBf16StepsDoNotGrow(@TempDir Path dir) throws Exception {
        MusicGen bf16 = MusicGen.load(folder, new Compute(new Device("cpu"), ScalarType.BFloat16));
        thousandSteps(new Trainer.Base(bf16, tokenizer, base.id(), base.hash()), dir);
    }

    private void thousandSteps(Trainer.Base on, Path dir) throws Exception {
        Tensor teacher = TextualInversion.initFromMean(model, 3, 1.0, 5).detach();
        Data data = new Data(sample(teacher, 4, 30, 6), List.of());
        Trainer trainer = Trainer.start(on, data, ONE_TEMPLATE, settings(1, 2, 2040, 20, 0.05, 3), outputs(dir, "mem"));
        long[] before = new long[1];
        trainer.run(new Trainer.Listener() {
            @Override
            public void onStep(Trainer.StepMetrics m, int stepInEpoch, int stepsInEpoch) {
                if (m.step() == 20) before[0] = NativeUsage.now().objects();
            }
        });
        assertEquals(1020, trainer.step());
        long grown = NativeUsage.now().objects() - before[0];
        System.out.println("1,000 training steps (" + on.model().decoder().compute() + "): native objects " + grown);
        assertTrue(grown < 50, "1,000 steps left " + grown + " more live native objects");
    }
}
