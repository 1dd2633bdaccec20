package ai.musicgenti.metrics;

import ai.musicgenti.metrics.NearestNeighbours;
import ai.musicgenti.core.BadInputException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Hand-made 2-D configurations: clips are points on the unit circle at the given angles (degrees). */
class NearestNeighboursTest {
    static float[][] at(double... degrees) {
        float[][] out = new float[degrees.length][];
        for (int i = 0; i < degrees.length; i++) {
            double r = Math.toRadians(degrees[i]);
            out[i] = new float[] {(float) Math.cos(r), (float) Math.sin(r)};
        }
        return out;
    }

    static float[][] scaled(float[][] x, float s) {
        float[][] out = new float[x.length][];
        for (int i = 0; i < x.length; i++) out[i] = new float[] {x[i][0] * s, x[i][1] * s};
        return out;
    }

    @Test
    void nearestIsByCosineWithTiesToTheLowerIndex() {
        double[][] pool = NearestNeighbours.unit(new float[][] {{1, 0}, {0, 1}, {2, 0}, {1, 1}}, 2, "pool");
        double[] q = NearestNeighbours.unit(new float[][] {{5, 0.1f}}, 2, "q")[0];
        assertArrayEquals(new int[] {0, 2, 3}, NearestNeighbours.nearest(q, pool, 3)); // 0 and 2 tie: 0 first
        assertThrows(BadInputException.class, () -> NearestNeighbours.unit(new float[][] {{0, 0}}, 2, "zero"));
    }

    @Test
    void knccCountsSharedTrainingNeighbours() {
        float[][] train = at(0, 10, 20, 30, 40, 180, 190, 200);
        // K = 2: v at 4 -> {0, 10}; g at 14 -> {10, 20}: one in common of 2
        assertEquals(0.5, NearestNeighbours.kncc(train, at(4), at(14), new int[] {0}, 2), 1e-15);
        // identical generation: all in common; opposite side: none
        assertEquals(1.0, NearestNeighbours.kncc(train, at(4), at(4), new int[] {0}, 2), 1e-15);
        assertEquals(0.0, NearestNeighbours.kncc(train, at(4), at(188), new int[] {0}, 2), 1e-15);
        // n = 2 validation clips with m = 2 generations each: normalised by n*m pairs (and K), not (n-1)(m-1)
        //   v0 = 4 -> {0,10}: g 4 -> 2 common, g 14 -> 1 common;  v1 = 192 -> {190, 200}: g 193 -> 2, g 4 -> 0
        double k = NearestNeighbours.kncc(train, at(4, 192), at(4, 14, 193, 4), new int[] {0, 0, 1, 1}, 2);
        assertEquals((2 + 1 + 2 + 0) / (4.0 * 2), k, 1e-15);
        // unpaired form over all |V| x |G| pairs: v 4 with g {4, 14} -> 2 + 1 of 2 * 2
        assertEquals(0.75, NearestNeighbours.knccAllPairs(train, at(4), at(4, 14), 2), 1e-15);
        // cosine: scale does not matter
        assertEquals(k, NearestNeighbours.kncc(scaled(train, 7), scaled(at(4, 192), 0.1f), scaled(at(4, 14, 193, 4), 3),
                new int[] {0, 0, 1, 1}, 2), 1e-15);
    }

    @Test
    void knccWithTheDefaultK() {
        float[][] train = at(0, 10, 20, 30, 40, 50, 60, 70, 80);
        // K = 5: v at 21 -> {20, 30, 10, 40, 0}; g at 39 -> {40, 30, 50, 20, 60}: {20, 30, 40} in common
        assertEquals(3 / 5.0, NearestNeighbours.kncc(train, at(21), at(39), new int[] {0}), 1e-15);
    }

    @Test
    void kncoCountsValidationClipsWithAGeneratedNeighbour() {
        float[][] train = at(0, 10, 20, 30);
        // K = 2 in T ∪ G: v 3 -> {2 (generated), 0}: hit; v 100 -> {30, 20}: miss
        assertEquals(0.5, NearestNeighbours.knco(train, at(3, 100), at(2), 2), 1e-15);
        // K = 1: v 3 -> {2}: hit; v 100 -> {30}: miss
        assertEquals(0.5, NearestNeighbours.knco(train, at(3, 100), at(2), 1), 1e-15);
        // a generation far from every validation clip: never a neighbour
        assertEquals(0.0, NearestNeighbours.knco(train, at(3, 100), at(250), 2), 1e-15);
        // copies of every validation clip: always a neighbour
        assertEquals(1.0, NearestNeighbours.knco(train, at(3, 100), at(100, 3)), 1e-15);
        // paired reading: the generation at 2 belongs to v 100, so it does not count for v 3
        assertEquals(0.0, NearestNeighbours.knco(train, at(3, 100), at(2), new int[] {1}, 2), 1e-15);
        assertEquals(0.5, NearestNeighbours.knco(train, at(3, 100), at(2), new int[] {0}, 2), 1e-15);
        // a generated clip that exactly ties a training clip loses the tie (training clips come first)
        assertEquals(0.0, NearestNeighbours.knco(train, at(10), at(10), 1), 1e-15);
    }

    @Test
    void badInputsAreNamed() {
        float[][] train = at(0, 10);
        assertThrows(BadInputException.class, () -> NearestNeighbours.kncc(train, at(5), at(5), new int[] {0}, 3));
        assertThrows(BadInputException.class, () -> NearestNeighbours.kncc(train, at(5), at(5), new int[] {1}, 1));
        assertThrows(BadInputException.class, () -> NearestNeighbours.kncc(train, at(5), at(5, 6), new int[] {0}, 1));
        assertThrows(BadInputException.class, () -> NearestNeighbours.knco(train, at(5), new float[][] {{1, 2, 3}}, 1));
    }
}
