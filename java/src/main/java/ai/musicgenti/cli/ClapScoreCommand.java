package ai.musicgenti.cli;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.eval.ClapEmbedder;
import ai.musicgenti.eval.ClapWindows;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** The CLAP text–audio score of a folder of audio against one or more texts. */
@Command(name = "clap-score", mixinStandardHelpOptions = true,
        description = "CLAP text-audio score: the mean cosine between each --text and the CLAP embedding of each file of a folder of audio"
                + " (the mean of its 10 s windows, as eval scores clips).")
final class ClapScoreCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "A folder of audio files.")
    Path audio;

    @Option(names = "--text", required = true, description = "A text to score the audio against; repeatable.")
    List<String> texts = new ArrayList<>();

    @Option(names = "--per-file", description = "Also print each file's score, best first.")
    boolean perFile;

    @Option(names = "--clap", defaultValue = ClapEmbedder.DEFAULT_CLAP, description = "CLAP checkpoint: hub id or local folder (default: ${DEFAULT-VALUE}).")
    String clap;

    @Option(names = "--windows", defaultValue = ClapWindows.DEFAULT, description = ClapWindows.OPTION_HELP)
    String windows;

    @Option(names = "--cache", description = "Embedding cache folder (default: ~/.cache/musicgen-ti/embeddings).")
    Path cache;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Override
    public Integer call() throws IOException {
        if (texts.stream().anyMatch(String::isBlank)) throw new BadInputException("--text: give a non-empty description");
        if (!Files.isDirectory(audio)) throw new BadInputException(audio + ": not a folder of audio files; check the path");
        ClapWindows clapWindows = ClapWindows.parse(windows);
        CpuThreads.configure(0);
        try (ClapEmbedder embedder = ClapEmbedder.open(clap, clapWindows, Compute.choose(device, "f32"), cache, new ProgressBar())) {
            float[][] textRows = embedder.embedTexts(texts);
            Map<String, float[][]> files = FadCommand.embed(embedder, audio);
            // one embedding per file, as eval's CLAP score takes one per clip: overlapping windows are not separate clips
            Map<String, float[]> perClip = new LinkedHashMap<>();
            files.forEach((name, rows) -> perClip.put(name, ClapEmbedder.clipEmbedding(rows)));
            float[][] clips = perClip.values().toArray(float[][]::new);
            int windowCount = files.values().stream().mapToInt(rows -> rows.length).sum();
            for (int t = 0; t < texts.size(); t++) {
                float[] text = textRows[t];
                Map<String, Double> perSong = new LinkedHashMap<>();
                perClip.forEach((name, clip) -> perSong.put(name, ClapEmbedder.score(text, new float[][]{clip})));
                System.out.printf(Locale.ROOT, "clap-score %.4f  \"%s\"  (%d files, %d windows: %s, one embedding per file (the mean of its"
                        + " windows) of %s)%n", ClapEmbedder.score(text, clips), texts.get(t), files.size(), windowCount, embedder.describeRows(), clap);
                if (perFile) {
                    perSong.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue(Comparator.reverseOrder()))
                            .forEach(e -> System.out.printf(Locale.ROOT, "  %8.4f  %s%n", e.getValue(), e.getKey()));
                }
            }
        }
        return 0;
    }
}
