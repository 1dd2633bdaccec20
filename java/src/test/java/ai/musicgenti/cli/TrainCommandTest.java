package ai.musicgenti.cli;

import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.train.LearnedConcepts;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainCommandTest {
    @Test
    void trainsSavesAndResumes(@TempDir Path dir) throws Exception {
        Path model = Golden.firstOfKind("musicgen_generate").dir();
        Path ds = dir.resolve("my-ds");
        torch.manual_seed(1);
        for (String split : List.of("train", "valid")) {
            for (String concept : List.of("a", "b")) {
                for (int i = 0; i < (split.equals("train") ? 3 : 1); i++) {
                    Tensor codes = torch.randint(0, 64, new long[]{1, 4, 20 + 7 * i});
                    Safetensors.write(ds.resolve(split).resolve(concept).resolve(i + ".safetensors"), Map.of("codes", codes), Map.of());
                }
            }
        }
        String[] common = {"--model", model.toString(), "--dataset", ds.toString(), "--out", dir.resolve("models").toString(),
                "--runs", dir.resolve("runs").toString(), "--train-prompts", "../configs/prompts/train.txt",
                "--valid-prompts", "../configs/prompts/valid.txt", "--music-len", "16"};
        assertEquals(0, Main.run(concat(new String[]{"train", "--concepts", "a", "b", "--tokens", "2", "--epochs", "1",
                "--batch-size", "2", "--shuffle-tokens", "--run", "r"}, common)));
        Path concepts = dir.resolve("models/my-ds/r.safetensors");
        try (Safetensors st = Safetensors.open(concepts)) {
            assertEquals("[\"a\",\"b\"]", st.metadata().get("concepts"));
            assertEquals("{\"a\":[\"<a_0>\",\"<a_1>\"],\"b\":[\"<b_0>\",\"<b_1>\"]}", st.metadata().get("tokens"));
            assertEquals("1", st.metadata().get("epoch"));
            assertTrue(st.metadata().get("metrics").contains("valid_ce"));
            assertEquals(List.of(2L, 24L), List.of(st.entry("a").shape()[0], st.entry("a").shape()[1]));
        }
        assertEquals(0, Main.run(concat(new String[]{"train", "--resume", "r", "--epochs", "2"}, common)));
        try (ModelFolder folder = ModelFolder.open(model)) {
            assertEquals(2, LearnedConcepts.load(concepts, folder).info().epoch());
        }
        assertEquals(2 * (3 + 1), Files.readAllLines(dir.resolve("runs/r/metrics.jsonl")).size(), "a line per step and per epoch");
        assertEquals(1, Main.run(concat(new String[]{"train", "--resume", "nope"}, common)));
        assertEquals(1, Main.run(concat(new String[]{"train", "--concepts", "a", "--run", "r"}, common)), "a second run under an existing name");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
