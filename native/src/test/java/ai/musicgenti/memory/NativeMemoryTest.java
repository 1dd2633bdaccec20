package ai.musicgenti.memory;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.generate.Generator;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.models.DelayPattern;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.train.CodebookLoss;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Long loops must not grow native memory: every step's temporaries are released by its PointerScope. A leak of even
 * one tensor per step shows as at least 1,000 extra live native objects here; resident memory is checked as well.
 */
class NativeMemoryTest {
    private static final int STEPS = 1000;
    private static ModelFolder folder;
    private static MusicGen model;

    @BeforeAll
    static void load() throws Exception {
        folder = ModelFolder.open(Golden.firstOfKind("musicgen_generate").dir());
        model = MusicGen.load(folder, Compute.cpu());
    }

    @AfterAll
    static void close() {
        folder.close();
    }

    @Test
    void thousandDecodeStepsDoNotGrow() {
        Tensor ids = Tensors.longs(new long[]{51, 63, 1}, 1, 3);
        Tensor mask = torch.ones_like(ids);
        Tensor states = model.condition(ids, mask);
        Generator.generate(model.decoder(), states, mask, Generator.Settings.sampling(20, 3.0, 50, 1.0, 1.0, 1), null);
        Usage before = Usage.now();
        Tensor out = Generator.generate(model.decoder(), states, mask, Generator.Settings.sampling(STEPS, 3.0, 50, 1.0, 1.0, 2), null);
        Usage after = Usage.now();
        assertTrue(out.size(2) == STEPS + 1);
        after.assertNoGrowthSince(before, STEPS + " decode steps");
    }

    @Test
    void thousandTrainingStepsDoNotGrow() {
        int k = model.config().decoder().numCodebooks();
        long vocab = model.config().decoder().vocabSize();
        Tensor ids = Tensors.longs(new long[]{51, 5, 6, 63, 1}, 1, 5);
        Tensor mask = torch.ones_like(ids);
        Tensor rows = Tensors.longs(new long[]{-1, 0, 1, -1, -1}, 1, 5);
        Tensor learned = torch.randn(2, model.config().text().dModel()).requires_grad_(true);
        Tensor codes = torch.randint(0, vocab, new long[]{1, k, 16}, Compute.cpu().longs());
        Tensor input = DelayPattern.build(codes, vocab).narrow(2, 0, 17);
        Usage before = null;
        for (int i = -20; i < STEPS; i++) {
            if (i == 0) before = Usage.now();
            try (PointerScope scope = new PointerScope()) {
                Tensor embeds = CodebookLoss.splice(model.textEncoder().embed(ids), rows, learned);
                Tensor logits = model.decoder().forward(input, model.conditionFromEmbeddings(embeds, mask), mask);
                CodebookLoss.compute(logits, codes, null).loss().backward();
                learned.grad().zero_();
            }
        }
        Usage.now().assertNoGrowthSince(before, STEPS + " forward+backward steps");
    }

    /** Live native objects and resident bytes, measured after the GC has freed what it can. */
    private record Usage(long objects, long residentBytes) {
        static Usage now() {
            for (int i = 0; i < 3; i++) {
                System.gc();
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return new Usage(Pointer.totalCount(), Pointer.physicalBytes());
        }

        void assertNoGrowthSince(Usage before, String what) {
            long objects = this.objects - before.objects;
            double mb = (this.residentBytes - before.residentBytes) / 1e6;
            System.out.printf("%s: native objects %+d, resident memory %+.1f MB%n", what, objects, mb);
            assertTrue(objects < 50, what + " left " + objects + " more live native objects");
            assertTrue(mb < 48, what + " grew resident memory by " + mb + " MB");
        }
    }
}
