package ai.musicgenti.pipeline;

import ai.musicgenti.audio.AudioDecoder;
import ai.musicgenti.generation.MusicGeneration;
import ai.musicgenti.audio.Wav;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.generation.CodeSampler;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.concepts.ConceptPrompts;
import ai.musicgenti.text.PromptTokenizer;
import ai.musicgenti.concepts.LearnedConcepts;
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

/**
 * Text (plain, or naming learned concepts) and optionally an audio clip to continue, to WAV files. Picks plain or
 * concept conditioning, turns a duration into generation steps around the audio prompt, names one file per clip.
 */
public final class GenerateJob {
    /** The stage of {@link JobEvent.Progress} events: one per generation step. */
    public static final String STAGE = "generate";
    public static final int BATCH = 1;
    public static final String OUT = "out";
    public static final String FORMAT = "pcm16";
    public static final String NORMALIZE = "none";

    /**
     * Null fields take the checkpoint's {@code generation_config.json} (duration, top-k, top-p, temperature, cfg) or
     * a random seed (reported in the result).
     *
     * @param prompts      texts; may name loaded concepts as {@code <name>} or {@code <name_i>}
     * @param promptsFile  a UTF-8 file with one prompt per line, or null
     * @param conceptFiles learned concepts (.safetensors from train); empty = plain conditioning
     * @param template     a prompt with {@code %s}, filled with each loaded concept, or null
     * @param duration     seconds per clip, an audio prompt included
     * @param batch        clips per prompt
     * @param audioPrompt  an audio file whose codes start every clip, or null
     * @param out          a .wav file (one clip) or a folder
     */
    public record Settings(ModelChoice model, List<String> prompts, Path promptsFile, List<Path> conceptFiles, String template,
                           Double duration, int batch, Long seed, Integer topK, Double topP, Double temperature, Double cfg,
                           boolean greedy, Path audioPrompt, Path out, Wav.Options wav, boolean saveCodes) {
        public Settings {
            prompts = List.copyOf(prompts);
            conceptFiles = List.copyOf(conceptFiles);
        }

        public static Builder builder() {
            return new Builder();
        }

        public Builder toBuilder() {
            Builder b = new Builder();
            b.model = model;
            b.prompts = prompts;
            b.promptsFile = promptsFile;
            b.conceptFiles = conceptFiles;
            b.template = template;
            b.duration = duration;
            b.batch = batch;
            b.seed = seed;
            b.topK = topK;
            b.topP = topP;
            b.temperature = temperature;
            b.cfg = cfg;
            b.greedy = greedy;
            b.audioPrompt = audioPrompt;
            b.out = out;
            b.wav = wav;
            b.saveCodes = saveCodes;
            return b;
        }
    }

    /** Starts from the defaults of every front end. */
    public static final class Builder {
        private ModelChoice model = ModelChoice.defaults();
        private List<String> prompts = List.of();
        private Path promptsFile;
        private List<Path> conceptFiles = List.of();
        private String template;
        private Double duration;
        private int batch = BATCH;
        private Long seed;
        private Integer topK;
        private Double topP;
        private Double temperature;
        private Double cfg;
        private boolean greedy;
        private Path audioPrompt;
        private Path out = Path.of(OUT);
        private Wav.Options wav = wavOptions(FORMAT, NORMALIZE);
        private boolean saveCodes;

        public Builder model(ModelChoice v) { model = v; return this; }
        public Builder prompts(List<String> v) { prompts = v; return this; }
        public Builder promptsFile(Path v) { promptsFile = v; return this; }
        public Builder conceptFiles(List<Path> v) { conceptFiles = v; return this; }
        public Builder template(String v) { template = v; return this; }
        public Builder duration(Double v) { duration = v; return this; }
        public Builder batch(int v) { batch = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder topK(Integer v) { topK = v; return this; }
        public Builder topP(Double v) { topP = v; return this; }
        public Builder temperature(Double v) { temperature = v; return this; }
        public Builder cfg(Double v) { cfg = v; return this; }
        public Builder greedy(boolean v) { greedy = v; return this; }
        public Builder audioPrompt(Path v) { audioPrompt = v; return this; }
        public Builder out(Path v) { out = v; return this; }
        public Builder wav(Wav.Options v) { wav = v; return this; }
        public Builder saveCodes(boolean v) { saveCodes = v; return this; }

        public Settings build() {
            return new Settings(model, prompts, promptsFile, conceptFiles, template, duration, batch, seed, topK, topP, temperature,
                    cfg, greedy, audioPrompt, out, wav, saveCodes);
        }
    }

    /** One written clip: its WAV, its codes file (null unless asked for) and the prompt it came from. */
    public record Clip(Path wav, Path codes, String prompt) {
    }

    /** The clips in prompt order, the seed used and the seconds of audio per clip. */
    public record Result(List<Clip> clips, long seed, double seconds) {
    }

    /** WAV sample format (pcm16 or float) and normalisation (none, peak, rms, loudness), as the flags name them. */
    public static Wav.Options wavOptions(String format, String normalize) {
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

    private final Settings s;

    public GenerateJob(Settings settings) {
        this.s = settings;
    }

    /** Cancelled between generation steps: throws {@link CancelledException} and writes nothing. */
    public Result run(JobListener listener, Cancellation cancellation) throws IOException {
        Path out = s.out();
        if (s.template() != null && s.conceptFiles().isEmpty()) throw new BadInputException("--template needs --concepts FILE to fill it with");
        if (s.duration() != null && !(s.duration() > 0)) {
            throw new BadInputException("--duration " + s.duration() + ": must be a positive number of seconds");
        }
        if (s.batch() < 1) throw new BadInputException("--batch " + s.batch() + ": must be at least 1");
        if (out.getFileName() != null && AudioDecoder.isAudioFile(out) && !isWav(out)) {
            throw new BadInputException("--out " + out + ": only WAV is written; give a .wav file name (or a folder), and convert it afterwards");
        }
        Path folderPath = s.model().folder(listener.downloads());
        Compute compute = s.model().compute().forInference();
        try (ModelFolder folder = ModelFolder.open(folderPath); PromptTokenizer tokenizer = PromptTokenizer.load(tokenizerFile(folderPath))) {
            LearnedConcepts concepts = s.conceptFiles().isEmpty() ? null : LearnedConcepts.loadAll(s.conceptFiles(), folder);
            List<String> texts = prompts(concepts);
            requireKnownConcepts(texts, concepts, tokenizer);
            List<Path> targets = targets(texts);
            checkWritable(targets);
            MusicGen model = MusicGen.load(folder, compute);
            int rate = model.audioEncoder().samplingRate();
            int k = model.config().decoder().numCodebooks();
            double frameRate = model.audioEncoder().frameRate();

            List<String> rows = new ArrayList<>();
            for (String t : texts) for (int i = 0; i < s.batch(); i++) rows.add(t);

            Tensor promptAudio = null;
            long promptFrames = 0;
            if (s.audioPrompt() != null) {
                AudioDecoder.Audio clip = AudioDecoder.decode(s.audioPrompt(), rate, true);
                promptFrames = (clip.channels()[0].length + model.audioEncoder().hopLength() - 1) / model.audioEncoder().hopLength();
                promptAudio = Tensors.floats(clip.channels()[0], 1, 1, clip.channels()[0].length).repeat(rows.size(), 1, 1);
            }
            CodeSampler.Settings settings = sampling(folder, frameRate, k, promptFrames);
            MusicGeneration.checkLength(model, promptFrames, settings);
            double seconds = (promptFrames + settings.maxNewTokens() + 1 - k) / frameRate;
            listener.on(new JobEvent.Stage(STAGE, String.format(Locale.ROOT, "model %s on %s; %d clip(s) of %.2f s; seed %d",
                    s.model().model(), compute, rows.size(), seconds, settings.seed())));

            CodeSampler.StepListener progress = steps(listener, cancellation, settings.maxNewTokens());
            MusicGeneration.Music music;
            if (concepts != null) {
                LearnedConcepts.Conditioning c = concepts.condition(model, tokenizer, rows);
                music = MusicGeneration.fromEmbeddings(model, c.inputsEmbeds(), c.attentionMask(), promptAudio, settings, progress);
            } else {
                PromptTokenizer.Batch tokens = tokenizer.encode(rows);
                music = MusicGeneration.fromTokens(model, tokens.inputIds(), tokens.attentionMask(), promptAudio, settings, progress);
            }
            List<Clip> clips = new ArrayList<>();
            for (int i = 0; i < targets.size(); i++) {
                Path wav = targets.get(i);
                Wav.write(wav, music.audio(), i, rate, s.wav());
                listener.on(new JobEvent.FileWritten(wav, "wav"));
                Path codes = null;
                if (s.saveCodes()) {
                    codes = wav.resolveSibling(wav.getFileName().toString().replaceAll("\\.wav$", "") + ".codes.safetensors");
                    Safetensors.write(codes, Map.of("codes", music.codes().narrow(0, i, 1)),
                            Map.of("prompt", rows.get(i), "model", s.model().id(), "seed", Long.toString(settings.seed())));
                    listener.on(new JobEvent.FileWritten(codes, "codes"));
                }
                clips.add(new Clip(wav, codes, rows.get(i)));
            }
            return new Result(clips, settings.seed(), seconds);
        }
    }

    /**
     * Progress per generation step, and the cancellation check: throwing from the step listener leaves the sampling
     * loop, whose per-step native memory is freed by its scope.
     */
    public static CodeSampler.StepListener steps(JobListener listener, Cancellation cancellation, int total) {
        return (step, cond, uncond, scores, tokens) -> {
            cancellation.check();
            listener.on(new JobEvent.Progress(STAGE, step + 1, total));
        };
    }

    private List<String> prompts(LearnedConcepts concepts) {
        List<String> all = new ArrayList<>(s.prompts());
        if (s.template() != null) {
            ConceptPrompts.requireSlot(s.template(), "--template");
            for (String name : concepts.tokenCounts().keySet()) all.add(ConceptPrompts.fill(s.template(), name));
        }
        if (s.promptsFile() != null) all.addAll(LineFiles.read(s.promptsFile(), "--prompts-file"));
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

    /** The checkpoint's generation settings with the given ones on top; a duration counts the audio prompt's frames in. */
    private CodeSampler.Settings sampling(ModelFolder folder, double frameRate, int k, long promptFrames) {
        long chosenSeed = s.seed() != null ? s.seed() : new java.security.SecureRandom().nextLong() & Long.MAX_VALUE;
        CodeSampler.Settings d = CodeSampler.Settings.fromGenerationConfig(folder.generationConfig(), chosenSeed);
        int maxNew = d.maxNewTokens() + (int) promptFrames;
        if (s.duration() != null) {
            int total = CodeSampler.maxNewTokensFor(s.duration(), frameRate, k);
            if (total - (k - 1) <= promptFrames) {
                throw new BadInputException("--duration " + s.duration() + " s is not longer than the audio prompt ("
                        + String.format(Locale.ROOT, "%.2f", promptFrames / frameRate) + " s); ask for a longer duration");
            }
            maxNew = total;
        }
        boolean sample = !s.greedy() && (d.sample() || s.topK() != null || s.topP() != null || s.temperature() != null);
        return new CodeSampler.Settings(maxNew - (int) promptFrames, s.cfg() != null ? s.cfg() : d.guidanceScale(), sample,
                s.topK() != null ? s.topK() : d.topK(), s.topP() != null ? s.topP() : d.topP(),
                s.temperature() != null ? s.temperature() : d.temperature(), chosenSeed);
    }

    /**
     * One file per clip: --out itself for a single clip named *.wav, else numbered files or a folder of named ones.
     * Prompts whose names coincide (the same prompt twice, or the same first 60 characters) get -2, -3, ... so that
     * no clip overwrites another.
     */
    private List<Path> targets(List<String> texts) {
        Path out = s.out();
        int batch = s.batch();
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
