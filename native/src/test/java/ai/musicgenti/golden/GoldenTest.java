package ai.musicgenti.golden;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Runs every case that cases.json lists, dispatching on its kind, so another golden folder with other seeds and
 * shapes runs unchanged. A kind without a port would be reported as skipped, never as passed.
 */
@Tag("golden")
class GoldenTest {
    private static final Map<String, Consumer<GoldenCase>> RUNNERS = Map.of(
            "t5_encoder", T5EncoderGolden::run,
            "encodec", EnCodecGolden::run,
            "musicgen", MusicGenGolden::run,
            "musicgen_generate", MusicGenGenerateGolden::run,
            "tokenizer", TokenizerGolden::run,
            "clap_audio", ClapGolden::run,
            "fad", FadGolden::run);

    @TestFactory
    Stream<DynamicTest> everyCase() throws IOException {
        return Golden.cases().stream().map(c -> DynamicTest.dynamicTest(c.name() + " [" + c.kind() + "]", () -> {
            Consumer<GoldenCase> runner = RUNNERS.get(c.kind());
            Assumptions.assumeTrue(runner != null, "no port for kind '" + c.kind() + "' yet");
            runner.accept(c);
            c.assertAllChecked();
        }));
    }
}
