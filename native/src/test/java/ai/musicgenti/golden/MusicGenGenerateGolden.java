package ai.musicgenti.golden;

import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.models.MusicGen;

/** Kind {@code musicgen_generate}: CFG greedy generation at real 50 Hz timing and an EnCodec round trip. */
final class MusicGenGenerateGolden {
    private MusicGenGenerateGolden() {
    }

    static void run(GoldenCase c) {
        try (ModelFolder folder = ModelFolder.open(c.dir())) {
            MusicGen model = MusicGen.load(folder, c.compute());
            MusicGenGolden.generation(c, model);
            EnCodecGolden.checkRoundTrip(c, model.audioEncoder(), "enc.");
        }
    }
}
