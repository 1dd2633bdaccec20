package ai.musicgenti.models;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

import static ai.musicgenti.core.Tensors.scalar;

/**
 * MusicGen's delay pattern: codebook q runs q steps behind codebook 0, so that when the decoder predicts codebook q
 * of a frame it has already seen codebooks 0..q-1 of that frame. For K codebooks and T frames of codes C, the
 * delayed sequence D has T+K positions:
 *
 * <pre>D[b, q, p] = C[b, q, p-1-q]   if q+1 <= p <= q+T,   else the special token V</pre>
 *
 * Position 0 is the all-V start column; the lower-left triangle (p <= q) and the upper-right one (p > q+T) are V.
 * This is HF's {@code build_delay_pattern_mask} applied to {@code cat([V-column, C])}.
 */
public final class DelayPattern {
    private DelayPattern() {
    }

    /** Marks a position the model decides in {@link #forcedTokens}. */
    public static final long DECIDE = -1;

    /** codes [B, K, T] -> delayed [B, K, T+K]. */
    public static Tensor build(Tensor codes, long specialToken) {
        long b = codes.size(0), k = codes.size(1), t = codes.size(2);
        Tensor delayed = torch.full(new long[]{b, k, t + k}, scalar(specialToken), codes.options());
        for (int q = 0; q < k; q++) {
            delayed.select(1, q).narrow(1, q + 1, t).copy_(codes.select(1, q));
        }
        return delayed;
    }

    /** delayed [B, K, >= frames+K] -> codes [B, K, frames]. Extra positions at the end are ignored. */
    public static Tensor undo(Tensor delayed, int frames) {
        long k = delayed.size(1);
        if (delayed.size(2) < frames + k) {
            throw new IllegalArgumentException("a delayed sequence of " + delayed.size(2) + " positions holds fewer than "
                    + frames + " frames of " + k + " codebooks");
        }
        TensorVector rows = new TensorVector();
        for (int q = 0; q < k; q++) rows.push_back(delayed.select(1, q).narrow(1, q + 1, frames));
        return torch.stack(rows, 1);
    }

    /** Whole frames a delayed sequence of {@code length} positions holds. */
    public static int frames(int length, int numCodebooks) {
        return length - numCodebooks;
    }

    /** True where the pattern fixes position p of codebook q to V in a delayed sequence holding {@code frames} frames. */
    public static boolean isSpecial(int q, int p, int frames) {
        return p <= q || p > q + frames;
    }

    /**
     * What generation must write at each position of a delayed sequence of {@code length} positions: the special
     * token where the pattern says so, the known codes of {@code prompt} (audio continuation) where they fall, and
     * {@link #DECIDE} where the model picks the token.
     *
     * @param prompt [B, K, P] known leading frames, or null
     * @return [B, K, length] long on the CPU
     */
    public static Tensor forcedTokens(int batch, int numCodebooks, int length, long specialToken, Tensor prompt) {
        int frames = frames(length, numCodebooks);
        int promptFrames = prompt == null ? 0 : (int) prompt.size(2);
        long[] known = prompt == null ? new long[0] : ai.musicgenti.core.Tensors.toLongs(prompt);
        long[] out = new long[batch * numCodebooks * length];
        for (int b = 0; b < batch; b++) {
            for (int q = 0; q < numCodebooks; q++) {
                for (int p = 0; p < length; p++) {
                    int frame = p - 1 - q;
                    long token;
                    if (isSpecial(q, p, frames)) token = specialToken;
                    else if (frame < promptFrames) token = known[(b * numCodebooks + q) * promptFrames + frame];
                    else token = DECIDE;
                    out[(b * numCodebooks + q) * length + p] = token;
                }
            }
        }
        return Tensor.create(out, batch, numCodebooks, length);
    }
}
