package ai.musicgenti.metrics;

import java.util.Arrays;

/**
 * Eigen-decomposition of a real symmetric matrix in plain Java doubles: Householder reduction to tridiagonal
 * form followed by the implicit QL algorithm with Wilkinson-style shifts (the EISPACK tred2 / tql2 pair).
 *
 * <p>Why plain Java rather than {@code torch.linalg_eigh}: evaluation matrices are at most a few hundred rows
 * (CLAP: 512), where this runs in well under a second, and the result is bit-for-bit the same on every machine
 * and thread count (LAPACK builds differ in blocking and threading, so their last bits do not). The metrics
 * stay usable without touching libtorch at all.
 *
 * <p>Eigenvalues come back in ascending order; column {@code j} of {@link #vectors()} belongs to eigenvalue
 * {@code j}, and the vectors are orthonormal to rounding.
 */
public final class SymmetricEigen {
    private final double[] values;
    private final double[][] vectors;

    private SymmetricEigen(double[] values, double[][] vectors) {
        this.values = values;
        this.vectors = vectors;
    }

    /** Eigenvalues (ascending) and eigenvectors (columns) of {@code a}; only the lower triangle is read. */
    public static SymmetricEigen of(double[][] a) {
        int n = a.length;
        double[][] v = new double[n][n];
        for (int i = 0; i < n; i++) {
            if (a[i].length != n) throw new IllegalArgumentException("matrix is not square: row " + i + " has "
                    + a[i].length + " entries, expected " + n);
            for (int j = 0; j <= i; j++) {
                double x = a[i][j];
                if (!Double.isFinite(x)) throw new IllegalArgumentException("matrix entry (" + i + ", " + j + ") is " + x);
                v[i][j] = x;
                v[j][i] = x;
            }
        }
        double[] d = new double[n], e = new double[n];
        if (n > 0) {
            tridiagonalize(v, d, e);
            ql(v, d, e);
            sortAscending(v, d);
        }
        return new SymmetricEigen(d, v);
    }

    /** Eigenvalues, ascending. The array is owned by the caller. */
    public double[] values() {
        return values.clone();
    }

    /** Eigenvectors as columns: {@code vectors()[row][j]} is component {@code row} of eigenvector {@code j}. */
    public double[][] vectors() {
        double[][] out = new double[vectors.length][];
        for (int i = 0; i < out.length; i++) out[i] = vectors[i].clone();
        return out;
    }

    /**
     * The principal square root V diag(sqrt(max(lambda, 0))) V^T: negative eigenvalues of a positive
     * semi-definite matrix are rounding noise and count as 0. Exactly symmetric.
     */
    public double[][] sqrtPsd() {
        return sqrtPsd(values.length);
    }

    /**
     * The principal square root of a PSD matrix known to have rank at most {@code rank}: only the {@code rank}
     * largest eigenvalues are kept, the others are rounding noise around an exact 0 (a covariance of n rows has
     * rank at most n − 1) and are zeroed, since their square roots (~1e-8 of the scale each) would add up.
     */
    public double[][] sqrtPsd(int rank) {
        int n = values.length;
        double[] s = new double[n];
        for (int j = Math.max(0, n - rank); j < n; j++) s[j] = Math.sqrt(Math.max(values[j], 0));
        double[][] out = new double[n][n];
        double[] row = new double[n];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < n; k++) row[k] = vectors[i][k] * s[k];
            for (int j = 0; j <= i; j++) {
                double acc = 0;
                double[] vj = vectors[j];
                for (int k = 0; k < n; k++) acc += row[k] * vj[k];
                out[i][j] = acc;
                out[j][i] = acc;
            }
        }
        return out;
    }

    /** Sum of sqrt(max(lambda, 0)): the trace of the principal square root of a PSD matrix. */
    public double traceSqrtPsd() {
        return traceSqrtPsd(values.length);
    }

    /** The trace of the square root of a PSD matrix of rank at most {@code rank} (see {@link #sqrtPsd(int)}). */
    public double traceSqrtPsd(int rank) {
        // ascending order: the small terms are added first
        double acc = 0;
        for (int j = Math.max(0, values.length - rank); j < values.length; j++) acc += Math.sqrt(Math.max(values[j], 0));
        return acc;
    }

    /** Householder reduction of the symmetric matrix held in v to tridiagonal form (d diagonal, e sub-diagonal). */
    private static void tridiagonalize(double[][] v, double[] d, double[] e) {
        int n = d.length;
        for (int j = 0; j < n; j++) d[j] = v[n - 1][j];
        for (int i = n - 1; i > 0; i--) {
            double scale = 0, h = 0;
            for (int k = 0; k < i; k++) scale += Math.abs(d[k]);
            if (scale == 0) {
                e[i] = d[i - 1];
                for (int j = 0; j < i; j++) {
                    d[j] = v[i - 1][j];
                    v[i][j] = 0;
                    v[j][i] = 0;
                }
            } else {
                for (int k = 0; k < i; k++) {
                    d[k] /= scale;
                    h += d[k] * d[k];
                }
                double f = d[i - 1];
                double g = Math.sqrt(h);
                if (f > 0) g = -g;
                e[i] = scale * g;
                h -= f * g;
                d[i - 1] = f - g;
                for (int j = 0; j < i; j++) e[j] = 0;
                for (int j = 0; j < i; j++) {
                    f = d[j];
                    v[j][i] = f;
                    g = e[j] + v[j][j] * f;
                    for (int k = j + 1; k <= i - 1; k++) {
                        g += v[k][j] * d[k];
                        e[k] += v[k][j] * f;
                    }
                    e[j] = g;
                }
                f = 0;
                for (int j = 0; j < i; j++) {
                    e[j] /= h;
                    f += e[j] * d[j];
                }
                double hh = f / (h + h);
                for (int j = 0; j < i; j++) e[j] -= hh * d[j];
                for (int j = 0; j < i; j++) {
                    f = d[j];
                    g = e[j];
                    for (int k = j; k <= i - 1; k++) v[k][j] -= (f * e[k] + g * d[k]);
                    d[j] = v[i - 1][j];
                    v[i][j] = 0;
                }
            }
            d[i] = h;
        }
        // accumulate the transformations
        for (int i = 0; i < n - 1; i++) {
            v[n - 1][i] = v[i][i];
            v[i][i] = 1;
            double h = d[i + 1];
            if (h != 0) {
                for (int k = 0; k <= i; k++) d[k] = v[k][i + 1] / h;
                for (int j = 0; j <= i; j++) {
                    double g = 0;
                    for (int k = 0; k <= i; k++) g += v[k][i + 1] * v[k][j];
                    for (int k = 0; k <= i; k++) v[k][j] -= g * d[k];
                }
            }
            for (int k = 0; k <= i; k++) v[k][i + 1] = 0;
        }
        for (int j = 0; j < n; j++) {
            d[j] = v[n - 1][j];
            v[n - 1][j] = 0;
        }
        v[n - 1][n - 1] = 1;
        e[0] = 0;
    }

    /** Implicit QL iterations on the tridiagonal matrix (d, e), accumulating rotations into v. */
    private static void ql(double[][] v, double[] d, double[] e) {
        int n = d.length;
        for (int i = 1; i < n; i++) e[i - 1] = e[i];
        e[n - 1] = 0;
        double f = 0, tst1 = 0;
        double eps = Math.ulp(1.0);
        for (int l = 0; l < n; l++) {
            tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
            int m = l;
            while (m < n) {
                if (Math.abs(e[m]) <= eps * tst1) break;
                m++;
            }
            if (m > l) {
                int iterations = 0;
                do {
                    if (++iterations > 100) throw new ArithmeticException("symmetric eigen-solver did not converge");
                    double g = d[l];
                    double p = (d[l + 1] - g) / (2 * e[l]);
                    double r = Math.hypot(p, 1);
                    if (p < 0) r = -r;
                    d[l] = e[l] / (p + r);
                    d[l + 1] = e[l] * (p + r);
                    double dl1 = d[l + 1];
                    double h = g - d[l];
                    for (int i = l + 2; i < n; i++) d[i] -= h;
                    f += h;
                    p = d[m];
                    double c = 1, c2 = c, c3 = c;
                    double el1 = e[l + 1];
                    double s = 0, s2 = 0;
                    for (int i = m - 1; i >= l; i--) {
                        c3 = c2;
                        c2 = c;
                        s2 = s;
                        g = c * e[i];
                        h = c * p;
                        r = Math.hypot(p, e[i]);
                        e[i + 1] = s * r;
                        s = e[i] / r;
                        c = p / r;
                        p = c * d[i] - s * g;
                        d[i + 1] = h + s * (c * g + s * d[i]);
                        for (int k = 0; k < n; k++) {
                            double[] vk = v[k];
                            h = vk[i + 1];
                            vk[i + 1] = s * vk[i] + c * h;
                            vk[i] = c * vk[i] - s * h;
                        }
                    }
                    p = -s * s2 * c3 * el1 * e[l] / dl1;
                    e[l] = s * p;
                    d[l] = c * p;
                } while (Math.abs(e[l]) > eps * tst1);
            }
            d[l] += f;
            e[l] = 0;
        }
    }

    private static void sortAscending(double[][] v, double[] d) {
        int n = d.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> Double.compare(d[x], d[y]));
        double[] ds = new double[n];
        double[][] vs = new double[n][n];
        for (int j = 0; j < n; j++) {
            ds[j] = d[order[j]];
            for (int k = 0; k < n; k++) vs[k][j] = v[k][order[j]];
        }
        System.arraycopy(ds, 0, d, 0, n);
        for (int k = 0; k < n; k++) System.arraycopy(vs[k], 0, v[k], 0, n);
    }
}
