package ai.musicgenti.golden;

import ai.musicgenti.audio.ClapFeatures;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.models.ClapAudioEncoder;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import java.util.Arrays;
import java.util.List;

/**
 * CLAP audio tower against HF {@code ClapFeatureExtractor} + {@code ClapModel}: the log-mel features of a short
 * (tiled) and a long (cropped at the reference's offset) waveform, then the pooled, projected and normalised
 * embeddings. The model runs on the reference features so that its checks do not inherit the extractor's error.
 */
final class ClapGolden {
    private ClapGolden() {
    }

    static void run(GoldenCase c) {
        float[] shortWave = Tensors.toFloats(c.io("waveform_short"));
        float[] longWave = Tensors.toFloats(c.io("waveform_long"));
        long offset = c.ioLong("rand_trunc_offset");
        Tensor reference = c.io("input_features");
        try (ModelFolder folder = ModelFolder.open(c.dir())) {
            // the extractor computes in F32 on the CPU whatever the models' setting: checked before asking for it
            ClapFeatures extractor = new ClapFeatures(ClapFeatures.Config.fromJson(
                    ModelFolder.readJson(c.dir().resolve("preprocessor_config.json"), true)));
            Tensor ours;
            try (PointerScope scope = new PointerScope()) {
                ClapFeatures.Batch batch = extractor.features(List.of(shortWave, longWave), Arrays.asList(null, offset));
                c.check("input_features", batch.inputFeatures());
                c.check("is_longer", batch.isLonger());
                ClapFeatures.Clip single = extractor.features(longWave, offset);
                c.check("input_features", torch.cat(new TensorVector(extractor.features(shortWave, null).inputFeatures(),
                        single.inputFeatures()), 0));
                ours = batch.inputFeatures();
                ours.retainReference();
            }

            ClapAudioEncoder encoder = new ClapAudioEncoder(ClapAudioEncoder.Config.fromJson(folder.config()),
                    folder.weights(c.compute()));
            try (PointerScope scope = new PointerScope()) {
                ClapAudioEncoder.Output out = encoder.forward(reference);
                c.check("pooler_output", out.pooler());
                c.check("audio_features", out.features());
                c.check("audio_embeds", out.embeds());
                // end to end from our own features: the extractor's error must not move the embedding either
                c.check("audio_embeds", encoder.forward(ours).embeds());
            }
        }
    }
}
