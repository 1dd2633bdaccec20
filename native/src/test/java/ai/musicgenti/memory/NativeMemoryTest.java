package ai.musicgenti.memory;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.generation.CodeSampler;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.models.ClapAudioEncoder;
import ai.musicgenti.models.ClapTextEncoder;
import ai.musicgenti.models.DelayPattern;
import ai.musicgenti.models.EnCodec;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.concepts.LearnedConcepts;
import ai.musicgenti.inversion.CodebookLoss;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

    /**
     * f16w too: its F16 products allocate their outputs in fbgemm's own op, which must be freed with the step; and the
     * weights packed for oneDNN as generation loads them, whose primitives are cached across steps.
     */
    @ParameterizedTest
    @ValueSource(strings = {"f32", "f16w", "f32 packed", "bf16 packed"})
    void thousandDecodeStepsDoNotGrow(String dtype) {
        Compute compute = Compute.choose("cpu", dtype.split(" ")[0]);
        if (dtype.endsWith("packed")) compute = compute.forInference();
        MusicGen model = dtype.equals("f32") ? NativeMemoryTest.model : MusicGen.load(folder, compute);
        Tensor ids = Tensors.longs(new long[]{51, 63, 1}, 1, 3);
        Tensor mask = torch.ones_like(ids);
        Tensor states = model.condition(ids, mask);
        CodeSampler.generate(model.decoder(), states, mask, CodeSampler.Settings.sampling(20, 3.0, 50, 1.0, 1.0, 1), null);
        NativeUsage before = NativeUsage.now();
        Tensor out = CodeSampler.generate(model.decoder(), states, mask, CodeSampler.Settings.sampling(STEPS, 3.0, 50, 1.0, 1.0, 2), null);
        NativeUsage after = NativeUsage.now();
        assertTrue(out.size(2) == STEPS + 1);
        after.assertNoGrowthSince(before, STEPS + " decode steps (" + dtype + ")", 48);
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
        NativeUsage before = null;
        for (int i = -20; i < STEPS; i++) {
            if (i == 0) before = NativeUsage.now();
            try (PointerScope scope = new PointerScope()) {
                Tensor embeds = LearnedConcepts.splice(model.textEncoder().embed(ids), rows, learned);
                Tensor logits = model.decoder().forward(input, model.conditionFromEmbeddings(embeds, mask), mask);
                CodebookLoss.compute(logits, codes, null).loss().backward();
                learned.grad().zero_();
            }
        }
        NativeUsage.now().assertNoGrowthSince(before, STEPS + " forward+backward steps", 48);
    }

    /** Both directions of the codec: each layer's output outlives its own scope and is freed by the next layer. */
    @Test
    void thousandCodecRoundTripsDoNotGrow() {
        EnCodec codec = model.audioEncoder();
        Tensor audio = torch.randn(2, codec.config().audioChannels(), 12L * codec.hopLength() + 7);
        NativeUsage before = null;
        // a longer warm-up: the convolutions' thread pool and its allocator arenas settle over the first hundred calls
        for (int i = -100; i < STEPS; i++) {
            if (i == 0) before = NativeUsage.now();
            try (PointerScope scope = new PointerScope()) {
                codec.decode(codec.encode(audio));
            }
        }
        NativeUsage.now().assertNoGrowthSince(before, STEPS + " EnCodec encode+decode round trips", 48);
    }

    @Test
    void thousandClapEmbeddingsDoNotGrow() throws Exception {
        try (ModelFolder clap = ModelFolder.open(Golden.firstOfKind("clap_audio").dir())) {
            ClapTextEncoder text = new ClapTextEncoder(ClapTextEncoder.Config.fromJson(clap.config()), clap.weights(Compute.cpu()));
            ClapAudioEncoder audio = new ClapAudioEncoder(ClapAudioEncoder.Config.fromJson(clap.config()), clap.weights(Compute.cpu()));
            Tensor ids = Tensors.longs(new long[]{0, 7, 9, 2, 0, 8, 2, 1}, 2, 4);
            Tensor mask = ids.ne(new org.bytedeco.pytorch.Scalar(1L)).to(torch.ScalarType.Long);
            // one short clip's features: the audio tower is far slower than the text tower, so it runs a tenth as often
            Tensor features = torch.randn(1, 1, 101, audio.config().numMelBins());
            NativeUsage before = null;
            for (int i = -20; i < STEPS; i++) {
                if (i == 0) before = NativeUsage.now();
                try (PointerScope scope = new PointerScope()) {
                    text.forward(ids, mask).embeds();
                    if (i % 10 == 0) audio.forward(features).embeds();
                }
            }
            NativeUsage.now().assertNoGrowthSince(before, STEPS + " CLAP text (and 100 audio) embeddings", 48);
        }
    }
}
