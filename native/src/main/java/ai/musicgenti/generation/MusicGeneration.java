package ai.musicgenti.generation;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.models.MusicGen;
import org.bytedeco.pytorch.Tensor;

import java.util.Locale;

/**
 * Text to music with a loaded {@link MusicGen}: condition on the prompt, run {@link CodeSampler}, decode the codes
 * with EnCodec. The model stays a plain network; this is the pipeline around it (as audiocraft.cpp keeps {@code lm}
 * apart from {@code pipeline}).
 */
public final class MusicGeneration {
    private MusicGeneration() {
    }

    /** Generated music: codes [B, K, frames] and their waveform [B, channels, frames * hop] at the codec's rate. */
    public record Music(Tensor codes, Tensor audio) {
    }

    /** The delayed code sequence [B,K,1+maxNewTokens] for tokenised prompts. */
    public static Tensor delayedCodes(MusicGen model, Tensor inputIds, Tensor attentionMask, CodeSampler.Settings settings,
                                      CodeSampler.StepListener listener) {
        Tensor states = model.condition(inputIds, attentionMask);
        return CodeSampler.generate(model.decoder(), states, attentionMask, settings, listener);
    }

    /**
     * Text to music: the codes generated for tokenised prompts and their EnCodec waveform.
     *
     * @param promptAudio [B, channels, N] audio at the codec's rate to continue from (its codes are kept and the new
     *                    frames follow them, as audiocraft's {@code generate_continuation}); null for none
     */
    public static Music fromTokens(MusicGen model, Tensor inputIds, Tensor attentionMask, Tensor promptAudio, CodeSampler.Settings settings,
                                   CodeSampler.StepListener listener) {
        return fromEmbeddings(model, model.textEncoder().embed(inputIds), attentionMask, promptAudio, settings, listener);
    }

    /**
     * As {@link #fromTokens}, from prompt embeddings: learned concept rows spliced into the token embeddings. The
     * text encoder is released once the prompts are encoded and the decoder once the codes are generated, so each
     * phase holds only the weights it uses (see {@link MusicGen#releaseTextEncoder}); the next call builds them again.
     */
    public static Music fromEmbeddings(MusicGen model, Tensor inputsEmbeds, Tensor attentionMask, Tensor promptAudio,
                                       CodeSampler.Settings settings, CodeSampler.StepListener listener) {
        long hop = model.audioEncoder().hopLength();
        checkLength(model, promptAudio == null ? 0 : (promptAudio.size(2) + hop - 1) / hop, settings);
        Tensor prompt = null;
        if (promptAudio != null) {
            prompt = model.audioEncoder().encode(promptAudio).narrow(1, 0, model.config().decoder().numCodebooks());
        }
        Tensor states = model.conditionFromEmbeddings(inputsEmbeds, attentionMask);
        model.releaseTextEncoder();
        Tensor codes = model.audioCodes(CodeSampler.generate(model.decoder(), states, attentionMask, prompt, settings, listener));
        model.releaseDecoder();
        return new Music(codes, model.audioEncoder().decode(codes));
    }

    /**
     * Refuses a generation longer than the decoder's positions, saying the limit in seconds of audio, before any work
     * is done (the music calls check it too).
     */
    public static void checkLength(MusicGen model, long promptFrames, CodeSampler.Settings settings) {
        long positions = 1 + promptFrames + settings.maxNewTokens(), max = model.config().decoder().maxPositionEmbeddings();
        if (positions <= max) return;
        double rate = model.audioEncoder().frameRate(), k = model.config().decoder().numCodebooks();
        throw new BadInputException(String.format(Locale.ROOT,
                "this model generates at most %.1f s of audio (max_position_embeddings %d at %.0f frames/s), audio prompt"
                        + " included; asked for %.1f s; ask for a shorter duration or a shorter audio prompt",
                (max - k) / rate, max, rate, (positions - k) / rate));
    }
}
