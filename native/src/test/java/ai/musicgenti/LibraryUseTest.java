package ai.musicgenti;

import ai.musicgenti.audio.Wav;
import ai.musicgenti.generation.MusicGeneration;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.generation.CodeSampler;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.hub.HubClient;
import ai.musicgenti.hub.HubConfig;
import ai.musicgenti.hub.ProgressListener;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.text.PromptTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The README's "Using the library" example, as another JVM tool would write it (on the tiny 50 Hz model). */
class LibraryUseTest {
    @Test
    void readmeExampleRuns(@TempDir Path tmp) throws Exception {
        CpuThreads.configure(0);
        Compute compute = Compute.choose("auto", "auto");
        HubClient hub = new HubClient(new HubConfig(tmp.resolve("cache"), HubConfig.DEFAULT_ENDPOINT, null, true));
        Path dir = hub.resolveModel(Golden.firstOfKind("musicgen_generate").dir().toString(), ProgressListener.NONE);
        try (ModelFolder folder = ModelFolder.open(dir); PromptTokenizer tokenizer = PromptTokenizer.load(dir)) {
            MusicGen model = MusicGen.load(folder, compute.forInference());
            PromptTokenizer.Batch prompts = tokenizer.encode(List.of("lo-fi hip hop with warm piano"));
            CodeSampler.Settings settings = CodeSampler.Settings.sampling(CodeSampler.maxNewTokensFor(0.5, 50, 4), 3.0, 250, 1.0, 1.0, 42);
            MusicGeneration.Music music = MusicGeneration.fromTokens(model, prompts.inputIds(), prompts.attentionMask(), null, settings, null);
            Path wav = tmp.resolve("lofi.wav");
            Wav.write(wav, music.audio(), 0, model.audioEncoder().samplingRate(), Wav.Options.DEFAULT);
            assertEquals(25 * 640, Wav.read(wav).frames());
        }
    }
}
