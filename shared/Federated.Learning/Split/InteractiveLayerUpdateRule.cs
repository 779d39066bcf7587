using static TorchSharp.torch;

namespace Federated.Learning.Split;

/// <summary>
/// How M applies its (masked) weight gradient to W_M. Only plain SGD keeps W_M + A = W − η∇W, because E's mask
/// enters linearly; the seam exists so tests can show that any other rule breaks the invariant.
/// </summary>
internal interface IInteractiveLayerUpdateRule
{
    /// <summary>Updates <paramref name="weightHalf"/> (float64 [k, d]) in place from M's view of the gradient.</summary>
    void Apply(Tensor weightHalf, Tensor maskedGradient, double learningRate);
}

internal sealed class PlainSgdUpdateRule : IInteractiveLayerUpdateRule
{
    public static readonly PlainSgdUpdateRule Instance = new();

    public void Apply(Tensor weightHalf, Tensor maskedGradient, double learningRate)
    {
        using var _ = no_grad();
        using var step = maskedGradient.Times(learningRate);
        weightHalf.sub_(step);
    }
}
