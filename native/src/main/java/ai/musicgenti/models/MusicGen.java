package ai.musicgenti.models;

import ai.musicgenti.core.Ops;
import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.CpuThreads;
import ai.musicgenti.core.ModelFolder;
import ai.musicgenti.core.Releasable;
import ai.musicgenti.core.Safetensors;
import ai.musicgenti.core.Weights;
import com.fasterxml.jackson.databind.JsonNode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * MusicGen as Hugging Face ships it (MusicgenForConditionalGeneration): the T5 text encoder, the projection of its
 * states to the decoder width, the decoder over EnCodec codes, and the EnCodec codec. This class only wires the parts
 * together; each part is its own file.
 */
public final class MusicGen {
    public record Config(T5Encoder.Config text, EnCodec.Config audio, MusicGenDecoder.Config decoder) {
        public static Config fromJson(JsonNode json) {
            String type = json.path("model_type").asText("musicgen");
            if (type.startsWith("musicgen_melody")) {
                throw new BadInputException("config.json: model_type '" + type + "' is MusicGen-Melody (chroma conditioning),"
                        + " a different model; use facebook/musicgen-small, -medium or -large");
            }
            for (String part : new String[]{"text_encoder", "audio_encoder", "decoder"}) {
                if (!json.path(part).isObject()) {
                    throw new BadInputException("config.json: no '" + part + "' section; this is not a MusicGen checkpoint"
                            + " (expected facebook/musicgen-small, -medium or -large)");
                }
            }
            return new Config(T5Encoder.Config.fromJson(json.path("text_encoder")),
                    EnCodec.Config.fromJson(json.path("audio_encoder")),
                    MusicGenDecoder.Config.fromJson(json.path("decoder")));
        }
    }

    private final Config config;
    /**
     * The two big parts, freed between uses by {@link #releaseTextEncoder} and {@link #releaseDecoder} and rebuilt
     * from the checkpoint when next needed (on {@code Weights.random}, a rebuilt part gets new random values).
     */
    private final Releasable<T5Encoder> textEncoder;
    private final Releasable<MusicGenDecoder> decoder;
    private final EnCodec audioEncoder;
    /** Null when the text width already equals the decoder width (then the reference has no projection either). */
    private final Tensor projWeight;
    private final Tensor projBias;
    private final Compute compute;

    public MusicGen(Config config, Weights w) {
        this.config = config;
        this.compute = w.compute();
        this.textEncoder = new Releasable<>(() -> new T5Encoder(config.text(), w.pp("text_encoder")));
        this.decoder = new Releasable<>(() -> new MusicGenDecoder(config.decoder(), w.pp("decoder")));
        // built now, so weights that do not fit the config are reported at load
        textEncoder.get();
        decoder.get();
        this.audioEncoder = audioEncoder(config, w);
        long textWidth = config.text().dModel(), width = config.decoder().hiddenSize();
        if (textWidth != width || w.contains("enc_to_dec_proj.weight")) {
            Weights proj = w.pp("enc_to_dec_proj");
            this.projWeight = proj.get("weight", width, textWidth);
            this.projBias = proj.get("bias", width);
        } else {
            this.projWeight = null;
            this.projBias = null;
        }
        // what loading copied (the stacked codebook tables, a dtype conversion) no longer needs its mapping
        Safetensors.releaseUnusedMappings();
    }

    /** The model's EnCodec alone, as the whole model builds it: for work that only encodes or decodes audio. */
    public static EnCodec audioEncoder(Config config, Weights w) {
        return EnCodec.load(config.audio(), w.pp("audio_encoder"));
    }

    public static MusicGen load(ModelFolder folder, Compute compute) {
        return new MusicGen(Config.fromJson(folder.config()), folder.weights(compute));
    }

    public Config config() {
        return config;
    }

    public T5Encoder textEncoder() {
        return textEncoder.get();
    }

    /**
     * Frees the text encoder's weights (T5-base: 0.4 GB of memory-mapped pages) until it is next needed, which builds
     * it again from the still open checkpoint (page-cache reads, a fraction of a second).
     */
    public void releaseTextEncoder() {
        textEncoder.release();
    }

    public EnCodec audioEncoder() {
        return audioEncoder;
    }

    public MusicGenDecoder decoder() {
        return decoder.get();
    }

    /** As {@link #releaseTextEncoder}, for the decoder (musicgen-small: 1.6 GB). */
    public void releaseDecoder() {
        decoder.release();
    }

    /**
     * What the decoder cross-attends to: T5 states of the prompt embeddings, projected to the decoder width and
     * zeroed at padded positions. Taking embeddings (not ids) lets textual inversion splice in learned rows.
     */
    public Tensor conditionFromEmbeddings(Tensor inputsEmbeds, Tensor attentionMask) {
        try (CpuThreads.Phase threads = CpuThreads.forCompute(compute)) {
            Tensor states = textEncoder().forward(inputsEmbeds, attentionMask, false).lastHiddenState();
            if (projWeight != null) states = Ops.linear(states, projWeight, projBias);
            return states.mul(attentionMask.unsqueeze(-1).to(states.scalar_type()));
        }
    }

    public Tensor condition(Tensor inputIds, Tensor attentionMask) {
        return conditionFromEmbeddings(textEncoder().embed(inputIds), attentionMask);
    }

    /** The audio codes [B,K,frames] inside a generated delayed sequence. */
    public Tensor audioCodes(Tensor delayed) {
        return DelayPattern.undo(delayed, DelayPattern.frames((int) delayed.size(2), config.decoder().numCodebooks()));
    }
}
