package ai.musicgenti.golden;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.models.MusicGen;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decoder as generation loads it on the CPU ({@link Compute#forInference}: projection weights packed for oneDNN)
 * against the same golden cases at the F32 tolerances: teacher-forced logits and the greedy CFG run, token for token.
 * The textual-inversion checks need gradients, which packed weights do not have; {@link GoldenTest} runs those.
 */
@Tag("golden")
class PackedWeightsGoldenTest {
    private static final Set<String> DECODING = Set.of("musicgen", "musicgen_generate");

    @TestFactory
    Stream<DynamicTest> everyDecodingCase() throws IOException {
        return Golden.cases().stream().filter(c -> DECODING.contains(c.kind()))
                .map(c -> DynamicTest.dynamicTest(c.name() + " [" + c.kind() + ", packed]", () -> {
                    Compute packed = Compute.cpu().forInference();
                    assertTrue(packed.packedWeights(), "F32 on the CPU packs for generation");
                    try (ModelFolder folder = ModelFolder.open(c.dir())) {
                        MusicGen model = MusicGen.load(folder, packed);
                        if (c.kind().equals("musicgen")) MusicGenGolden.teacherForcing(c, model);
                        MusicGenGolden.generation(c, model);
                    }
                }));
    }
}
