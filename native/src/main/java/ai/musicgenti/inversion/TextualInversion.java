package ai.musicgenti.inversion;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Tensors;
import ai.musicgenti.models.DelayPattern;
import ai.musicgenti.models.MusicGen;
import ai.musicgenti.concepts.ConceptPrompts;
import ai.musicgenti.concepts.LearnedConcepts;
import ai.musicgenti.text.PromptTokenizer;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.List;
import java.util.SplittableRandom;

import static ai.musicgenti.core.Tensors.scalar;

/**
 * The textual-inversion objective: MusicGen's codebook cross-entropy with learned rows spliced into the prompt
 * embeddings, plus two regularisers on the learned rows themselves. The learned table [rows, d_model] is the only
 * tensor that requires grad; the model stays frozen.
 */
public final class TextualInversion {
    private TextualInversion() {
    }

    /**
     * @param entropy weight of the codebook cross-entropy
     * @param ortho   weight of the orthogonality of each concept's rows
     * @param cr      weight of the margin between different concepts
     * @param margin  the distance between two concepts' (unit) directions below which they are pushed apart
     */
    public record Alphas(double entropy, double ortho, double cr, double margin) {
        public static Alphas crossEntropyOnly() {
            return new Alphas(1, 0, 0, 0);
        }
    }

    /** total = entropy·crossEntropy + ortho·orthogonality + cr·margin; each term a scalar F32 tensor. */
    public record Terms(Tensor total, Tensor crossEntropy, Tensor orthogonality, Tensor margin, CodebookLoss.Result codebook) {
    }

    /**
     * @param codes   [B,K,T] target codes (any values at padded frames)
     * @param padding [B,T] 1 = real frame, 0 = padding; null when all frames are real
     * @param present the concepts this batch's prompts name: the regularisers look at their rows only
     */
    public static Terms loss(MusicGen model, Tensor learned, ConceptPrompts.Batch prompts, Tensor codes, Tensor padding,
                             List<ConceptPrompts.Concept> present, Alphas alphas) {
        CodebookLoss.Result codebook = crossEntropy(model, learned, prompts, codes, padding);
        Tensor ce = codebook.loss();
        Tensor ortho = orthogonality(learned, present);
        Tensor margin = margin(learned, present, alphas.margin());
        Tensor total = ce.mul(scalar(alphas.entropy())).add(ortho.mul(scalar(alphas.ortho()))).add(margin.mul(scalar(alphas.cr())));
        return new Terms(total, ce, ortho, margin, codebook);
    }

    /** Teacher-forced codebook cross-entropy of codes [B,K,T] under prompts whose learned positions take {@code learned}. */
    public static CodebookLoss.Result crossEntropy(MusicGen model, Tensor learned, ConceptPrompts.Batch prompts, Tensor codes,
                                                   Tensor padding) {
        Device device = model.decoder().compute().device();
        Tensor mask = prompts.attentionMask().to(device, ScalarType.Long);
        Tensor embeds = LearnedConcepts.splice(model.textEncoder().embed(prompts.inputIds()), prompts.rows(), learned);
        Tensor states = model.conditionFromEmbeddings(embeds, mask);
        Tensor target = codes.to(device, ScalarType.Long);
        long frames = target.size(2);
        // audiocraft's keep_only_valid_steps: the first T+1 delayed steps predict all T frames of every codebook
        Tensor input = DelayPattern.build(target, model.config().decoder().vocabSize()).narrow(2, 0, frames + 1);
        Tensor logits = model.decoder().forward(input, states, mask);
        return CodebookLoss.compute(logits, target, padding == null ? null : padding.to(device, ScalarType.Long));
    }

    /**
     * Mean over concepts of the squared Frobenius norm of the off-diagonal of the Gram matrix of the concept's
     * unit-normalised rows: 0 when its tokens point in orthogonal directions, so they carry different information.
     */
    public static Tensor orthogonality(Tensor learned, List<ConceptPrompts.Concept> concepts) {
        TensorVector perConcept = new TensorVector();
        for (ConceptPrompts.Concept c : concepts) {
            if (c.tokens() < 2) continue;
            Tensor unit = unitRows(learned.narrow(0, c.firstRow(), c.tokens()));
            Tensor gram = torch.matmul(unit, unit.t());
            Tensor offDiagonal = gram.mul(torch.eye(c.tokens(), new org.bytedeco.pytorch.TensorOptions(ScalarType.Float)
                    .device(new org.bytedeco.pytorch.DeviceOptional(learned.device()))).neg().add(scalar(1)));
            perConcept.push_back(offDiagonal.pow(scalar(2)).sum());
        }
        return perConcept.empty() ? zero(learned) : torch.stack(perConcept).mean();
    }

    /**
     * Mean over pairs of different concepts of {@code max(0, margin - |a - b|)}, a and b being the unit directions of
     * the two concepts' mean rows: whole blocks are compared, so two concepts cannot pass by differing in one token
     * while meaning the same. Unit directions lie at most 2 apart.
     */
    public static Tensor margin(Tensor learned, List<ConceptPrompts.Concept> concepts, double margin) {
        TensorVector perPair = new TensorVector();
        for (int i = 0; i < concepts.size(); i++) {
            for (int j = i + 1; j < concepts.size(); j++) {
                Tensor a = direction(learned, concepts.get(i)), b = direction(learned, concepts.get(j));
                // the epsilon keeps the gradient of the square root finite when two directions coincide
                Tensor distance = a.sub(b).pow(scalar(2)).sum().add(scalar(1e-12)).sqrt();
                perPair.push_back(distance.neg().add(scalar(margin)).clamp_min(scalar(0)));
            }
        }
        return perPair.empty() ? zero(learned) : torch.stack(perPair).mean();
    }

    private static Tensor direction(Tensor learned, ConceptPrompts.Concept c) {
        Tensor mean = learned.narrow(0, c.firstRow(), c.tokens()).to(ScalarType.Float).mean(new long[]{0}, false, new ScalarTypeOptional());
        return mean.div(mean.norm().clamp_min(scalar(1e-12)));
    }

    private static Tensor unitRows(Tensor rows) {
        Tensor f = rows.to(ScalarType.Float);
        Tensor norms = f.pow(scalar(2)).sum(new long[]{1}, true, new ScalarTypeOptional()).sqrt().clamp_min(scalar(1e-12));
        return f.div(norms);
    }

    private static Tensor zero(Tensor like) {
        return torch.zeros(new long[]{}, new org.bytedeco.pytorch.TensorOptions(ScalarType.Float)
                .device(new org.bytedeco.pytorch.DeviceOptional(like.device())));
    }

    /**
     * A fresh learned table [rows, d_model] F32 on the model's device, requiring grad: the mean of the T5 embedding
     * table (a "typical token") plus seeded Gaussian noise of {@code sigma}, which gives each row its own start.
     */
    public static Tensor initFromMean(MusicGen model, int rows, double sigma, long seed) {
        Tensor table = model.textEncoder().embeddingTable().to(ScalarType.Float);
        return withNoise(table.mean(new long[]{0}, false, new ScalarTypeOptional()), rows, sigma, seed);
    }

    /** As {@link #initFromMean} but centred on the mean embedding of a word's tokens (e.g. "guitar"). */
    public static Tensor initFromWord(MusicGen model, PromptTokenizer tokenizer, String word, int rows, double sigma, long seed) {
        long[] ids = tokenizer.encodePlain(word.strip());
        if (ids.length == 0) throw new BadInputException("--init-word '" + word + "': gives no tokens; give a word");
        Tensor embeds = model.textEncoder().embed(Tensors.longs(ids, 1, ids.length)).to(ScalarType.Float);
        return withNoise(embeds.squeeze(0).mean(new long[]{0}, false, new ScalarTypeOptional()), rows, sigma, seed);
    }

    private static Tensor withNoise(Tensor centre, int rows, double sigma, long seed) {
        int width = (int) centre.size(0);
        // drawn in Java so that a seed gives the same start on every device and libtorch build
        SplittableRandom random = new SplittableRandom(seed);
        float[] noise = new float[rows * width];
        for (int i = 0; i < noise.length; i++) noise[i] = (float) (sigma * random.nextGaussian());
        Tensor start = Tensors.floats(noise, rows, width).to(centre.device(), ScalarType.Float).add(centre.detach().unsqueeze(0));
        return start.detach().clone().requires_grad_(true);
    }
}
