package ai.musicgenti.golden;

import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.models.EnCodec;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/** The {@code encodec} case: a bare EnCodec checkpoint, every stage from latent to trimmed audio. */
final class EnCodecGolden {
    private EnCodecGolden() {
    }

    static void run(GoldenCase c) {
        try (ModelFolder folder = ModelFolder.open(c.dir())) {
            EnCodec codec = new EnCodec(EnCodec.Config.fromJson(folder.config()), folder.weights(c.compute()));
            Tensor input = c.io("input_values");
            try (PointerScope scope = new PointerScope()) {
                Tensor latent = codec.encodeLatent(input);
                c.check("encoder_output", latent);
                c.checkDecisions("audio_codes", codec.quantize(latent));
                // later stages start from the reference codes, which equal ours where the decisions must all agree
                Tensor codes = c.io("audio_codes");
                c.check("quantizer_embeddings_per_codebook", codec.codebookVectors(codes));
                c.check("quantized_embeddings", codec.dequantize(codes));
                c.check("audio_values", codec.decode(codes));
                c.check("audio_values_trimmed", codec.decode(codes, input.size(2)));
            }
        }
    }

    /**
     * Encodes {@code <prefix>input_values} and checks {@code <prefix>audio_codes} and {@code <prefix>audio_values}
     * (the untrimmed decode of the reference codes). Reused by cases that embed an EnCodec.
     */
    static void checkRoundTrip(GoldenCase c, EnCodec codec, String prefix) {
        Tensor input = c.io(prefix + "input_values");
        try (PointerScope scope = new PointerScope()) {
            c.checkDecisions(prefix + "audio_codes", codec.encode(input));
            c.check(prefix + "audio_values", codec.decode(c.io(prefix + "audio_codes")));
        }
    }
}
