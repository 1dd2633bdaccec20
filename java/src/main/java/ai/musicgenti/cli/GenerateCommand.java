package ai.musicgenti.cli;

import ai.musicgenti.audio.AudioDecoder;
import ai.musicgenti.audio.Wav;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.generate.Generator;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.text.ConceptPrompts;
import ai.musicgenti.text.PromptTokenizer;
import ai.musicgenti.train.LearnedConcepts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
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

    @Option(names = "--batch", defaultValue = "1", description = "Clips per prompt (default: ${DEFAULT-VALUE}).")
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

    @Option(names = {"-o", "--out"}, defaultValue = "out", description = "A .wav file (one clip) or a folder (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--format", defaultValue = "pcm16", description = "WAV samples: pcm16 or float (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--normalize", defaultValue = "none", description = "none, peak, rms or loudness (-14 LUFS) (default: ${DEFAULT-VALUE}).")
    String normalize;

    @Option(names = "--save-codes", description = "Also write the generated EnCodec codes beside each clip as .codes.safetensors.")
    boolean saveCodes;

    @Override
    public Integer call() throws IOException {
        if (template != null && conceptFiles.isEmpty()) throw new BadInputException("--template needs --concepts FILE to fill it with");
        if (duration != null && !(duration > 0)) {
            throw new BadInputException("--duration " + duration + ": must be a positive number of seconds");
        }
        if (batch < 1) throw new BadInputException("--batch " + batch + ": must be at least 1");
        if (out.getFileName() != null && AudioDecoder.isAudioFile(out) && !isWav(out)) {
            throw new BadInputException("--out " + out + ": only WAV is written; give a .wav file name (or a folder), and convert it afterwards");
        }
        Wav.Options wav = wavOptions();
        Path folderPath = modelOptions.folder();
        Compute compute = modelOptions.compute();
        try (ModelFolder folder = ModelFolder.open(folderPath); PromptTokenizer tokenizer = PromptTokenizer.load(tokenizerFile(folderPath))) {
            LearnedConcepts concepts = conceptFiles.isEmpty() ? null : LearnedConcepts.loadAll(conceptFiles, folder);
            List<String> texts = prompts(concepts);
            requireKnownConcepts(texts, concepts, tokenizer);
            List<Path> targets = targets(texts);
            checkWritable(targets);
            MusicGen model = MusicGen.load(folder, compute);
            int rate = model.audioEncoder().samplingRate();
            int k = model.config().decoder().numCodebooks();
            double frameRate = model.audioEncoder().frameRate();

            List<String> rows = new ArrayList<>();
            for (String t : texts) for (int i = 0; i < batch; i++) rows.add(t);

            Tensor promptAudio = null;
            long promptFrames = 0;
            if (audioPrompt != null) {
                AudioDecoder.Audio clip = AudioDecoder.decode(audioPrompt, rate, true);
                promptFrames = (clip.channels()[0].length + model.audioEncoder().hopLength() - 1) / model.audioEncoder().hopLength();
                promptAudio = Tensors.floats(clip.channels()[0], 1, 1, clip.channels()[0].length).repeat(rows.size(), 1, 1);
            }
            Generator.Settings settings = settings(folder, frameRate, k, promptFrames);
            model.checkLength(promptFrames, settings);
            System.err.printf(Locale.ROOT, "model %s on %s; %d clip(s) of %.2f s; seed %d%n", modelOptions.model, compute,
                    rows.size(), (promptFrames + settings.maxNewTokens() + 1 - k) / frameRate, settings.seed());

            StepProgress progress = new StepProgress(System.err, settings.maxNewTokens());
            MusicGen.Music music;
            if (concepts != null) {
                LearnedConcepts.Conditioning c = concepts.condition(model, tokenizer, rows);
                music = model.generateMusicFromEmbeddings(c.inputsEmbeds(), c.attentionMask(), promptAudio, settings, progress);
            } else {
                PromptTokenizer.Batch tokens = tokenizer.encode(rows);
                music = model.generateMusic(tokens.inputIds(), tokens.attentionMask(), promptAudio, settings, progress);
            }
            for (int i = 0; i < targets.size(); i++) {
                Wav.write(targets.get(i), music.audio(), i, rate, wav);
                if (saveCodes) {
                    Path codes = targets.get(i).resolveSibling(targets.get(i).getFileName().toString().replaceAll("\\.wav$", "") + ".codes.safetensors");
                    Safetensors.write(codes, Map.of("codes", music.codes().narrow(0, i, 1)),
                            Map.of("prompt", rows.get(i), "model", modelOptions.id(), "seed", Long.toString(settings.seed())));
                }
                System.out.println(targets.get(i));
            }
        }
        return 0;
    }

    private List<String> prompts(LearnedConcepts concepts) throws IOException {
        List<String> all = new ArrayList<>(prompts);
        if (template != null) {
            ConceptPrompts.requireSlot(template, "--template");
            for (String name : concepts.tokenCounts().keySet()) all.add(ConceptPrompts.fill(template, name));
        }
        if (promptsFile != null) all.addAll(LineFiles.read(promptsFile, "--prompts-file"));
        if (all.isEmpty()) throw new BadInputException("no prompt: give --prompt \"...\" (repeatable), --prompts-file FILE, or --concepts with --template");
        return all;
    }

    /** A placeholder that no loaded concept owns would be tokenised as plain words: the clip would silently lack it. */
    private static void requireKnownConcepts(List<String> texts, LearnedConcepts concepts, PromptTokenizer tokenizer) {
        ConceptPrompts known = concepts == null ? null : concepts.prompts(tokenizer);
        for (String t : texts) {
            if (known != null) {
                known.requireKnown(t, "prompt '" + t + "'");
            } else if (!ConceptPrompts.placeholders(t).isEmpty()) {
                throw new BadInputException("prompt '" + t + "': " + ConceptPrompts.placeholders(t).get(0)
                        + " names a learned concept, but none is loaded; pass --concepts FILE (written by train)");
            }
        }
    }

    private Generator.Settings settings(ModelFolder folder, double frameRate, int k, long promptFrames) {
        long chosenSeed = seed != null ? seed : new java.security.SecureRandom().nextLong() & Long.MAX_VALUE;
        Generator.Settings d = Generator.Settings.fromGenerationConfig(folder.generationConfig(), chosenSeed);
        int maxNew = d.maxNewTokens() + (int) promptFrames;
        if (duration != null) {
            int total = Generator.maxNewTokensFor(duration, frameRate, k);
            if (total - (k - 1) <= promptFrames) {
                throw new BadInputException("--duration " + duration + " s is not longer than the audio prompt ("
                        + String.format(Locale.ROOT, "%.2f", promptFrames / frameRate) + " s); ask for a longer duration");
            }
            maxNew = total;
        }
        return new Generator.Settings(maxNew - (int) promptFrames, cfg != null ? cfg : d.guidanceScale(), !greedy && (d.sample() || topK != null || topP != null || temperature != null),
                topK != null ? topK : d.topK(), topP != null ? topP : d.topP(), temperature != null ? temperature : d.temperature(), chosenSeed);
    }

    private Wav.Options wavOptions() {
        Wav.Format f = switch (format.toLowerCase(Locale.ROOT)) {
            case "pcm16" -> Wav.Format.PCM16;
            case "float", "float32", "f32" -> Wav.Format.FLOAT32;
            default -> throw new BadInputException("--format " + format + ": use pcm16 or float");
        };
        Wav.Normalization n;
        try {
            n = Wav.Normalization.valueOf(normalize.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--normalize " + normalize + ": use none, peak, rms or loudness");
        }
        return Wav.Options.DEFAULT.withFormat(f).withNormalization(n);
    }

    /**
     * One file per clip: --out itself for a single clip named *.wav, else numbered files or a folder of named ones.
     * Prompts whose names coincide (the same prompt twice, or the same first 60 characters) get -2, -3, ... so that
     * no clip overwrites another.
     */
    private List<Path> targets(List<String> texts) {
        int clips = texts.size() * batch;
        String name = out.getFileName() == null ? "" : out.getFileName().toString();
        List<Path> targets = new ArrayList<>();
        if (isWav(out)) {
            String stem = name.substring(0, name.length() - 4);
            for (int i = 0; i < clips; i++) targets.add(clips == 1 ? out : out.resolveSibling(stem + "_" + (i + 1) + ".wav"));
        } else {
            Set<String> taken = new HashSet<>();
            for (String text : texts) {
                String slug = slug(text), stem = slug;
                for (int n = 2; !taken.add(stem); n++) stem = slug + "-" + n;
                for (int i = 0; i < batch; i++) targets.add(out.resolve(batch == 1 ? stem + ".wav" : stem + "_" + (i + 1) + ".wav"));
            }
        }
        return targets;
    }

    private static boolean isWav(Path file) {
        return file.getFileName() != null && file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".wav");
    }

    private static String slug(String text) {
        String s = text.toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N}]+", "-").replaceAll("(^-+|-+$)", "");
        return s.isEmpty() ? "clip" : s.substring(0, Math.min(60, s.length()));
    }

    /** Fails before minutes of generation rather than after them. */
    private static void checkWritable(List<Path> targets) {
        for (Path t : targets) {
            Path dir = t.toAbsolutePath().getParent();
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new BadInputException("--out " + t + ": cannot create the folder " + dir + " (" + e.getMessage() + "); choose another --out");
            }
            if (!Files.isWritable(dir)) throw new BadInputException("--out " + t + ": the folder " + dir + " is not writable; choose another --out");
            if (Files.isDirectory(t)) throw new BadInputException("--out " + t + ": is a folder; give a .wav file name or a folder without .wav");
        }
    }

    private static Path tokenizerFile(Path folder) {
        Path file = folder.resolve("tokenizer.json");
        if (!Files.exists(file)) {
            throw new BadInputException(folder + ": no tokenizer.json; a MusicGen folder from the hub has one (facebook/musicgen-small does)");
        }
        return file;
    }
}
