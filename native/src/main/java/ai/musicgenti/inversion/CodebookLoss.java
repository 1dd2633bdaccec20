package ai.musicgenti.inversion;

import ai.musicgenti.core.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * MusicGen's training loss on EnCodec codes under the delay pattern, as audiocraft's solver computes it: for each
 * codebook k the mean cross-entropy over its valid positions, code {@code C[b,k,t]} being predicted by the logits at
 * delayed position {@code t+k}; then the mean over codebooks. Positions with {@code t+k >= T} are invalid (their
 * prediction would need steps beyond the window), and so is any position the caller marks as padding, so padded
 * frames never count (the seed counted them).
 */
public final class CodebookLoss {
    private CodebookLoss() {
    }

    /**
     * @param loss        the scalar mean over codebooks; perCodebook [K]; validMask [B,K,T] (1 = counted)
     * @param rowNllSum   [B,K] F32 each row's summed NLL per codebook over its counted frames
     * @param rowCount    [B,K] F32 each row's counted frames per codebook: any subset of rows gives its own loss as
     *                    the mean over codebooks of (its NLL sum / its count), the same formula as {@code loss}
     */
    public record Result(Tensor loss, Tensor perCodebook, Tensor validMask, Tensor rowNllSum, Tensor rowCount) {
        /** The loss of the rows {@code rows} alone, from {@link #rowNllSum} and {@link #rowCount} copied out. */
        public static double lossOf(float[] nllSum, float[] count, int codebooks, java.util.List<Integer> rows) {
            double sum = 0;
            for (int q = 0; q < codebooks; q++) {
                double nll = 0, n = 0;
                for (int b : rows) {
                    nll += nllSum[b * codebooks + q];
                    n += count[b * codebooks + q];
                }
                sum += nll / Math.max(1.0, n);
            }
            return sum / codebooks;
        }
    }

    /**
     * @param logits  [B,K,T+1,V] decoder output for the first T+1 delayed steps
     * @param codes   [B,K,T] the target codes
     * @param padding [B,T] 1 where a frame is real audio, 0 where it is padding; null when all frames are real
     */
    public static Result compute(Tensor logits, Tensor codes, Tensor padding) {
        long batch = codes.size(0), k = codes.size(1), frames = codes.size(2);
        Tensor frameIdx = torch.arange(Tensors.scalar(frames), new org.bytedeco.pytorch.TensorOptions(ScalarType.Long).device(
                new org.bytedeco.pytorch.DeviceOptional(codes.device())));
        TensorVector perK = new TensorVector();
        TensorVector masks = new TensorVector();
        TensorVector rowSums = new TensorVector();
        TensorVector rowCounts = new TensorVector();
        for (int q = 0; q < k; q++) {
            long valid = frames - q;
            // validity by delay: t + q < T; padding frames are dropped on top of it
            Tensor mask = frameIdx.lt(Tensors.scalar(valid)).unsqueeze(0).expand(batch, frames).to(logits.scalar_type());
            if (padding != null) mask = mask.mul(padding.to(logits.scalar_type()));
            masks.push_back(mask);
            if (valid <= 0) {
                perK.push_back(logits.sum().mul(Tensors.scalar(0.0)).to(ScalarType.Float));
                rowSums.push_back(torch.zeros(new long[]{batch}, new org.bytedeco.pytorch.TensorOptions(ScalarType.Float).device(
                        new org.bytedeco.pytorch.DeviceOptional(codes.device()))));
                rowCounts.push_back(rowSums.get(rowSums.size() - 1));
                continue;
            }
            Tensor lq = logits.select(1, q).narrow(1, q, valid).to(ScalarType.Float);
            Tensor target = codes.select(1, q).narrow(1, 0, valid);
            Tensor nll = torch.log_softmax(lq, -1).gather(-1, target.unsqueeze(-1)).squeeze(-1).neg();
            Tensor m = mask.narrow(1, 0, valid).to(ScalarType.Float);
            perK.push_back(nll.mul(m).sum().div(m.sum().clamp_min(Tensors.scalar(1.0))));
            rowSums.push_back(nll.detach().mul(m).sum(new long[]{1}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
            rowCounts.push_back(m.sum(new long[]{1}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
        }
        Tensor perCodebook = torch.stack(perK);
        Tensor validMask = torch.stack(masks, 1);
        return new Result(perCodebook.mean(), perCodebook, validMask, torch.stack(rowSums, 1), torch.stack(rowCounts, 1));
    }
}
