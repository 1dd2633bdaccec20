package ai.musicgenti.models;

import ai.musicgenti.core.Compute;
import ai.musicgenti.core.Dtype;
import ai.musicgenti.core.Weights;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How EnCodec computes on the CPU: batches split into row groups, and F32 whatever dtype the model loads in. */
class EnCodecBatchTest {
    /** musicgen-small's codec shape */
    private static EnCodec.Config config() throws Exception {
        return EnCodec.Config.fromJson(new ObjectMapper().readTree("""
                {"audio_channels": 1, "codebook_size": 2048, "codebook_dim": 128, "hidden_size": 128, "num_filters": 64,
                 "num_lstm_layers": 2, "num_residual_layers": 1, "upsampling_ratios": [8, 5, 4, 4], "sampling_rate": 32000,
                 "target_bandwidths": [2.2], "normalize": false, "use_causal_conv": false, "norm_type": "weight_norm",
                 "pad_mode": "reflect", "kernel_size": 7, "last_kernel_size": 7, "residual_kernel_size": 3,
                 "dilation_growth_rate": 2, "compress": 2, "trim_right_ratio": 1.0, "use_conv_shortcut": false}"""));
    }

    @Test
    void aBatchTooLongForOneCallGivesEachRowsOwnCodes() throws Exception {
        // random weights; 3 rows of 4 s exceed the 10 s a call takes, so two calls
        EnCodec.Config config = config();
        torch.manual_seed(3);
        EnCodec codec = new EnCodec(config, Weights.random(Compute.cpu()));
        Tensor audio = torch.randn(3, 1, 4 * 32000).mul(new org.bytedeco.pytorch.Scalar(0.1));
        Tensor together = codec.encode(audio);
        TensorVector alone = new TensorVector();
        for (int r = 0; r < 3; r++) alone.push_back(codec.encode(audio.narrow(0, r, 1)));
        assertArrayEquals(new long[]{3, 4, 200}, together.shape());
        assertTrue(torch.equal(torch.cat(alone, 0), together), "row groups change no code");
    }

    @Test
    void loadedForTheCpuItComputesInF32WhateverTheDtype() throws Exception {
        Compute bf16 = new Compute(Compute.cpu().device(), torch.ScalarType.BFloat16);
        Tensor audio = torch.randn(1, 1, 3200);
        assertEquals(Dtype.F32, Dtype.of(EnCodec.load(config(), Weights.random(bf16)).encodeLatent(audio).scalar_type()));
        // the constructor keeps the dtype it is given: the 16-bit path CUDA runs stays testable
        assertEquals(Dtype.BF16, Dtype.of(new EnCodec(config(), Weights.random(bf16)).encodeLatent(audio).scalar_type()));
    }
}
