package ai.musicgenti.cli;

import ai.musicgenti.audio.Wav;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.concepts.LearnedConcepts;
import ai.musicgenti.train.MetricsLines;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

public class TrainCommandTest {
    /** The user's whole path: clips → prepare → train → resume → generate with the learned concepts. */
    @Test
    void preparesTrainsResumesAndGeneratesWithConcepts(@TempDir Path dir) throws Exception {
        Path model = Golden.firstOfKind("musicgen_generate").dir();
        Path ds = preparedDataset(dir, model);
        String[] common = {"--model", model.toString(), "--dataset", ds.toString(), "--out", dir.resolve("models").toString(),
                "--runs", dir.resolve("runs").toString(), "--music-len", "16"};
        assertEquals(0, Main.run(concat(new String[]{"train", "--concepts", "a", "b", "--tokens", "2", "--epochs", "1",
                "--batch-size", "4", "--shuffle-tokens", "--run", "r"}, common)));
        Path concepts = dir.resolve("models/my-ds/r.safetensors");
        try (Safetensors st = Safetensors.open(concepts)) {
            assertEquals("[\"a\",\"b\"]", st.metadata().get("concepts"));
            assertEquals("{\"a\":[\"<a_0>\",\"<a_1>\"],\"b\":[\"<b_0>\",\"<b_1>\"]}", st.metadata().get("tokens"));
            assertEquals("1", st.metadata().get("epoch"));
            assertTrue(st.metadata().get("metrics").contains("valid_ce"));
            assertEquals(List.of(2L, 24L), List.of(st.entry("a").shape()[0], st.entry("a").shape()[1]));
        }
        int steps = Files.readAllLines(dir.resolve("runs/r/metrics.jsonl")).size();
        assertEquals(0, Main.run(concat(new String[]{"train", "--resume", "r", "--epochs", "2"}, common)));
        try (ModelFolder folder = ModelFolder.open(model)) {
            assertEquals(2, LearnedConcepts.load(concepts, folder).info().epoch());
        }
        assertEquals(2 * steps, Files.readAllLines(dir.resolve("runs/r/metrics.jsonl")).size(), "a line per step and per epoch");
        assertEquals(1, Main.run(concat(new String[]{"train", "--resume", "nope"}, common)));
        assertEquals(1, Main.run(concat(new String[]{"train", "--concepts", "a", "--run", "r"}, common)), "a second run under an existing name");
        assertEquals(1, Main.run(concat(new String[]{"train", "--concepts", "a", "--run", "packed", "--dtype", "f16w"}, common)),
                "f16w weights have no gradients");
        assertTrue(!Files.exists(dir.resolve("runs/packed")), "a refused run leaves no folder");

        Path out = dir.resolve("out");
        assertEquals(0, Main.run("generate", "--model", model.toString(), "--concepts", concepts.toString(),
                "--template", "music in the style of %s", "--prompt", "<a> and <b_1> together", "--duration", "0.3",
                "--seed", "2", "--out", out.toString()));
        for (String name : List.of("music-in-the-style-of-a", "music-in-the-style-of-b", "a-and-b-1-together")) {
            assertEquals(15 * 640, Wav.read(out.resolve(name + ".wav")).frames(), name);
        }
        // the learned rows go into T5's input, so generation with packed F16 decoder weights takes them as they are
        Path packed = dir.resolve("packed.wav");
        assertEquals(0, Main.run("generate", "--model", model.toString(), "--concepts", concepts.toString(), "--dtype", "f16w",
                "--prompt", "<a> and <b>", "--duration", "0.3", "--seed", "2", "--out", packed.toString()));
        assertEquals(15 * 640, Wav.read(packed).frames());
        assertEquals(1, Main.run("generate", "--model", model.toString(), "--concepts", dir.resolve("nope.safetensors").toString(),
                "--prompt", "x", "--out", out.toString()), "a missing concepts file is a user error");
    }

    /**
     * A run keeps the dtype it ran in: resumed without --dtype it continues in it, exactly as the run in one go, and
     * another dtype is refused (it would continue, but not exactly).
     */
    @Test
    void aRunResumesInItsOwnDtype(@TempDir Path dir) throws Exception {
        Path model = Golden.firstOfKind("musicgen_generate").dir();
        Path ds = preparedDataset(dir, model);
        String[] common = {"--model", model.toString(), "--dataset", ds.toString(), "--out", dir.resolve("models").toString(),
                "--runs", dir.resolve("runs").toString(), "--music-len", "16", "--concepts", "a", "--tokens", "2", "--batch-size", "4"};
        assertEquals(0, Main.run(concat(new String[]{"train", "--dtype", "bf16", "--epochs", "2", "--run", "whole"}, common)));
        assertEquals(0, Main.run(concat(new String[]{"train", "--dtype", "bf16", "--epochs", "1", "--run", "split"}, common)));
        String[] runDirs = {"--out", dir.resolve("models").toString(), "--runs", dir.resolve("runs").toString()};
        assertEquals(1, Main.run(concat(new String[]{"train", "--resume", "split", "--epochs", "2", "--dtype", "f32"}, runDirs)),
                "another dtype is refused");
        assertEquals(0, Main.run(concat(new String[]{"train", "--resume", "split", "--epochs", "2"}, runDirs)));

        assertEquals(MetricsLines.withoutClock(dir.resolve("runs/whole/metrics.jsonl")), MetricsLines.withoutClock(dir.resolve("runs/split/metrics.jsonl")));
        try (Safetensors whole = Safetensors.open(dir.resolve("models/my-ds/whole.safetensors"));
             Safetensors split = Safetensors.open(dir.resolve("models/my-ds/split.safetensors"))) {
            assertTrue(org.bytedeco.pytorch.global.torch.equal(whole.mapped("a"), split.mapped("a")), "the same rows as the run in one go");
        }
        assertTrue(Files.readString(dir.resolve("runs/split/config.json")).contains("\"dtype\" : \"bf16\""));
    }

    /** Two concepts of four 1 s sine clips each (a low, b high), prepared into 0.4 s fragments. */
    static Path preparedDataset(Path dir, Path model) throws Exception {
        Path clips = clips(dir);
        Path ds = dir.resolve("my-ds");
        assertEquals(0, Main.run("prepare", clips.toString(), "--dataset", ds.toString(), "--model", model.toString(),
                "--fragment-seconds", "0.4", "--val-fraction", "0.25"));
        return ds;
    }

    /** {@code dir/clips/{a,b}/clip i.wav}: four 1 s sine clips per concept, a low, b high. */
    public static Path clips(Path dir) throws Exception {
        Path clips = dir.resolve("clips");
        for (String concept : List.of("a", "b")) {
            for (int i = 0; i < 4; i++) {
                float[] x = new float[32000];
                double f = (concept.equals("a") ? 220 : 1500) * (1 + 0.1 * i);
                for (int n = 0; n < x.length; n++) x[n] = (float) (0.4 * Math.sin(2 * Math.PI * f * n / 32000.0));
                Wav.write(clips.resolve(concept).resolve("clip " + i + ".wav"), new float[][]{x}, 32000, Wav.Format.PCM16);
            }
        }
        return clips;
    }

    static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
