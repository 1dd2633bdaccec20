package ai.musicgenti.golden;

import ai.musicgenti.core.Tensors;
import ai.musicgenti.metrics.Frechet;
import org.bytedeco.pytorch.Tensor;

/**
 * Fréchet Audio Distance against fadtk: mean and unbiased covariance of each embedding set (F64 from F32), then
 * the distance, which must match both fadtk's eigen-decomposition route ({@code fad}) and scipy's sqrtm route
 * ({@code fad_sqrtm}) at 1e-9 relative although ours goes through tr(sqrt(S_a C_b S_a)).
 */
final class FadGolden {
    private FadGolden() {
    }

    static void run(GoldenCase c) {
        Frechet.Stats a = Frechet.stats(rows(c.io("embeddings_a")));
        Frechet.Stats b = Frechet.stats(rows(c.io("embeddings_b")));
        c.check("mu_a", Tensors.doubles(a.mean(), a.dim()));
        c.check("cov_a", matrix(a.cov()));
        c.check("mu_b", Tensors.doubles(b.mean(), b.dim()));
        c.check("cov_b", matrix(b.cov()));
        double fad = Frechet.distance(a, b);
        c.check("fad", Tensors.doubles(new double[] {fad}, 1));
        c.check("fad_sqrtm", Tensors.doubles(new double[] {fad}, 1));
        double f32 = c.ioDouble("fad_from_float32_stats");
        System.out.printf("%s: fad %.17g (fadtk on float32 stats %.17g, relative %.3g)%n", c.name(), fad, f32,
                Math.abs(fad - f32) / Math.abs(fad));
    }

    static float[][] rows(Tensor t) {
        long[] shape = t.shape();
        int n = (int) shape[0], d = (int) shape[1];
        float[] flat = Tensors.toFloats(t);
        float[][] out = new float[n][d];
        for (int i = 0; i < n; i++) System.arraycopy(flat, i * d, out[i], 0, d);
        return out;
    }

    static Tensor matrix(double[][] m) {
        int n = m.length, d = m[0].length;
        double[] flat = new double[n * d];
        for (int i = 0; i < n; i++) System.arraycopy(m[i], 0, flat, i * d, d);
        return Tensors.doubles(flat, n, d);
    }
}
