package ai.musicgenti.golden;

import org.junit.jupiter.api.Assumptions;

final class MusicGenGenerateGolden {
    private MusicGenGenerateGolden() {
    }

    static void run(GoldenCase c) {
        Assumptions.abort("port in progress");
    }
}
