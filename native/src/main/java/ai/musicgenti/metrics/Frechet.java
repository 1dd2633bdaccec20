package ai.musicgenti.metrics;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Dtype;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Tensors;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Fréchet Audio Distance as fadtk computes it, in float64 throughout.
 *
 * <ul>
 * <li>{@link #stats}: mean over rows and the unbiased covariance (divisor n − 1, {@code np.cov(rowvar=False)}),
 * accumulated in double from float embeddings (one row per embedding frame).</li>
 * <li>{@link #distance}: |mu_a − mu_b|² + tr(C_a) + tr(C_b) − 2 tr(sqrt(C_a C_b)). fadtk takes the matrix
 * square root of the non-symmetric product through a general eigen-decomposition; here the trace is taken as
 * tr(sqrt(S_a C_b S_a)) with S_a = sqrt(C_a), which has the same eigenvalues as C_a C_b (similar matrices) but
 * is symmetric positive semi-definite, so a symmetric eigen-solver applies and the square roots are real.
 * Eigenvalues below zero are rounding noise and count as zero; fadtk's complex square root of such a value is
 * purely imaginary and its real part, which fadtk keeps, is zero as well. When a set has fewer rows than
 * dimensions its covariance has rank at most n − 1; the eigenvalues beyond that rank (of sqrt(C_a) and of
 * the product) are exact zeros blurred by rounding and are dropped, since the sum of their square roots would
 * otherwise lower FAD by ~1e-8 relative (fadtk keeps that noise: its results differ from ours there at that
 * level, while ours match the exact nuclear-norm value ‖X_a X_bᵀ‖_* / sqrt((n_a−1)(n_b−1)) to ~1e-15).</li>
 * <li>{@link #fadInf}: fadtk's FAD∞ — FAD of bootstrap subsets (drawn with replacement) of several sizes N
 * against a fixed reference, a least-squares line in 1/N, its intercept.</li>
 * <li>{@link #perSong}: each song's own statistics against the reference, ranked by |FAD| ascending.</li>
 * </ul>
 */
public final class Frechet {
    /** The {@code format} metadata value of a statistics file. */
    public static final String FORMAT = "musicgen-ti/fad-stats/1";
    /** fadtk's defaults for {@code score_inf}. */
    public static final int DEFAULT_INF_STEPS = 25, DEFAULT_INF_MIN_N = 500;

    private Frechet() {
    }

    /**
     * Gaussian statistics of a set of embeddings.
     *
     * @param mean  the mean row, length dim
     * @param cov   the unbiased covariance, dim × dim, symmetric
     * @param count how many embedding rows they were computed from
     */
    public record Stats(double[] mean, double[][] cov, int count) {
        public Stats {
            int d = mean.length;
            if (cov.length != d) throw new IllegalArgumentException("covariance has " + cov.length + " rows, mean " + d);
            for (double[] row : cov) {
                if (row.length != d) throw new IllegalArgumentException("covariance is not " + d + " x " + d);
            }
        }

        public int dim() {
            return mean.length;
        }

        /**
         * True when there are fewer than twice as many rows as dimensions: the covariance then has rank at most
         * n − 1 &lt; dim (or barely more), the estimate is poor and FAD is biased upwards.
         */
        public boolean rankDeficient() {
            return count < 2 * dim();
        }

        /** A one-line warning when {@link #rankDeficient()}, for launchers to print. */
        public Optional<String> warning() {
            if (!rankDeficient()) return Optional.empty();
            return Optional.of("only " + count + " embeddings for dimension " + dim() + " (fewer than " + 2 * dim()
                    + "): the covariance is rank-deficient and FAD is unreliable; use more or longer clips");
        }

        /**
         * The largest rank the covariance can have: count − 1 (it is a sum of count centred outer products that
         * add up to zero), at most dim. Statistics with a count below 2 (hand-made) claim full rank.
         */
        public int rankBound() {
            return count >= 2 ? Math.min(dim(), count - 1) : dim();
        }

        public double traceCov() {
            double t = 0;
            for (int i = 0; i < cov.length; i++) t += cov[i][i];
            return t;
        }
    }

    /** Statistics of the rows of {@code embeddings} (at least 2 rows, all the same length, finite). */
    public static Stats stats(float[][] embeddings) {
        return stats(List.<float[][]>of(embeddings));
    }

    /** Statistics of all rows of several blocks together (e.g. the frames of every file of a background set). */
    public static Stats stats(List<float[][]> blocks) {
        int n = 0, d = -1;
        for (float[][] block : blocks) {
            for (float[] row : block) {
                if (d < 0) d = row.length;
                if (row.length != d) {
                    throw new BadInputException("embedding rows differ in length: " + row.length + " and " + d);
                }
                for (float x : row) {
                    if (!Float.isFinite(x)) throw new BadInputException("an embedding holds a non-finite value: " + x);
                }
                n++;
            }
        }
        if (n < 2 || d < 1) {
            throw new BadInputException("FAD statistics need at least 2 embeddings, got " + n);
        }
        double[] mean = new double[d];
        for (float[][] block : blocks) {
            for (float[] row : block) {
                for (int k = 0; k < d; k++) mean[k] += row[k];
            }
        }
        for (int k = 0; k < d; k++) mean[k] /= n;
        // second pass on centred rows: no cancellation between E[xx] and mu mu
        double[][] cov = new double[d][d];
        double[] c = new double[d];
        for (float[][] block : blocks) {
            for (float[] row : block) {
                for (int k = 0; k < d; k++) c[k] = row[k] - mean[k];
                for (int i = 0; i < d; i++) {
                    double ci = c[i];
                    double[] ri = cov[i];
                    for (int j = 0; j <= i; j++) ri[j] += ci * c[j];
                }
            }
        }
        for (int i = 0; i < d; i++) {
            for (int j = 0; j <= i; j++) {
                cov[i][j] /= (n - 1);
                cov[j][i] = cov[i][j];
            }
        }
        return new Stats(mean, cov, n);
    }

    /**
     * One-pass statistics for sets too large to hold at once (a background set streamed file by file): sums of
     * rows and of their outer products, both taken relative to the first row seen, so that the subtraction
     * E[(x−s)(x−s)ᵀ] − (μ−s)(μ−s)ᵀ does not cancel catastrophically when embeddings sit far from the origin.
     * Agrees with the two-pass {@link #stats} to about 1e-12 relative for embedding-like data.
     */
    public static final class Accumulator {
        private double[] shift, s1;
        private double[][] s2;
        private long n;

        /** Adds every row of a block (all rows of every block must share one width). */
        public Accumulator add(float[][] rows) {
            for (float[] row : rows) add(row);
            return this;
        }

        public Accumulator add(float[] row) {
            if (shift == null) {
                if (row.length == 0) throw new BadInputException("an embedding row is empty");
                shift = new double[row.length];
                for (int k = 0; k < row.length; k++) shift[k] = row[k];
                s1 = new double[row.length];
                s2 = new double[row.length][];
                for (int i = 0; i < row.length; i++) s2[i] = new double[i + 1];
            }
            int d = shift.length;
            if (row.length != d) throw new BadInputException("embedding rows differ in length: " + row.length + " and " + d);
            double[] c = new double[d];
            for (int k = 0; k < d; k++) {
                if (!Float.isFinite(row[k])) throw new BadInputException("an embedding holds a non-finite value: " + row[k]);
                c[k] = row[k] - shift[k];
            }
            for (int i = 0; i < d; i++) {
                double ci = c[i];
                s1[i] += ci;
                double[] r = s2[i];
                for (int j = 0; j <= i; j++) r[j] += ci * c[j];
            }
            n++;
            return this;
        }

        public long count() {
            return n;
        }

        /** The statistics of every row added so far (at least 2). */
        public Stats stats() {
            if (n < 2) throw new BadInputException("FAD statistics need at least 2 embeddings, got " + n);
            if (n > Integer.MAX_VALUE) throw new BadInputException("too many embeddings for one statistics set: " + n);
            int d = shift.length;
            double[] m = new double[d], mean = new double[d];
            for (int k = 0; k < d; k++) {
                m[k] = s1[k] / n;
                mean[k] = shift[k] + m[k];
            }
            double[][] cov = new double[d][d];
            for (int i = 0; i < d; i++) {
                for (int j = 0; j <= i; j++) {
                    cov[i][j] = (s2[i][j] - n * m[i] * m[j]) / (n - 1);
                    cov[j][i] = cov[i][j];
                }
            }
            return new Stats(mean, cov, (int) n);
        }
    }

    /** FAD between two sets of statistics (fadtk's {@code calc_frechet_distance(mu_a, cov_a, mu_b, cov_b)}). */
    public static double distance(Stats a, Stats b) {
        return new Reference(a).distanceTo(b);
    }

    /**
     * A reference (background) set with sqrt(C_ref) computed once, for scoring many evaluation sets against
     * it (FAD∞ subsets, per-song FAD).
     */
    public static final class Reference {
        private final Stats stats;
        private final double[][] sqrtCov;

        public Reference(Stats stats) {
            this.stats = stats;
            this.sqrtCov = SymmetricEigen.of(stats.cov()).sqrtPsd(stats.rankBound());
        }

        public Stats stats() {
            return stats;
        }

        /** FAD(reference, other). */
        public double distanceTo(Stats other) {
            int d = stats.dim();
            if (other.dim() != d) {
                throw new BadInputException("FAD between embeddings of different widths: " + d + " and " + other.dim());
            }
            double meanTerm = 0;
            for (int k = 0; k < d; k++) {
                double diff = stats.mean()[k] - other.mean()[k];
                meanTerm += diff * diff;
            }
            int rank = Math.min(stats.rankBound(), other.rankBound());
            double trSqrt = SymmetricEigen.of(sandwich(sqrtCov, other.cov())).traceSqrtPsd(rank);
            return meanTerm + stats.traceCov() + other.traceCov() - 2 * trSqrt;
        }
    }

    /** S B S for symmetric S and B, symmetrised (lower triangle averaged with the upper). */
    static double[][] sandwich(double[][] s, double[][] b) {
        int d = s.length;
        double[][] sb = new double[d][d];
        for (int i = 0; i < d; i++) {
            double[] si = s[i], out = sb[i];
            for (int k = 0; k < d; k++) {
                double x = si[k];
                if (x == 0) continue;
                double[] bk = b[k];
                for (int j = 0; j < d; j++) out[j] += x * bk[j];
            }
        }
        double[][] m = new double[d][d];
        for (int i = 0; i < d; i++) {
            double[] sbi = sb[i];
            for (int j = 0; j < d; j++) {
                double[] sj = s[j];
                double acc = 0;
                for (int k = 0; k < d; k++) acc += sbi[k] * sj[k]; // (S B S)[i][j] = sum_k (SB)[i][k] S[j][k]
                m[i][j] = acc;
            }
        }
        for (int i = 0; i < d; i++) {
            for (int j = 0; j < i; j++) {
                double avg = 0.5 * (m[i][j] + m[j][i]);
                m[i][j] = avg;
                m[j][i] = avg;
            }
        }
        return m;
    }

    // ---------------------------------------------------------------- statistics files

    /** Statistics read back from a file, with the embedding model they were computed with. */
    public record Saved(Stats stats, String embeddingModel) {
    }

    /**
     * Writes statistics as safetensors: {@code mu} F64 [dim], {@code cov} F64 [dim, dim]; metadata
     * {@code format}, {@code count}, {@code dim}, {@code embedding_model}. Atomic (whole file or nothing).
     */
    public static void save(Path file, Stats stats, String embeddingModel) throws IOException {
        int d = stats.dim();
        double[] flat = new double[d * d];
        for (int i = 0; i < d; i++) System.arraycopy(stats.cov()[i], 0, flat, i * d, d);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("mu", Tensors.doubles(stats.mean().clone(), d));
        tensors.put("cov", Tensors.doubles(flat, d, d));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("count", Integer.toString(stats.count()));
        meta.put("dim", Integer.toString(d));
        meta.put("embedding_model", embeddingModel == null ? "" : embeddingModel);
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        Safetensors.write(file, tensors, meta);
    }

    /** Reads a statistics file written by {@link #save}. */
    public static Saved load(Path file) {
        if (!Files.isRegularFile(file)) throw new BadInputException("FAD statistics file " + file + " does not exist");
        Safetensors.Contents c = Safetensors.load(file);
        Map<String, String> meta = c.metadata() == null ? Map.of() : c.metadata();
        if (!FORMAT.equals(meta.get("format"))) {
            throw new BadInputException(file + " is not a FAD statistics file (format '" + meta.get("format")
                    + "', expected '" + FORMAT + "')");
        }
        Tensor mu = c.tensors().get("mu"), cov = c.tensors().get("cov");
        if (mu == null || cov == null) throw new BadInputException(file + " lacks the tensor 'mu' or 'cov'");
        if (Dtype.of(mu.scalar_type()) != Dtype.F64 || Dtype.of(cov.scalar_type()) != Dtype.F64) {
            throw new BadInputException(file + ": 'mu' and 'cov' must be F64");
        }
        long[] ms = mu.shape(), cs = cov.shape();
        if (ms.length != 1 || cs.length != 2 || cs[0] != ms[0] || cs[1] != ms[0]) {
            throw new BadInputException(file + ": shapes " + Tensors.shape(mu) + " and " + Tensors.shape(cov)
                    + " do not form [dim] and [dim, dim]");
        }
        int d = (int) ms[0];
        int count;
        try {
            count = Integer.parseInt(meta.getOrDefault("count", ""));
        } catch (NumberFormatException e) {
            throw new BadInputException(file + ": metadata 'count' is missing or not a number", e);
        }
        double[] flat = Tensors.toDoubles(cov);
        double[][] m = new double[d][d];
        for (int i = 0; i < d; i++) System.arraycopy(flat, i * d, m[i], 0, d);
        return new Saved(new Stats(Tensors.toDoubles(mu), m, count), meta.getOrDefault("embedding_model", ""));
    }

    /** Reads a statistics file and insists that it was computed with {@code embeddingModel}. */
    public static Stats load(Path file, String embeddingModel) {
        Saved s = load(file);
        if (!s.embeddingModel().equals(embeddingModel)) {
            throw new BadInputException(file + " holds statistics of embedding model '" + s.embeddingModel()
                    + "', not '" + embeddingModel + "'");
        }
        return s.stats();
    }

    // ---------------------------------------------------------------- FAD∞

    /** One FAD∞ sample: subset size and its FAD. */
    public record Point(int n, double fad) {
    }

    /** FAD∞ (the intercept), the fitted slope in 1/N, the fit's R², and the points it was fitted to. */
    public record FadInf(double score, double slope, double r2, List<Point> points) {
    }

    /**
     * fadtk's {@code score_inf}: for N in {@link #infSizes} draw N rows of {@code eval} uniformly with replacement
     * (seeded), compute FAD(reference, subset), and {@link #fitInverseN fit} the points; the intercept is FAD∞.
     * {@code minN} may exceed the number of rows, as in fadtk (draws with replacement allow it). The draws differ
     * from numpy's, so values agree with fadtk in distribution, not digit for digit.
     */
    public static FadInf fadInf(Reference reference, float[][] eval, int steps, int minN, long seed) {
        int maxN = eval.length;
        if (steps < 2) throw new BadInputException("FAD-inf needs at least 2 steps, got " + steps);
        if (minN < 2) throw new BadInputException("FAD-inf minimum subset size " + minN + " must be at least 2");
        if (maxN < 2) throw new BadInputException("FAD-inf needs at least 2 evaluation embeddings, got " + maxN);
        SplittableRandom random = new SplittableRandom(seed);
        List<Point> points = new ArrayList<>(steps);
        for (int n : infSizes(steps, minN, maxN)) {
            float[][] subset = new float[n][];
            for (int i = 0; i < n; i++) subset[i] = eval[random.nextInt(maxN)];
            points.add(new Point(n, reference.distanceTo(stats(subset))));
        }
        return fitInverseN(points);
    }

    /**
     * fadtk's subset sizes {@code [int(n) for n in np.linspace(minN, maxN, steps)]}: numpy's linspace (start + i ×
     * step, the last exactly maxN), truncated toward zero. Decreasing when minN > maxN, as in fadtk.
     */
    public static int[] infSizes(int steps, int minN, int maxN) {
        int[] ns = new int[steps];
        double step = (double) (maxN - minN) / (steps - 1);
        for (int s = 0; s < steps; s++) ns[s] = s == steps - 1 ? maxN : (int) (minN + s * step);
        return ns;
    }

    /**
     * fadtk's fit: least squares FAD = slope / N + intercept ({@code np.polyfit(1/N, fad, 1)}), R² = 1 − SS_res / SS_tot.
     */
    public static FadInf fitInverseN(List<Point> points) {
        int steps = points.size();
        double[] xs = new double[steps], ys = new double[steps];
        for (int i = 0; i < steps; i++) {
            xs[i] = 1.0 / points.get(i).n();
            ys[i] = points.get(i).fad();
        }
        double mx = mean(xs), my = mean(ys), sxy = 0, sxx = 0;
        for (int i = 0; i < steps; i++) {
            sxy += (xs[i] - mx) * (ys[i] - my);
            sxx += (xs[i] - mx) * (xs[i] - mx);
        }
        if (sxx == 0) throw new BadInputException("FAD-inf: every subset has the same size; use more evaluation embeddings");
        double slope = sxy / sxx, intercept = my - slope * mx;
        double ssRes = 0, ssTot = 0;
        for (int i = 0; i < steps; i++) {
            double r = ys[i] - (slope * xs[i] + intercept);
            ssRes += r * r;
            ssTot += (ys[i] - my) * (ys[i] - my);
        }
        return new FadInf(intercept, slope, 1 - ssRes / ssTot, List.copyOf(points));
    }

    /** {@link #fadInf(Reference, float[][], int, int, long)} with fadtk's defaults (25 steps, N from 500, even past the rows). */
    public static FadInf fadInf(Reference reference, float[][] eval, long seed) {
        return fadInf(reference, eval, DEFAULT_INF_STEPS, DEFAULT_INF_MIN_N, seed);
    }

    /**
     * How {@link #fadInf(Reference, float[][], long)} got its number, for reports beside it: fadtk's score_inf over
     * {@code rows} evaluated rows with this seed.
     */
    public static String infProcedure(int rows, long seed) {
        return String.format(Locale.ROOT, "fadtk score_inf: %d sizes linspace(%d, %d) drawn with replacement, seed %d, fit in 1/N",
                DEFAULT_INF_STEPS, DEFAULT_INF_MIN_N, rows, seed);
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double x : v) s += x;
        return s / v.length;
    }

    // ---------------------------------------------------------------- per-song FAD

    /** One song's FAD against the reference, with its own statistics (for its rank-deficiency warning). */
    public record SongScore(String song, double fad, Stats stats) {
    }

    /** Per-song FADs ranked by |FAD| ascending, and the songs that got none with the reason, by name. */
    public record PerSong(List<SongScore> scores, Map<String, String> skipped) {
    }

    /**
     * fadtk's {@code score_individual}: FAD(reference, song) from each song's own embedding rows (its windows or
     * frames), sorted by |FAD| ascending (ties by name), so the songs least like the reference come last. A song's
     * covariance needs at least 2 rows: one with fewer is skipped with the reason (fadtk drops it with a logged
     * error). With fewer than 2 × dim rows a song's covariance is rank-deficient (see {@link Stats#warning()}).
     */
    public static PerSong perSong(Reference reference, Map<String, float[][]> songs) {
        List<SongScore> out = new ArrayList<>(songs.size());
        Map<String, String> skipped = new LinkedHashMap<>();
        for (Map.Entry<String, float[][]> e : songs.entrySet()) {
            int rows = e.getValue().length;
            if (rows < 2) {
                skipped.put(e.getKey(), rows + " row, a song's FAD needs at least 2 (its own covariance)");
                continue;
            }
            Stats s;
            try {
                s = stats(e.getValue());
            } catch (BadInputException ex) {
                throw new BadInputException("song '" + e.getKey() + "': " + ex.getMessage(), ex);
            }
            out.add(new SongScore(e.getKey(), reference.distanceTo(s), s));
        }
        out.sort(Comparator.comparingDouble((SongScore s) -> Math.abs(s.fad())).thenComparing(SongScore::song));
        return new PerSong(List.copyOf(out), Collections.unmodifiableMap(skipped));
    }
}
