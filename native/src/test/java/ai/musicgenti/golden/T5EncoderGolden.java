package ai.musicgenti.golden;

import org.junit.jupiter.api.Assumptions;

final class T5EncoderGolden {
    private T5EncoderGolden() {
    }

    static void run(GoldenCase c) {
        Assumptions.abort("port in progress");
    }
}
