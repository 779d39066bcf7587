using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Federated.Learning;

/// <summary>
/// The optimisers the towers and top models train with. TorchSharp's own <c>optim.Adam</c> passes temporary Scalars
/// to LibTorch in every step (<c>mul_(beta1)</c>, <c>add_(eps)</c> with its default alpha, the step size), which a
/// finalizer can free during the call (see <see cref="TorchScalars"/>); this one computes the same update with every
/// Scalar held across its call.
/// </summary>
public static class TorchOptimisers
{
    /// <summary>Adam (Kingma and Ba) without weight decay, AMSGrad or maximisation, as <c>torch.optim.Adam</c> computes it.</summary>
    public static optim.Optimizer Adam(IEnumerable<Parameter> parameters, double learningRate) =>
        new HeldScalarAdam(parameters, learningRate);

    /// <summary>
    /// TorchSharp's Adam with its step replaced: the same state objects and state-dict format (so saved optimiser
    /// files are unchanged), the same arithmetic, no temporary Scalar.
    /// </summary>
    private sealed class HeldScalarAdam(IEnumerable<Parameter> parameters, double learningRate)
        : TorchSharp.Modules.Adam(parameters, learningRate)
    {
        public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
        {
            var options = (Options)group.Options;
            if (options.amsgrad == true || options.maximize == true || options.weight_decay is not (null or 0))
                throw new NotSupportedException("this Adam has no AMSGrad, maximisation or weight decay");
            double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, eps = options.eps!.Value, lr = options.LearningRate!.Value;
            using var keepOfBeta1 = beta1.ToScalar();
            using var keepOfBeta2 = beta2.ToScalar();
            using var newOfBeta1 = (1 - beta1).ToScalar();
            using var newOfBeta2 = (1 - beta2).ToScalar();
            foreach (var param in group.Parameters)
            {
                var state = (State)_state[param.Handle];
                using var grad = param.grad;
                if (grad is null) continue;
                state.step += 1;
                double biasCorrection1 = 1 - Math.Pow(beta1, state.step);
                double biasCorrection2 = 1 - Math.Pow(beta2, state.step);
                state.exp_avg.mul_(keepOfBeta1).add_(grad, newOfBeta1);
                state.exp_avg_sq.mul_(keepOfBeta2).addcmul_(grad, grad, newOfBeta2);
                using var root = state.exp_avg_sq.sqrt();
                using var denominator = root.DividedBy(Math.Sqrt(biasCorrection2));
                using var epsilon = eps.ToScalar();
                using var one = 1.ToScalar();
                denominator.add_(epsilon, one);
                using var stepSize = (-lr / biasCorrection1).ToScalar();
                param.addcdiv_(state.exp_avg, denominator, stepSize);
                GC.KeepAlive(grad);
            }
        }, closure);
    }
}
