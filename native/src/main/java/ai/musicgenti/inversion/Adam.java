package ai.musicgenti.inversion;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

import static ai.musicgenti.core.Tensors.scalar;

/**
 * Adam (Kingma and Ba, as {@code torch.optim.Adam} without weight decay) for the one learned tensor, written in
 * tensor ops rather than through libtorch's {@code torch::optim::Adam}: its whole state is two tensors and a step
 * count that a checkpoint saves and restores as they are, so a resumed run continues bit for bit.
 */
public final class Adam {
    private final Tensor param;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final Tensor m;
    private final Tensor v;
    private long steps;

    /** Fresh state; build it outside any PointerScope (m and v must outlive the steps). */
    public Adam(Tensor param, double beta1, double beta2, double eps) {
        this(param, beta1, beta2, eps, torch.zeros_like(param.detach()), torch.zeros_like(param.detach()), 0);
    }

    /** Restored state, e.g. from a checkpoint. */
    public Adam(Tensor param, double beta1, double beta2, double eps, Tensor m, Tensor v, long steps) {
        this.param = param;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.m = m.to(param.device(), param.scalar_type());
        this.v = v.to(param.device(), param.scalar_type());
        this.steps = steps;
    }

    public static Adam standard(Tensor param) {
        return new Adam(param, 0.9, 0.999, 1e-8);
    }

    /**
     * One update from {@code param.grad()} scaled by {@code gradientScale} (training amplifies the small gradients
     * that reach the prompt embeddings through the whole model); then the gradient is zeroed for the next backward.
     */
    public void step(double lr, double gradientScale) {
        Tensor grad = param.grad().mul(scalar(gradientScale));
        steps++;
        m.mul_(scalar(beta1)).add_(grad.mul(scalar(1 - beta1)));
        v.mul_(scalar(beta2)).add_(grad.mul(grad).mul(scalar(1 - beta2)));
        double correction1 = 1 - Math.pow(beta1, steps), correction2 = 1 - Math.pow(beta2, steps);
        Tensor denominator = v.div(scalar(correction2)).sqrt().add(scalar(eps));
        Tensor update = m.div(denominator).mul(scalar(lr / correction1));
        // the parameter is a leaf that requires grad: change its data, not the graph
        param.detach().sub_(update);
        param.grad().zero_();
    }

    public Tensor m() {
        return m;
    }

    public Tensor v() {
        return v;
    }

    public long steps() {
        return steps;
    }
}
