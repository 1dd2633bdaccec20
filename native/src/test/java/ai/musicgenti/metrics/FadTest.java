package ai.musicgenti.metrics;

import ai.musicgenti.metrics.Frechet;
import ai.musicgenti.metrics.SymmetricEigen;
import ai.musicgenti.core.BadInputException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FadTest {
    @TempDir
    Path dir;

    /** Rows x_i = mean + scale ⊙ z_i with z standard normal (seeded). */
    static float[][] gaussian(int n, int d, double mean, double scale, long seed) {
        Random r = new Random(seed);
        float[][] out = new float[n][d];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < d; k++) out[i][k] = (float) (mean + scale * r.nextGaussian());
        }
        return out;
    }

    /** Correlated rows: z A with a random mixing matrix, so covariances are full and do not commute. */
    static float[][] correlated(int n, int d, long seed) {
        Random r = new Random(seed);
        double[][] a = new double[d][d];
        for (double[] row : a) {
            for (int k = 0; k < d; k++) row[k] = r.nextGaussian();
        }
        float[][] out = new float[n][d];
        double[] z = new double[d];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < d; k++) z[k] = r.nextGaussian();
            for (int k = 0; k < d; k++) {
                double s = 0.3;
                for (int j = 0; j < d; j++) s += z[j] * a[j][k];
                out[i][k] = (float) s;
            }
        }
        return out;
    }

    static double[][] randomSymmetric(int n, long seed) {
        Random r = new Random(seed);
        double[][] m = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) m[i][j] = m[j][i] = r.nextGaussian();
        }
        return m;
    }

    static void assertEigen(double[][] a, double tol) {
        SymmetricEigen e = SymmetricEigen.of(a);
        double[] w = e.values();
        double[][] v = e.vectors();
        int n = a.length;
        double scale = 1;
        for (double[] row : a) for (double x : row) scale = Math.max(scale, Math.abs(x));
        for (int j = 1; j < n; j++) assertTrue(w[j - 1] <= w[j], "ascending eigenvalues");
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double av = 0, vtv = 0;
                for (int k = 0; k < n; k++) {
                    av += a[i][k] * v[k][j];
                    vtv += v[k][i] * v[k][j];
                }
                assertEquals(w[j] * v[i][j], av, tol * scale * n, "A v = lambda v at (" + i + ", " + j + ")");
                assertEquals(i == j ? 1 : 0, vtv, tol * n, "orthonormal vectors at (" + i + ", " + j + ")");
            }
        }
    }

    @Test
    void eigenSolverResidualsOnAwkwardMatrices() {
        assertEigen(randomSymmetric(1, 1), 1e-14);
        assertEigen(randomSymmetric(2, 2), 1e-14);
        assertEigen(randomSymmetric(37, 3), 1e-14);
        assertEigen(new double[5][5], 1e-14); // zero matrix
        double[][] id = new double[6][6];
        for (int i = 0; i < 6; i++) id[i][i] = i < 3 ? 2 : 1; // repeated eigenvalues
        assertEigen(id, 1e-14);
        // rank-deficient PSD: covariance of fewer rows than dimensions
        assertEigen(Frechet.stats(gaussian(5, 12, 0, 1, 4)).cov(), 1e-14);
        double[] w = SymmetricEigen.of(new double[][] {{2, 1}, {1, 2}}).values();
        assertArrayEquals(new double[] {1, 3}, w, 1e-15);
    }

    @Test
    void eigenSolverHandlesClapWidth() {
        long t0 = System.nanoTime();
        double[][] cov = Frechet.stats(correlated(600, 512, 5)).cov();
        long t1 = System.nanoTime();
        SymmetricEigen e = SymmetricEigen.of(cov);
        long t2 = System.nanoTime();
        System.out.printf("512-dim: stats of 600 rows %.2f s, eigen-decomposition %.2f s%n", (t1 - t0) / 1e9, (t2 - t1) / 1e9);
        double[] w = e.values();
        double trace = 0, sum = 0;
        for (int i = 0; i < 512; i++) trace += cov[i][i];
        for (double x : w) sum += x;
        assertEquals(trace, sum, 1e-10 * trace);
    }

    @Test
    void statsAreMeanAndUnbiasedCovariance() {
        float[][] x = {{1, 2}, {3, 6}, {5, 4}};
        Frechet.Stats s = Frechet.stats(x);
        assertArrayEquals(new double[] {3, 4}, s.mean(), 0);
        assertArrayEquals(new double[] {4, 2}, s.cov()[0], 1e-15); // var x = 8/2, cov = (-2*-2 + 0 + 2*0)/2
        assertArrayEquals(new double[] {2, 4}, s.cov()[1], 1e-15);
        assertEquals(3, s.count());
        assertThrows(BadInputException.class, () -> Frechet.stats(new float[][] {{1, 2}}));
        assertThrows(BadInputException.class, () -> Frechet.stats(new float[][] {{1, 2}, {1}}));
        assertThrows(BadInputException.class, () -> Frechet.stats(new float[][] {{1, Float.NaN}, {1, 2}}));
    }

    @Test
    void streamingStatsMatchTwoPassStats() {
        float[][] a = gaussian(700, 9, 40, 0.5, 51), b = gaussian(300, 9, 40, 0.5, 52); // far from the origin
        Frechet.Stats exact = Frechet.stats(List.of(a, b));
        Frechet.Stats streamed = new Frechet.Accumulator().add(a).add(b).stats();
        assertEquals(1000, streamed.count());
        for (int i = 0; i < 9; i++) {
            assertEquals(exact.mean()[i], streamed.mean()[i], 1e-12 * 40);
            for (int j = 0; j < 9; j++) assertEquals(exact.cov()[i][j], streamed.cov()[i][j], 1e-11 * 0.25);
        }
        assertThrows(BadInputException.class, () -> new Frechet.Accumulator().add(a[0]).stats());
    }

    @Test
    void distanceMatchesClosedForms() {
        // diagonal covariances: |dmu|^2 + sum (sigma_a - sigma_b)^2
        Frechet.Stats a = new Frechet.Stats(new double[] {0, 1, 2}, diag(1, 4, 9), 100);
        Frechet.Stats b = new Frechet.Stats(new double[] {1, 1, 0}, diag(4, 4, 1), 100);
        assertEquals(1 + 4 + 1 + 0 + 4, Frechet.distance(a, b), 1e-12);
        // 2 x 2 non-commuting: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) for M = C_a C_b with real positive eigenvalues
        double[][] ca = {{2, 0.7}, {0.7, 1}}, cb = {{0.5, -0.2}, {-0.2, 3}};
        double trM = 0;
        for (int i = 0; i < 2; i++) for (int k = 0; k < 2; k++) trM += ca[i][k] * cb[k][i];
        double det = (ca[0][0] * ca[1][1] - ca[0][1] * ca[1][0]) * (cb[0][0] * cb[1][1] - cb[0][1] * cb[1][0]);
        double expected = 3 + 3.5 - 2 * Math.sqrt(trM + 2 * Math.sqrt(det));
        double got = Frechet.distance(new Frechet.Stats(new double[2], ca, 10), new Frechet.Stats(new double[2], cb, 10));
        assertEquals(expected, got, 1e-13 * expected);
    }

    @Test
    void rankDeficientDistanceMatchesTheNuclearNormForm() {
        // tr sqrt(C_a C_b) = ||X_a X_b^T||_* / sqrt((n_a-1)(n_b-1)) for centred rows X: here 30 and 25 rows in 64 dims
        float[][] a = correlated(30, 64, 61), b = correlated(25, 64, 62);
        Frechet.Stats sa = Frechet.stats(a), sb = Frechet.stats(b);
        double[][] xa = centred(a, sa.mean()), xb = centred(b, sb.mean());
        double[][] k = new double[30][25];
        for (int i = 0; i < 30; i++) {
            for (int j = 0; j < 25; j++) {
                for (int c = 0; c < 64; c++) k[i][j] += xa[i][c] * xb[j][c];
            }
        }
        double[][] kkt = new double[30][30];
        for (int i = 0; i < 30; i++) {
            for (int j = 0; j < 30; j++) {
                for (int c = 0; c < 25; c++) kkt[i][j] += k[i][c] * k[j][c];
            }
        }
        double nuclear = SymmetricEigen.of(kkt).traceSqrtPsd(24) / Math.sqrt(29.0 * 24.0);
        double mean = 0;
        for (int c = 0; c < 64; c++) mean += (sa.mean()[c] - sb.mean()[c]) * (sa.mean()[c] - sb.mean()[c]);
        double expected = mean + sa.traceCov() + sb.traceCov() - 2 * nuclear;
        assertEquals(expected, Frechet.distance(sa, sb), 1e-12 * expected);
        assertEquals(expected, Frechet.distance(sb, sa), 1e-12 * expected);
    }

    private static double[][] centred(float[][] x, double[] mean) {
        double[][] out = new double[x.length][mean.length];
        for (int i = 0; i < x.length; i++) {
            for (int c = 0; c < mean.length; c++) out[i][c] = x[i][c] - mean[c];
        }
        return out;
    }

    @Test
    void distanceToItselfIsZero() {
        for (float[][] x : List.of(gaussian(300, 16, 0.5, 2, 1), correlated(500, 24, 2), gaussian(20, 16, 0, 1, 3))) {
            Frechet.Stats s = Frechet.stats(x);
            double fad = Frechet.distance(s, s);
            assertTrue(Math.abs(fad) < 1e-9 * s.traceCov(), "FAD(A, A) = " + fad + ", tr(cov) " + s.traceCov());
        }
    }

    @Test
    void distanceIsSymmetric() {
        Frechet.Stats a = Frechet.stats(correlated(400, 20, 7)), b = Frechet.stats(correlated(300, 20, 8));
        double ab = Frechet.distance(a, b), ba = Frechet.distance(b, a);
        assertTrue(ab > 0);
        assertEquals(ab, ba, 1e-9 * ab);
        // rank-deficient sets too
        Frechet.Stats c = Frechet.stats(gaussian(10, 20, 0, 1, 9));
        assertEquals(Frechet.distance(a, c), Frechet.distance(c, a), 1e-9 * Frechet.distance(a, c));
    }

    @Test
    void distanceGrowsAsOneSetDrifts() {
        float[][] a = correlated(400, 12, 11);
        float[][] other = correlated(400, 12, 12);
        Frechet.Reference ref = new Frechet.Reference(Frechet.stats(a));
        double[] dir = new double[12];
        double norm2 = 0;
        Random r = new Random(13);
        for (int k = 0; k < 12; k++) norm2 += (dir[k] = r.nextGaussian()) * dir[k];
        double previousSame = -1, previousOther = -1;
        for (int step = 0; step <= 10; step++) {
            double t = 0.25 * step;
            float[][] same = shifted(a, dir, t), moved = shifted(other, dir, 3 * t);
            double fadSame = ref.distanceTo(Frechet.stats(same));
            // same covariance, mean moved by t * dir: exactly t^2 |dir|^2 (up to float32 rounding of the shift)
            assertEquals(t * t * norm2, fadSame, 1e-5 * (1 + t * t * norm2), "step " + step);
            double fadOther = ref.distanceTo(Frechet.stats(moved));
            assertTrue(fadSame > previousSame, "FAD must grow with the drift, step " + step);
            if (step > 2) assertTrue(fadOther > previousOther, "FAD must grow with the drift, step " + step);
            previousSame = fadSame;
            previousOther = fadOther;
        }
    }

    @Test
    void rankDeficiencyIsFlagged() {
        Frechet.Stats few = Frechet.stats(gaussian(31, 16, 0, 1, 1));
        assertTrue(few.rankDeficient());
        assertTrue(few.warning().orElseThrow().contains("31"));
        Frechet.Stats enough = Frechet.stats(gaussian(32, 16, 0, 1, 1));
        assertFalse(enough.rankDeficient());
        assertTrue(enough.warning().isEmpty());
    }

    @Test
    void perSongRanksTheOutlierLast() {
        Frechet.Reference ref = new Frechet.Reference(Frechet.stats(gaussian(4000, 6, 0, 1, 100)));
        Map<String, float[][]> songs = new LinkedHashMap<>();
        for (int i = 0; i < 6; i++) {
            if (i == 2) songs.put("outlier", gaussian(200, 6, 1.5, 1, 200 + i));
            else songs.put("song" + i, gaussian(200, 6, 0, 1, 200 + i));
        }
        List<Frechet.SongScore> ranked = Frechet.perSong(ref, songs).scores();
        assertEquals(6, ranked.size());
        assertEquals("outlier", ranked.get(5).song());
        for (int i = 1; i < ranked.size(); i++) assertTrue(Math.abs(ranked.get(i - 1).fad()) <= Math.abs(ranked.get(i).fad()));
        // a song of one row has no covariance: skipped with the reason, the others still scored
        songs.put("tiny", new float[][] {{1, 2, 3, 4, 5, 6}});
        Frechet.PerSong withTiny = Frechet.perSong(ref, songs);
        assertEquals(ranked.stream().map(Frechet.SongScore::fad).toList(), withTiny.scores().stream().map(Frechet.SongScore::fad).toList());
        assertEquals(Map.of("tiny", "1 row, a song's FAD needs at least 2 (its own covariance)"), withTiny.skipped());
        songs.put("broken", new float[][] {{1, 2, 3, 4, 5, 6}, {1, 2, Float.NaN, 4, 5, 6}});
        BadInputException e = assertThrows(BadInputException.class, () -> Frechet.perSong(ref, songs));
        assertTrue(e.getMessage().contains("broken"));
    }

    @Test
    void fadInfApproachesTheFullSetFad() {
        int d = 6;
        Frechet.Reference ref = new Frechet.Reference(Frechet.stats(gaussian(50000, d, 0, 1, 21)));
        float[][] eval = gaussian(30000, d, 0.3, 1.5, 22);
        double full = ref.distanceTo(Frechet.stats(eval));
        double truth = d * 0.09 + d * 0.25; // |dmu|^2 + sum (1.5 - 1)^2
        Frechet.FadInf inf = Frechet.fadInf(ref, eval, 25, 500, 42);
        System.out.printf("FAD-inf %.5f (slope %.3f, r2 %.3f), full-set FAD %.5f, population %.5f%n",
                inf.score(), inf.slope(), inf.r2(), full, truth);
        assertEquals(25, inf.points().size());
        assertEquals(500, inf.points().get(0).n());
        assertEquals(30000, inf.points().get(24).n());
        assertEquals(full, inf.score(), 0.03 * full);
        assertTrue(inf.slope() > 0, "small subsets overestimate FAD");
        // seeded: the same seed gives the same value, another seed another one
        assertEquals(inf.score(), Frechet.fadInf(ref, eval, 25, 500, 42).score(), 0);
        assertTrue(inf.score() != Frechet.fadInf(ref, eval, 25, 500, 43).score());
        assertThrows(BadInputException.class, () -> Frechet.fadInf(ref, eval, 1, 500, 1));
        assertThrows(BadInputException.class, () -> Frechet.fadInf(ref, eval, 5, 1, 1));
    }

    /**
     * fadtk's FAD∞ steps against {@code scripts/reference/fadtk.py} (numpy; version in fad_inf.json's made_by): the
     * subset sizes, each subset's FAD, and the fit. The script draws subsets with an LCG instead of np.random.choice
     * so that the same rows can be drawn here; N below and above fadtk's 500.
     */
    @Test
    void fadInfStepsMatchANumpyImplementationOfFadtk() throws Exception {
        JsonNode ref;
        ByteBuffer blob;
        try (InputStream json = FadTest.class.getResourceAsStream("/reference/fadtk/fad_inf.json");
             InputStream f32 = FadTest.class.getResourceAsStream("/reference/fadtk/fad_inf.f32")) {
            ref = new ObjectMapper().readTree(json);
            blob = ByteBuffer.wrap(f32.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
        }
        int dim = ref.path("dim").asInt();
        Frechet.Reference reference = new Frechet.Reference(Frechet.stats(readRows(blob, ref.path("reference_rows").asInt(), dim)));
        for (JsonNode c : ref.path("cases")) {
            String name = c.path("name").asText();
            int rows = c.path("rows").asInt();
            float[][] eval = readRows(blob, rows, dim);
            int[] sizes = Frechet.infSizes(ref.path("steps").asInt(), ref.path("min_n").asInt(), rows);
            List<Frechet.Point> points = new ArrayList<>();
            long k = 0;
            for (int s = 0; s < sizes.length; s++) {
                assertEquals(c.path("sizes").get(s).asInt(), sizes[s], name + ": size " + s);
                float[][] subset = new float[sizes[s]][];
                for (int j = 0; j < subset.length; j++, k++) {
                    subset[j] = eval[(int) Long.remainderUnsigned(k * 6364136223846793005L + 1442695040888963407L, rows)];
                }
                double fad = reference.distanceTo(Frechet.stats(subset));
                assertEquals(c.path("fads").get(s).asDouble(), fad, 1e-10 * fad, name + ": FAD of subset " + s);
                points.add(new Frechet.Point(sizes[s], fad));
            }
            Frechet.FadInf inf = Frechet.fitInverseN(points);
            assertEquals(c.path("intercept").asDouble(), inf.score(), 1e-9, name + ": FAD-inf");
            assertEquals(c.path("slope").asDouble(), inf.slope(), 1e-7, name + ": slope");
            assertEquals(c.path("r2").asDouble(), inf.r2(), 1e-9, name + ": r2");
            // the seeded end-to-end call takes the same sizes, N past the rows included
            Frechet.FadInf seeded = Frechet.fadInf(reference, eval, 3);
            for (int s = 0; s < sizes.length; s++) assertEquals(sizes[s], seeded.points().get(s).n());
        }
    }

    private static float[][] readRows(ByteBuffer blob, int rows, int dim) {
        float[][] out = new float[rows][dim];
        for (float[] row : out) for (int j = 0; j < dim; j++) row[j] = blob.getFloat();
        return out;
    }

    @Test
    void statsSurviveASaveLoadRoundTrip() throws Exception {
        Frechet.Stats s = Frechet.stats(correlated(300, 10, 31));
        Path file = dir.resolve("bg/clap-stats.safetensors");
        Frechet.save(file, s, "laion-clap-music");
        Frechet.Saved back = Frechet.load(file);
        assertEquals("laion-clap-music", back.embeddingModel());
        assertEquals(300, back.stats().count());
        assertArrayEquals(s.mean(), back.stats().mean(), 0);
        for (int i = 0; i < 10; i++) assertArrayEquals(s.cov()[i], back.stats().cov()[i], 0);
        assertEquals(Frechet.distance(s, s), Frechet.distance(back.stats(), s), 0);
        assertEquals(300, Frechet.load(file, "laion-clap-music").count());
        assertThrows(BadInputException.class, () -> Frechet.load(file, "vggish"));
        assertThrows(BadInputException.class, () -> Frechet.load(dir.resolve("missing.safetensors")));
        Path other = dir.resolve("other.safetensors");
        ai.musicgenti.core.Safetensors.write(other, Map.of("mu", ai.musicgenti.core.Tensors.doubles(new double[] {1}, 1)), Map.of());
        assertThrows(BadInputException.class, () -> Frechet.load(other));
        assertTrue(Files.exists(file));
    }

    private static float[][] shifted(float[][] x, double[] dir, double t) {
        float[][] out = new float[x.length][];
        for (int i = 0; i < x.length; i++) {
            out[i] = new float[dir.length];
            for (int k = 0; k < dir.length; k++) out[i][k] = (float) (x[i][k] + t * dir[k]);
        }
        return out;
    }

    private static double[][] diag(double... v) {
        double[][] m = new double[v.length][v.length];
        for (int i = 0; i < v.length; i++) m[i][i] = v[i];
        return m;
    }
}
