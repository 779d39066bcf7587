using Federated.Learning.Crypto;
using Federated.Learning.Model;
using Federated.Learning.Split;
using Federated.Learning.Tests.Support;
using static TorchSharp.torch;

namespace Federated.Learning.Tests;

/// <summary>
/// docs/protocol.md §5.1 for the plaintext reference: the split protocol (W = W_M + A, masks, Ξ noise cancellation) computes
/// the same step as the centralised model, step by step: z_E = α·W, g = δ·Wᵀ, ∇W = αᵀ·δ, and the same parameters.
/// </summary>
public class SplitEquivalenceTests
{
    public SplitEquivalenceTests() => TorchRuntime.Initialise(2);

    [Theory]
    [InlineData(RecallLossKind.InBatchSoftmax)]
    [InlineData(RecallLossKind.SampledBinaryCrossEntropy)]
    public void Split_plaintext_reference_steps_equal_the_centralised_model_step_by_step(RecallLossKind loss)
    {
        using var world = new SmallModels(loss);
        var job = SmallModels.JobOptions();
        var (e, m) = world.SplitPair(job);
        using (e)
        using (m)
        using (var central = new CentralisedTwoTowerModel(world.NewExternalTower(1), world.NewTop(2), world.Catalog,
                   e.WeightHalf + m.WeightHalf, SmallModels.Adam(), SmallModels.Adam(), job.InteractiveLearningRate))
        using (var sampler = new Generator(MusicPartyRole.NegativeSamplerSeed(202)))
        {
            AssertSameParameters(central.Tower, e.Tower, 0, "E tower before training");
            double largestMaskGap = 0;
            for (int step = 0; step < 6; step++)
            {
                var (eb, mb) = world.Batch(32, 100 + step);
                var before = DenseMatrix.FromTensor(e.WeightHalf + m.WeightHalf);
                InProcessSplitExchange.Step(e, m, eb, mb);
                var c = central.Step(eb, mb, sampler);

                MatrixAssert.Close(c.InteractiveOutput, m.LastInteractiveOutput!, 1e-5, $"step {step} z_E");
                MatrixAssert.Close(c.InputGradient, e.LastInputGradient!, 1e-7, $"step {step} g");
                var after = DenseMatrix.FromTensor(e.WeightHalf + m.WeightHalf);
                var splitGradient = new DenseMatrix(before.Rows, before.Cols,
                    before.Values.Zip(after.Values, (b, a) => (b - a) / job.InteractiveLearningRate).ToArray());
                MatrixAssert.Close(c.WeightGradient, splitGradient, 1e-7, $"step {step} ∇W");
                MatrixAssert.Close(DenseMatrix.FromTensor(central.Weight), after, 1e-9, $"step {step} W = W_M + A");
                Assert.Equal(c.Loss, m.LastReport!.Loss!.Value, 5);

                // Not vacuous: the gradients are real, and M's view of ∇W is masked by Ξ/η.
                Assert.True(MatrixAssert.MaxAbs(c.WeightGradient) > 1e-4, $"step {step}: ∇W is too small to compare");
                Assert.True(MatrixAssert.MaxAbs(c.InputGradient) > 1e-5, $"step {step}: g is too small to compare");
                largestMaskGap = Math.Max(largestMaskGap, m.LastMaskedWeightGradient!.Values.Zip(c.WeightGradient.Values, (x, y) => Math.Abs(x - y)).Max());
            }
            Assert.True(largestMaskGap > 0.05, $"M's view of ∇W differs from it by at most {largestMaskGap}: the Ξ/η mask is missing");
            AssertSameParameters(central.Tower, e.Tower, 1e-5, "E tower after 6 steps");
            AssertSameParameters(central.Top, m.Top, 1e-5, "M top model after 6 steps");
            Assert.True(m.LastReport!.IsInsecure);
            Assert.Contains("plaintext reference", m.LastReport.SecurityNotice);
            Assert.Contains("plaintext reference", e.LastReport!.SecurityNotice);
        }
    }

    [Fact]
    public void Plain_sgd_keeps_the_split_weight_invariant_and_adam_on_the_interactive_layer_breaks_it()
    {
        double sgdGap = InvariantGap(adam: false);
        double adamGap = InvariantGap(adam: true);
        Assert.True(sgdGap < 1e-9, $"with plain SGD, W_M + A drifted from the centralised W by {sgdGap:E3}");
        // Negative control: Adam normalises M's masked gradient αᵀδ̃ + Ξ/η, so E's +Ξ no longer cancels.
        Assert.True(adamGap > 1e-2, $"with Adam on the interactive layer, W_M + A stayed within {adamGap:E3} of W: the invariant test cannot fail");
    }

    private static double InvariantGap(bool adam)
    {
        using var world = new SmallModels();
        var job = SmallModels.JobOptions();
        var (e, m) = world.SplitPair(job);
        using (e)
        using (m)
        using (var central = new CentralisedTwoTowerModel(world.NewExternalTower(1), world.NewTop(2), world.Catalog,
                   e.WeightHalf + m.WeightHalf, SmallModels.Adam(), SmallModels.Adam(), job.InteractiveLearningRate))
        {
            if (adam)
            {
                m.UpdateRule = new AdamUpdateRule();
                central.UpdateRule = new AdamUpdateRule();
            }
            for (int step = 0; step < 4; step++)
            {
                var (eb, mb) = world.Batch(32, 300 + step);
                InProcessSplitExchange.Step(e, m, eb, mb);
                central.Step(eb, mb);
            }
            var split = DenseMatrix.FromTensor(e.WeightHalf + m.WeightHalf);
            var whole = DenseMatrix.FromTensor(central.Weight);
            return split.Values.Zip(whole.Values, (a, b) => Math.Abs(a - b)).Max();
        }
    }

    internal static void AssertSameParameters(TorchSharp.torch.nn.Module expected, TorchSharp.torch.nn.Module actual, double tolerance, string what)
    {
        var left = expected.named_parameters().ToList();
        var right = actual.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(left.Count, right.Count);
        foreach (var (name, parameter) in left)
        {
            double gap = (parameter - right[name]).abs().max().item<float>();
            Assert.True(gap <= tolerance, $"{what}: parameter {name} differs by {gap:E3}");
        }
    }

    /// <summary>Adam applied to the interactive layer (the thing the protocol forbids), for the negative control.</summary>
    private sealed class AdamUpdateRule : IInteractiveLayerUpdateRule
    {
        private Tensor? _m, _v;
        private int _t;

        public void Apply(Tensor weightHalf, Tensor maskedGradient, double learningRate)
        {
            using var _ = no_grad();
            _t++;
            // State outlives the caller's dispose scope.
            _m = (_m is null ? maskedGradient * 0.1 : _m * 0.9 + maskedGradient * 0.1).DetachFromDisposeScope();
            _v = (_v is null ? maskedGradient.square() * 0.001 : _v * 0.999 + maskedGradient.square() * 0.001).DetachFromDisposeScope();
            var mHat = _m / (1 - Math.Pow(0.9, _t));
            var vHat = _v / (1 - Math.Pow(0.999, _t));
            weightHalf.sub_(mHat / (vHat.sqrt() + 1e-8) * learningRate);
        }
    }
}
