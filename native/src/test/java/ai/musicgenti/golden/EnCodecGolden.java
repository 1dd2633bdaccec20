package ai.musicgenti.golden;

import org.junit.jupiter.api.Assumptions;

final class EnCodecGolden {
    private EnCodecGolden() {
    }

    static void run(GoldenCase c) {
        Assumptions.abort("port in progress");
    }
}
