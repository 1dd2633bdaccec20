package ai.musicgenti.golden;

import org.junit.jupiter.api.Assumptions;

final class MusicGenGolden {
    private MusicGenGolden() {
    }

    static void run(GoldenCase c) {
        Assumptions.abort("port in progress");
    }
}
