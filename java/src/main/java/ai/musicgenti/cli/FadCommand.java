package ai.musicgenti.cli;

import ai.musicgenti.audio.AudioDecoder;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.eval.AudioEmbedder;
import ai.musicgenti.eval.ClapEmbedder;
import ai.musicgenti.eval.ClapWindows;
import ai.musicgenti.eval.EncodecEmbedder;
import ai.musicgenti.metrics.Frechet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** Fréchet Audio Distance between two folders of audio on CLAP embeddings, like fadtk's command. */
@Command(name = "fad", mixinStandardHelpOptions = true,
        description = "Fréchet Audio Distance between two folders of audio (or saved statistics), on LAION CLAP music or EnCodec embeddings.")
final class FadCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "Reference: a folder of audio, or a statistics file (.safetensors) saved with --save-stats.")
    Path reference;

    @Parameters(index = "1", description = "Evaluated: a folder of audio.")
    Path evaluated;

    @Option(names = "--embedding", defaultValue = "clap", description = "clap (LAION CLAP music, 10 s windows) or encodec (EnCodec latents per frame, no extra model) (default: ${DEFAULT-VALUE}).")
    String embedding;

    @Option(names = "--windows", defaultValue = ClapWindows.DEFAULT, description = ClapWindows.OPTION_HELP)
    String windows;

    @Option(names = "--clap", defaultValue = ClapEmbedder.DEFAULT_CLAP, description = "CLAP checkpoint: hub id or local folder (default: ${DEFAULT-VALUE}).")
    String clap;

    @Option(names = "--codec", defaultValue = "facebook/musicgen-small", description = "For --embedding encodec: a MusicGen or EnCodec checkpoint, hub id or folder (default: ${DEFAULT-VALUE}).")
    String codec;

    @Option(names = "--cache", description = "Embedding cache folder (default: ~/.cache/musicgen-ti/embeddings).")
    Path cache;

    @Option(names = "--save-stats", description = "Also save the reference's mean and covariance here, to reuse as a background set.")
    Path saveStats;

    @Option(names = "--per-song", description = "Also print each evaluated file's FAD against the reference, best first.")
    boolean perSong;

    @Option(names = "--inf", description = "Also print FAD-inf: fadtk's score_inf (25 subset sizes linspace(500, N) drawn with replacement, a line in 1/N, its intercept).")
    boolean inf;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of FAD-inf's subsets (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Override
    public Integer call() throws IOException {
        CpuThreads.configure(0);
        Compute compute = Compute.choose(device, "f32");
        boolean useClap = switch (embedding.toLowerCase(Locale.ROOT)) {
            case "clap" -> true;
            case "encodec" -> false;
            default -> throw new BadInputException("--embedding " + embedding + ": use clap or encodec");
        };
        ClapWindows clapWindows = ClapWindows.parse(windows);
        try (AudioEmbedder embedder = useClap
                ? ClapEmbedder.open(clap, clapWindows, compute, cache, new ProgressBar())
                : EncodecEmbedder.open(codec, compute, cache, new ProgressBar())) {
            String model = embedder instanceof ClapEmbedder c ? c.statsModel(clap) : codec;
            Frechet.Stats ref;
            if (Files.isRegularFile(reference) && AudioDecoder.isAudioFile(reference)) {
                throw new BadInputException(reference + ": an audio file, not a folder of audio nor statistics saved with --save-stats; "
                        + "give the folder it is in");
            } else if (Files.isRegularFile(reference)) {
                Frechet.Saved saved = Frechet.load(reference);
                if (!saved.embeddingModel().equals(model)) {
                    throw new BadInputException(reference + " holds statistics of '" + saved.embeddingModel() + "', not '" + model
                            + "': give the --embedding, --clap/--codec and --windows they were saved with, or save them again with --save-stats");
                }
                ref = saved.stats();
            } else {
                ref = Frechet.stats(List.copyOf(embed(embedder, reference).values()));
                if (saveStats != null) Frechet.save(saveStats, ref, model);
            }
            Map<String, float[][]> songs = embed(embedder, evaluated);
            Frechet.Stats eval = Frechet.stats(List.copyOf(songs.values()));
            ref.warning().ifPresent(w -> System.err.println("warning: reference " + w));
            eval.warning().ifPresent(w -> System.err.println("warning: evaluated " + w));
            Frechet.Reference r = new Frechet.Reference(ref);
            System.out.printf(Locale.ROOT, "fad %.6f  (%d reference and %d evaluated rows: %s of %s)%n",
                    r.distanceTo(eval), ref.count(), eval.count(), embedder.describeRows(), useClap ? clap : codec);
            if (inf) {
                float[][] all = songs.values().stream().flatMap(Stream::of).toArray(float[][]::new);
                Frechet.FadInf f = Frechet.fadInf(r, all, seed);
                System.out.printf(Locale.ROOT, "fad-inf %.6f  (slope %.4f, r2 %.4f; %s)%n", f.score(), f.slope(), f.r2(),
                        Frechet.infProcedure(all.length, seed));
            }
            if (perSong) {
                // a song without a covariance is skipped, not fatal: the others' scores still stand
                Frechet.PerSong ranked = Frechet.perSong(r, songs);
                ranked.skipped().forEach((name, why) -> System.err.printf(Locale.ROOT, "warning: --per-song skips %s: %s (%s)%n", name, why,
                        embedder.describeRows()));
                for (Frechet.SongScore s : ranked.scores()) System.out.printf(Locale.ROOT, "  %12.6f  %s%n", s.fad(), s.song());
            }
        }
        return 0;
    }

    /** Every audio file below a folder, by relative path, with its window embeddings. */
    static Map<String, float[][]> embed(AudioEmbedder embedder, Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new BadInputException(dir + ": not a folder of audio files (nor a statistics file); check the path");
        List<Path> files = AudioDecoder.audioFiles(dir);
        if (files.isEmpty()) throw new BadInputException(dir + ": no audio files (" + String.join(", ", AudioDecoder.AUDIO_EXTENSIONS) + ") in it; check the path");
        Map<String, float[][]> out = new LinkedHashMap<>();
        Map<String, String> unreadable = new LinkedHashMap<>();
        int i = 0;
        try (CpuThreads.Phase threads = embedder.threads()) {
            for (Path f : files) {
                System.err.printf(Locale.ROOT, "\rembedding %s: %d/%d ", dir.getFileName(), ++i, files.size());
                try {
                    out.put(dir.relativize(f).toString(), embedder.embed(f));
                } catch (BadInputException e) {
                    // as prepare does: one broken file should not cost the others, and is listed at the end
                    unreadable.put(dir.relativize(f).toString(), e.getMessage().replace(f.toString() + ": ", ""));
                }
            }
        }
        System.err.println();
        unreadable.forEach((f, why) -> System.err.println("warning: skipped " + dir.resolve(f) + ": " + why));
        if (out.isEmpty()) throw new BadInputException(dir + ": none of its " + files.size() + " audio files could be read (see above); check the files");
        return out;
    }
}
