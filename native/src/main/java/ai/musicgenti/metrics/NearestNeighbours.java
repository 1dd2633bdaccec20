package ai.musicgenti.metrics;

import ai.musicgenti.core.BadInputException;

import java.util.Arrays;

/**
 * The MusicGen-Style nearest-neighbour metrics (Rouard et al., "Audio Conditioning for Music Generation via
 * Discrete Bottleneck Features", 2024) on clip embeddings, with cosine similarity and K = {@value #DEFAULT_K}
 * by default. They measure whether generations take the style of their conditioning clip without copying
 * the training data.
 *
 * <p>Notation: T = training clips, V = held-out validation clips (the conditioning excerpts), G = generated
 * clips; {@code conditionOf[j]} is the index in V of the clip that conditioned generation g_j. N_K(x, P) is the
 * set of the K members of pool P with the highest cosine similarity to x; ties go to the lower pool index
 * (in T ∪ G, training clips come first), so results are deterministic.
 *
 * <ul>
 * <li><b>kNCC</b> (K nearest clips in common), paired form {@link #kncc(float[][], float[][], float[][], int[], int)}:
 * over the n·m pairs (v_i, g_j) formed by n validation clips with m generations each (generally: every
 * generated clip with its own conditioning clip, |G| pairs),
 * <pre>  kNCC = 1/(|pairs| · K) · Σ_(v,g) |N_K(g, T) ∩ N_K(v, T)|</pre>
 * i.e. the mean fraction of a generation's K nearest training clips that are also among its conditioning
 * clip's K nearest training clips; in [0, 1], higher = closer in style. The normaliser is the number of pairs
 * (times K), not (n − 1)(m − 1). {@link #knccAllPairs} averages over all |G|·|V| cross pairs instead, for
 * unpaired sets.</li>
 * <li><b>kNCO</b> (K nearest clips overfit), {@link #knco(float[][], float[][], float[][], int)}:
 * <pre>  kNCO = 1/|V| · #{ v ∈ V : N_K(v, T ∪ G) ∩ G ≠ ∅ }</pre>
 * the fraction of validation clips among whose K nearest neighbours in the union of training and generated
 * clips at least one generated clip appears; in [0, 1]. With {@code conditionOf} given, only v's own
 * generations count (the stricter, paired reading).</li>
 * </ul>
 * Embeddings must be non-zero (cosine similarity is undefined for a zero vector) and all the same width.
 */
public final class NearestNeighbours {
    public static final int DEFAULT_K = 5;

    private NearestNeighbours() {
    }

    /** Paired kNCC with K = {@value #DEFAULT_K}. */
    public static double kncc(float[][] training, float[][] validation, float[][] generated, int[] conditionOf) {
        return kncc(training, validation, generated, conditionOf, DEFAULT_K);
    }

    /** Paired kNCC: each generated clip against the validation clip that conditioned it (see class javadoc). */
    public static double kncc(float[][] training, float[][] validation, float[][] generated, int[] conditionOf, int k) {
        checkK(k, training.length);
        if (conditionOf.length != generated.length) {
            throw new BadInputException("kNCC: " + generated.length + " generated clips but " + conditionOf.length
                    + " conditioning indices");
        }
        if (generated.length == 0) throw new BadInputException("kNCC needs at least one generated clip");
        int d = width(training, validation, generated);
        double[][] t = unit(training, d, "training"), v = unit(validation, d, "validation"), g = unit(generated, d, "generated");
        int[][] nv = new int[v.length][];
        long common = 0;
        for (int j = 0; j < g.length; j++) {
            int i = conditionOf[j];
            if (i < 0 || i >= v.length) {
                throw new BadInputException("kNCC: generated clip " + j + " names conditioning clip " + i + " of "
                        + v.length);
            }
            if (nv[i] == null) nv[i] = sorted(nearest(v[i], t, k));
            common += overlap(sorted(nearest(g[j], t, k)), nv[i]);
        }
        return (double) common / ((double) g.length * k);
    }

    /** kNCC over every (validation, generated) pair, normalised by |V|·|G|·K: for sets without pairing. */
    public static double knccAllPairs(float[][] training, float[][] validation, float[][] generated, int k) {
        checkK(k, training.length);
        if (generated.length == 0 || validation.length == 0) {
            throw new BadInputException("kNCC needs at least one generated and one validation clip");
        }
        int d = width(training, validation, generated);
        double[][] t = unit(training, d, "training"), v = unit(validation, d, "validation"), g = unit(generated, d, "generated");
        int[][] nv = new int[v.length][], ng = new int[g.length][];
        for (int i = 0; i < v.length; i++) nv[i] = sorted(nearest(v[i], t, k));
        for (int j = 0; j < g.length; j++) ng[j] = sorted(nearest(g[j], t, k));
        long common = 0;
        for (int[] a : nv) {
            for (int[] b : ng) common += overlap(a, b);
        }
        return (double) common / ((double) v.length * g.length * k);
    }

    /** kNCO with K = {@value #DEFAULT_K}. */
    public static double knco(float[][] training, float[][] validation, float[][] generated) {
        return knco(training, validation, generated, null, DEFAULT_K);
    }

    /** kNCO: the fraction of validation clips with a generated clip among their K nearest in T ∪ G. */
    public static double knco(float[][] training, float[][] validation, float[][] generated, int k) {
        return knco(training, validation, generated, null, k);
    }

    /**
     * kNCO; with {@code conditionOf} non-null only validation clip i's own generations (those j with
     * {@code conditionOf[j] == i}) count as a hit for clip i, though all generated clips stay in the pool.
     */
    public static double knco(float[][] training, float[][] validation, float[][] generated, int[] conditionOf, int k) {
        checkK(k, training.length + generated.length);
        if (validation.length == 0) throw new BadInputException("kNCO needs at least one validation clip");
        if (conditionOf != null && conditionOf.length != generated.length) {
            throw new BadInputException("kNCO: " + generated.length + " generated clips but " + conditionOf.length
                    + " conditioning indices");
        }
        int d = width(training, validation, generated);
        double[][] t = unit(training, d, "training"), v = unit(validation, d, "validation"), g = unit(generated, d, "generated");
        double[][] pool = new double[t.length + g.length][];
        System.arraycopy(t, 0, pool, 0, t.length);
        System.arraycopy(g, 0, pool, t.length, g.length);
        int hits = 0;
        for (int i = 0; i < v.length; i++) {
            for (int p : nearest(v[i], pool, k)) {
                if (p >= t.length && (conditionOf == null || conditionOf[p - t.length] == i)) {
                    hits++;
                    break;
                }
            }
        }
        return (double) hits / v.length;
    }

    /**
     * Indices of the K members of {@code pool} (unit rows) most cosine-similar to {@code query} (a unit row),
     * most similar first; ties to the lower index.
     */
    public static int[] nearest(double[] query, double[][] pool, int k) {
        int[] best = new int[k];
        double[] sim = new double[k];
        int filled = 0;
        for (int p = 0; p < pool.length; p++) {
            double s = dot(query, pool[p]);
            // strict comparison: an equal similarity never displaces an earlier (lower) index
            if (filled == k && !(s > sim[k - 1])) continue;
            int pos = filled < k ? filled++ : k - 1;
            while (pos > 0 && s > sim[pos - 1]) {
                sim[pos] = sim[pos - 1];
                best[pos] = best[pos - 1];
                pos--;
            }
            sim[pos] = s;
            best[pos] = p;
        }
        return best;
    }

    /** Rows scaled to unit length (double). */
    public static double[][] unit(float[][] rows, int d, String what) {
        double[][] out = new double[rows.length][d];
        for (int i = 0; i < rows.length; i++) {
            double norm = 0;
            for (int k = 0; k < d; k++) {
                double x = rows[i][k];
                if (!Double.isFinite(x)) throw new BadInputException(what + " clip " + i + " holds a non-finite value");
                out[i][k] = x;
                norm += x * x;
            }
            norm = Math.sqrt(norm);
            if (norm == 0) throw new BadInputException(what + " clip " + i + " has a zero embedding: cosine similarity is undefined");
            for (int k = 0; k < d; k++) out[i][k] /= norm;
        }
        return out;
    }

    private static int width(float[][]... sets) {
        int d = -1;
        for (float[][] set : sets) {
            for (float[] row : set) {
                if (d < 0) d = row.length;
                if (row.length != d) throw new BadInputException("embeddings differ in width: " + row.length + " and " + d);
            }
        }
        if (d <= 0) throw new BadInputException("no embeddings");
        return d;
    }

    private static void checkK(int k, int poolSize) {
        if (k < 1) throw new BadInputException("K must be at least 1, got " + k);
        if (k > poolSize) throw new BadInputException("K = " + k + " exceeds the " + poolSize + " clips to choose neighbours from");
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static int[] sorted(int[] a) {
        int[] c = a.clone();
        Arrays.sort(c);
        return c;
    }

    private static int overlap(int[] a, int[] b) {
        int i = 0, j = 0, n = 0;
        while (i < a.length && j < b.length) {
            if (a[i] == b[j]) {
                n++;
                i++;
                j++;
            } else if (a[i] < b[j]) {
                i++;
            } else {
                j++;
            }
        }
        return n;
    }
}
