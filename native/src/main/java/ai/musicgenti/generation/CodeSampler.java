package ai.musicgenti.generation;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.models.DelayPattern;
import ai.musicgenti.models.MusicGenDecoder;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import static ai.musicgenti.core.Tensors.scalar;

/**
 * Autoregressive generation of MusicGen's delayed code sequence, as HF's {@code MusicgenForConditionalGeneration
 * .generate} does it: start from the all-special column, decide one position per step for every codebook at once,
 * and overwrite what the delay pattern fixes.
 *
 * <p>Per step: with classifier-free guidance the conditional and unconditional rows go through ONE decoder call
 * (batch [cond; uncond]); {@code scores = uncond + g * (cond - uncond)} on raw logits; when sampling, then
 * temperature, top-k, top-p in that order (HF's warper order) and a multinomial draw; otherwise argmax.
 */
public final class CodeSampler {
    private CodeSampler() {
    }

    /**
     * @param maxNewTokens  generation steps; the result has {@code maxNewTokens + 1 - K} frames (plus the prompt's)
     * @param guidanceScale classifier-free guidance when above 1 (HF's condition), else the conditional rows alone
     * @param sample        multinomial sampling; false = greedy argmax
     * @param topK          keep the k best scores when sampling; 0 = off
     * @param topP          nucleus sampling mass; 1 = off
     * @param temperature   divides the scores before top-k/top-p when sampling
     * @param seed          the sampler's seed: the same seed gives the same codes
     */
    public record Settings(int maxNewTokens, double guidanceScale, boolean sample, int topK, double topP,
                           double temperature, long seed) {
        public Settings {
            if (maxNewTokens < 1) throw new BadInputException("max new tokens must be at least 1, got " + maxNewTokens);
            if (topK < 0) throw new BadInputException("top-k must be 0 (off) or positive, got " + topK);
            if (!(topP > 0 && topP <= 1)) throw new BadInputException("top-p must be in (0, 1], got " + topP);
            if (sample && !(temperature > 0)) {
                throw new BadInputException("temperature must be positive when sampling, got " + temperature
                        + "; use greedy decoding for temperature 0");
            }
        }

        public Settings withGuidanceScale(double scale) {
            return new Settings(maxNewTokens, scale, sample, topK, topP, temperature, seed);
        }

        /**
         * The checkpoint's {@code generation_config.json} with HF's defaults for absent keys (greedy, no guidance,
         * top-k 50); the length comes from {@code max_new_tokens}, else {@code max_length} less the start token.
         */
        public static Settings fromGenerationConfig(com.fasterxml.jackson.databind.JsonNode gc, long seed) {
            int maxNew = gc.path("max_new_tokens").isNumber() ? gc.path("max_new_tokens").asInt()
                    : gc.path("max_length").asInt(20) - 1;
            return new Settings(maxNew, gc.path("guidance_scale").asDouble(1.0), gc.path("do_sample").asBoolean(false),
                    gc.path("top_k").asInt(50), gc.path("top_p").asDouble(1.0), gc.path("temperature").asDouble(1.0), seed);
        }

        public static Settings greedy(int maxNewTokens, double guidanceScale) {
            return new Settings(maxNewTokens, guidanceScale, false, 0, 1.0, 1.0, 0);
        }

        public static Settings sampling(int maxNewTokens, double guidanceScale, int topK, double topP, double temperature,
                                        long seed) {
            return new Settings(maxNewTokens, guidanceScale, true, topK, topP, temperature, seed);
        }
    }

    /**
     * Sees every step. The tensors live only during the call (the step's memory is freed right after): copy out
     * what you keep, e.g. with {@code Tensors.toFloats}.
     */
    public interface StepListener {
        /**
         * @param step         0-based; the step decides position {@code promptFrames + 1 + step}
         * @param condLogits   [B, K, V] F32 last-position logits of the conditional rows
         * @param uncondLogits [B, K, V] of the unconditional rows, null without guidance
         * @param scores       [B, K, V] guided scores, before temperature/top-k/top-p
         * @param tokens       [B, K] the decided tokens, before the delay pattern overwrites fixed positions
         */
        void onStep(int step, Tensor condLogits, Tensor uncondLogits, Tensor scores, Tensor tokens);
    }

    /** Steps that give {@code round(seconds * frameRate)} frames: each step adds a frame, less K-1 for the delay. */
    public static int maxNewTokensFor(double seconds, double frameRate, int numCodebooks) {
        long frames = Math.round(seconds * frameRate);
        if (frames < 1) throw new BadInputException("duration " + seconds + " s is less than one frame at " + frameRate + " Hz");
        return Math.toIntExact(frames + numCodebooks - 1);
    }

    public static Tensor generate(MusicGenDecoder decoder, Tensor encoderHiddenStates, Tensor encoderMask, Settings s,
                                  StepListener listener) {
        return generate(decoder, encoderHiddenStates, encoderMask, null, s, listener);
    }

    /**
     * @param encoderHiddenStates [B, S, H] conditional rows, projected to the decoder width and masked
     * @param encoderMask         [B, S] 1 = text, 0 = padding; null = all text
     * @param prompt              [B, K, P] known leading frames to continue from, or null
     * @return the delayed sequence [B, K, 1 + P + maxNewTokens]; {@link DelayPattern#undo} gives the codes
     */
    public static Tensor generate(MusicGenDecoder decoder, Tensor encoderHiddenStates, Tensor encoderMask, Tensor prompt,
                                  Settings s, StepListener listener) {
        MusicGenDecoder.Config c = decoder.config();
        int k = c.numCodebooks();
        int b = (int) encoderHiddenStates.size(0);
        int promptFrames = prompt == null ? 0 : (int) prompt.size(2);
        int length = 1 + promptFrames + s.maxNewTokens();
        if (DelayPattern.frames(length, k) <= promptFrames) {
            throw new BadInputException("max new tokens " + s.maxNewTokens() + " gives no new frame with " + k
                    + " delayed codebooks; ask for at least " + k);
        }
        Device device = decoder.compute().device();
        boolean guided = s.guidanceScale() > 1.0;

        Tensor forced = DelayPattern.forcedTokens(b, k, length, c.specialToken(), prompt).to(device, ScalarType.Long);
        Tensor sequence = forced.masked_fill(forced.eq(scalar(DelayPattern.DECIDE)), scalar(c.specialToken()));

        Tensor states = encoderHiddenStates.to(device, decoder.compute().dtype());
        Tensor mask = encoderMask == null ? null : encoderMask.to(device, ScalarType.Long);
        if (guided) {
            // The unconditional half: no text at all. Zero states and a zero mask make its cross-attention exactly 0.
            if (mask == null) mask = torch.ones(new long[]{b, states.size(1)}, decoder.compute().longs());
            states = torch.cat(new TensorVector(states, torch.zeros_like(states)), 0);
            mask = torch.cat(new TensorVector(mask, torch.zeros_like(mask)), 0);
        }
        // The last decided token is never fed back, so the cache needs one position less than the sequence.
        MusicGenDecoder.KvCache cache = decoder.newCache(guided ? 2 * b : b, length - 1, states, mask);
        org.bytedeco.pytorch.Generator rng = s.sample() ? torch.createCPUGenerator(s.seed()) : null;

        // one hand-over of the cores for the whole loop rather than two per step
        try (CpuThreads.Phase threads = CpuThreads.forCompute(decoder.compute())) {
            for (int step = 0; step < s.maxNewTokens(); step++) {
                int position = promptFrames + 1 + step;
                try (PointerScope scope = new PointerScope()) {
                    // First step: the start column and any prompt; afterwards the one position decided last.
                    Tensor input = sequence.narrow(2, cache.length(), position - cache.length());
                    if (guided) input = torch.cat(new TensorVector(input, input), 0);
                    Tensor logits = decoder.step(input, cache);
                    Tensor last = logits.select(2, logits.size(2) - 1).to(ScalarType.Float);
                    Tensor cond = guided ? last.narrow(0, 0, b) : last;
                    Tensor uncond = guided ? last.narrow(0, b, b) : null;
                    Tensor scores = guided ? uncond.add(cond.sub(uncond).mul(scalar(s.guidanceScale()))) : cond;
                    Tensor tokens = s.sample() ? sample(scores, s, rng) : scores.argmax(new LongOptional(-1), false);
                    if (listener != null) listener.onStep(step, cond, uncond, scores, tokens);
                    Tensor fixed = forced.select(2, position);
                    sequence.select(2, position).copy_(torch.where(fixed.eq(scalar(DelayPattern.DECIDE)), tokens, fixed));
                }
            }
        }
        return sequence;
    }

    /**
     * HF's sampling warpers in HF's order, then one draw per (row, codebook). The draw runs on the CPU with our own
     * generator so a seed gives the same codes on every device and is untouched by other users of the global RNG.
     */
    static Tensor sample(Tensor scores, Settings s, org.bytedeco.pytorch.Generator rng) {
        long v = scores.size(-1);
        Tensor x = scores.reshape(-1, v);
        if (s.temperature() != 1.0) x = x.div(scalar(s.temperature()));
        if (s.topK() > 0) {
            long keep = Math.min(s.topK(), v);
            Tensor kth = torch.topk(x, keep).get0().narrow(1, keep - 1, 1);
            x = x.masked_fill(x.lt(kth), scalar(Double.NEGATIVE_INFINITY));
        }
        if (s.topP() < 1.0) {
            // Drop the low tail whose total probability stays within 1 - top_p, always keeping the best token.
            var sorted = torch.sort(x, -1, false);
            Tensor cumulative = sorted.get0().softmax(-1).cumsum(-1);
            Tensor drop = cumulative.le(scalar(1 - s.topP()));
            drop.narrow(1, v - 1, 1).fill_(scalar(0));
            x = x.masked_fill(drop.scatter(1, sorted.get1(), drop), scalar(Double.NEGATIVE_INFINITY));
        }
        Tensor probs = x.softmax(-1).to(new Device("cpu"), ScalarType.Float);
        Tensor drawn = torch.multinomial(probs, 1, false, new GeneratorOptional(rng));
        return drawn.to(scores.device(), ScalarType.Long).view(scores.size(0), scores.size(1));
    }
}
