package ai.musicgenti.golden;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Runs every case that cases.json lists, dispatching on its kind, so another golden folder with other seeds and
 * shapes runs unchanged. A kind without a runner fails: no case is skipped. The device and dtype come from
 * {@link Golden#compute()}.
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
            "clap_text", ClapTextGolden::run,
            "fad", FadGolden::run);

    @TestFactory
    Stream<DynamicTest> everyCase() throws IOException {
        return Golden.cases().stream().map(c -> DynamicTest.dynamicTest(c.name() + " [" + c.kind() + "]", () -> {
            Consumer<GoldenCase> runner = RUNNERS.get(c.kind());
            assertNotNull(runner, c.name() + ": no runner for kind '" + c.kind() + "'");
            runner.accept(c);
            c.assertAllChecked();
        }));
    }
}
