package ai.musicgenti.models;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.golden.Golden;
import ai.musicgenti.golden.GoldenCase;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClapAudioEncoderTest {

    @Test
    void computedRelativePositionIndexEqualsTheStoredBufferOfEveryBlock() throws Exception {
        GoldenCase c = Golden.firstOfKind("clap_audio");
        try (ModelFolder folder = ModelFolder.open(c.dir())) {
            ClapAudioEncoder.Config config = ClapAudioEncoder.Config.fromJson(folder.config());
            int window = config.windowSize();
            long[] computed = ClapAudioEncoder.relativePositionIndex(window);
            List<String> buffers = folder.store().names().stream().filter(n -> n.endsWith(".relative_position_index")).sorted().toList();
            assertEquals(Arrays.stream(config.depths()).sum(), buffers.size(), "one buffer per Swin block: " + buffers);
            for (String name : buffers) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor stored = folder.store().tensor(name);
                    assertArrayEquals(new long[]{(long) window * window, (long) window * window}, stored.shape(), name);
                    assertArrayEquals(Tensors.toLongs(stored.to(ScalarType.Long)), computed, name);
                }
            }
        }
    }

    @Test
    void bfloat16EmbeddingsStayCloseToF32() throws Exception {
        GoldenCase c = Golden.firstOfKind("clap_audio");
        Tensor features = c.io("input_features");
        float[] expected = Tensors.toFloats(c.io("audio_embeds"));
        try (ModelFolder folder = ModelFolder.open(c.dir())) {
            ClapAudioEncoder encoder = new ClapAudioEncoder(ClapAudioEncoder.Config.fromJson(folder.config()),
                    folder.weights(new Compute(new Device("cpu"), ScalarType.BFloat16)));
            try (PointerScope scope = new PointerScope()) {
                float[] actual = Tensors.toFloats(encoder.forward(features).embeds());
                int dim = expected.length / 2;
                for (int b = 0; b < 2; b++) {
                    double dot = 0;
                    for (int i = 0; i < dim; i++) dot += expected[b * dim + i] * actual[b * dim + i];
                    System.out.printf("clip %d: bf16 cosine with the F32 reference %.5f%n", b, dot);
                    assertTrue(dot > 0.99, "clip " + b + ": cosine with the F32 reference is " + dot);
                }
            }
        }
    }
}
