package ai.musicgenti.cli;

import ai.musicgenti.pipeline.Cancellation;
import ai.musicgenti.pipeline.GenerateJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** Text (and optionally an audio clip) to music, written as WAV files. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate music from text prompts (and optionally continue an audio clip); writes WAV files.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"-p", "--prompt"}, description = "A text prompt; repeat for several.")
    List<String> prompts = new ArrayList<>();

    @Option(names = "--prompts-file", description = "A UTF-8 file with one prompt per line (blank lines and lines starting with # are skipped).")
    Path promptsFile;

    @Option(names = "--concepts", arity = "1..*", paramLabel = "FILE",
            description = "Learned concepts (.safetensors from train); prompts may then name them as <name> or <name_i>.")
    List<Path> conceptFiles = new ArrayList<>();

    @Option(names = "--template", description = "A prompt with %%s, filled with each loaded concept (\"High quality music in the style of %%s\").")
    String template;

    @Option(names = "--duration", description = "Seconds of audio per clip, an audio prompt included (default: the checkpoint's generation_config.json).")
    Double duration;

    @Option(names = "--batch", defaultValue = "" + GenerateJob.BATCH, description = "Clips per prompt (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seed", description = "Sampling seed; the same seed and settings give the same music (default: random, printed).")
    Long seed;

    @Option(names = "--top-k", description = "Sample among the k best codes; 0 = off (default: generation_config.json, usually 250).")
    Integer topK;

    @Option(names = "--top-p", description = "Nucleus sampling mass in (0, 1]; 1 = off (default: 1).")
    Double topP;

    @Option(names = "--temperature", description = "Divides the scores before sampling (default: 1).")
    Double temperature;

    @Option(names = "--cfg", description = "Classifier-free guidance scale; 1 = off (default: generation_config.json, usually 3.0).")
    Double cfg;

    @Option(names = "--greedy", description = "Pick the best code at each step instead of sampling.")
    boolean greedy;

    @Option(names = "--audio-prompt", description = "An audio file to continue (any format FFmpeg reads); its codes start every clip.")
    Path audioPrompt;

    @Option(names = {"-o", "--out"}, defaultValue = GenerateJob.OUT, description = "A .wav file (one clip) or a folder (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--format", defaultValue = GenerateJob.FORMAT, description = "WAV samples: pcm16 or float (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--normalize", defaultValue = GenerateJob.NORMALIZE, description = "none, peak, rms or loudness (-14 LUFS) (default: ${DEFAULT-VALUE}).")
    String normalize;

    @Option(names = "--save-codes", description = "Also write the generated EnCodec codes beside each clip as .codes.safetensors.")
    boolean saveCodes;

    @Override
    public Integer call() throws IOException {
        GenerateJob.Settings settings = GenerateJob.Settings.builder().model(modelOptions.choice()).prompts(prompts).promptsFile(promptsFile)
                .conceptFiles(conceptFiles).template(template).duration(duration).batch(batch).seed(seed).topK(topK).topP(topP)
                .temperature(temperature).cfg(cfg).greedy(greedy).audioPrompt(audioPrompt).out(out)
                .wav(GenerateJob.wavOptions(format, normalize)).saveCodes(saveCodes).build();
        GenerateJob.Result result = new GenerateJob(settings).run(new CliListener(), Cancellation.none());
        for (GenerateJob.Clip clip : result.clips()) System.out.println(clip.wav());
        return 0;
    }
}
