package ai.musicgenti.models;

import ai.musicgenti.core.BadInputException;
import ai.musicgenti.core.Compute;
import ai.musicgenti.core.OneDnn;
import ai.musicgenti.core.Ops;
import ai.musicgenti.core.Weights;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

import java.util.List;

/** The building blocks several ports share: a linear layer, a layer norm and an activation, by their HF names. */
final class Layers {
    private Layers() {
    }

    /**
     * {@code nn.Linear}: {@code weight} [out, in], optional {@code bias} [out]. Under {@link Compute#halfWeights} the
     * weight is held only as fbgemm's packed F16 matrix ({@code fbgemm}), under {@link Compute#packedWeights} only in
     * oneDNN's layout ({@code onednn}); neither has autograd, so such a layer is for inference.
     */
    record Linear(Tensor weight, Tensor bias, Tensor fbgemm, OneDnn.Packed onednn) {
        static Linear load(Weights w, long out, long in, boolean bias) {
            return of(w.compute(), w.get("weight", out, in), bias ? w.get("bias", out) : null);
        }

        /** @param weight [out, in], let go of when packed (its mapped pages can then leave memory) */
        static Linear of(Compute compute, Tensor weight, Tensor bias) {
            if (compute.halfWeights()) {
                Tensor packed = torch.fbgemm_pack_gemm_matrix_fp16(weight);
                weight.close();
                return new Linear(null, bias, packed, null);
            }
            if (compute.packedWeights() && OneDnn.packs(weight)) {
                OneDnn.Packed packed = OneDnn.pack(weight);
                weight.close();
                return new Linear(null, bias, null, packed);
            }
            return new Linear(weight, bias, null, null);
        }

        /**
         * Bias-free linears of these weights. fbgemm's packing runs on every core: it packs about 80 M weights/s on
         * one, so musicgen-small's decoder took 7 s to load in f16w on one core (oneDNN's reorders use its own pool).
         */
        static List<Linear> all(Compute compute, List<Tensor> weights) {
            return (compute.halfWeights() ? weights.parallelStream() : weights.stream()).map(w -> of(compute, w, null)).toList();
        }

        Tensor apply(Tensor x) {
            if (onednn != null) return onednn.linear(x, bias);
            if (fbgemm == null) return Ops.linear(x, weight, bias);
            if (x.requires_grad()) throw Compute.noGradients();
            return torch.fbgemm_linear_fp16_weight_fp32_activation(x.contiguous(), fbgemm,
                    bias == null ? new TensorOptional() : new TensorOptional(bias));
        }
    }

    /**
     * {@code nn.LayerNorm} over the last dim. Its parameters and statistics stay in F32 whatever the compute dtype:
     * normalisation is where 16-bit precision hurts; the result goes back to the input's dtype.
     */
    record LayerNorm(Tensor weight, Tensor bias, double eps) {
        static LayerNorm load(Weights w, long size, double eps) {
            return new LayerNorm(w.get("weight", size).to(ScalarType.Float), w.get("bias", size).to(ScalarType.Float), eps);
        }

        Tensor apply(Tensor x) {
            ScalarType type = x.scalar_type();
            boolean f32 = type.value == ScalarType.Float.value;
            Tensor in = f32 ? x : x.to(ScalarType.Float);
            Tensor out = torch.layer_norm(in, new long[]{in.size(-1)}, new TensorOptional(weight), new TensorOptional(bias), eps, false);
            return f32 ? out : out.to(type);
        }
    }

    /** CLAP's {@code ClapProjectionLayer}: linear1, activation, linear2, from a tower's width into the shared space. */
    record Projection(Linear linear1, Activation activation, Linear linear2) {
        /** @param where names the tower in errors, e.g. "CLAP text config" */
        static Projection load(Weights w, long in, long dim, String activation, String where) {
            return new Projection(Linear.load(w.pp("linear1"), dim, in, true), Activation.of(activation, where + ": projection_hidden_act"),
                    Linear.load(w.pp("linear2"), dim, dim, true));
        }

        Tensor apply(Tensor x) {
            return linear2.apply(activation.apply(linear1.apply(x)));
        }
    }

    /** The activations of transformers' {@code ACT2FN} that these checkpoints use. */
    enum Activation {
        GELU, GELU_TANH, RELU, SILU;

        /** @param where names the config key in the error, e.g. "CLAP text config: hidden_act" */
        static Activation of(String name, String where) {
            return switch (name) {
                case "gelu" -> GELU;
                case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
                case "relu" -> RELU;
                case "silu", "swish" -> SILU;
                default -> throw new BadInputException(where + " '" + name
                        + "' is not supported; use gelu, gelu_new, gelu_pytorch_tanh, relu or silu");
            };
        }

        Tensor apply(Tensor x) {
            return switch (this) {
                case GELU -> torch.gelu(x);
                case GELU_TANH -> torch.gelu(x, "tanh");
                case RELU -> torch.relu(x);
                case SILU -> torch.silu(x);
            };
        }
    }

    /** Scaled to unit L2 norm along the last dim as {@code F.normalize} does, the norm taken in F32. */
    static Tensor unitNorm(Tensor x) {
        Tensor f32 = x.to(ScalarType.Float);
        Tensor norm = f32.mul(f32).sum(new long[]{-1}, true, new ScalarTypeOptional()).sqrt().clamp_min(new Scalar(1e-12));
        return x.div(norm.to(x.scalar_type()));
    }
}
