using Federated.Learning;
using TorchSharp;
using static TorchSharp.torch;

namespace Federated.Learning.Tests;

/// <summary>The Adam the towers train with computes TorchSharp's Adam update, with its Scalars held.</summary>
public class TorchOptimisersTests
{
    public TorchOptimisersTests() => TorchRuntime.Initialise(2);

    [Fact]
    public void Held_scalar_Adam_takes_the_same_steps_as_TorchSharp_Adam()
    {
        manual_seed(5);
        using var ours = nn.Linear(6, 3);
        manual_seed(5);
        using var theirs = nn.Linear(6, 3);
        using var ourAdam = TorchOptimisers.Adam(ours.parameters(), 0.05);
        using var theirAdam = optim.Adam(theirs.parameters(), 0.05);
        using var generator = new Generator(9);
        double moved = 0;
        for (int step = 0; step < 8; step++)
        {
            using var scope = NewDisposeScope();
            var x = randn(new long[] { 16, 6 }, generator: generator);
            var y = randn(new long[] { 16, 3 }, generator: generator);
            foreach (var (model, adam) in new[] { (ours, ourAdam), (theirs, theirAdam) })
            {
                adam.zero_grad();
                var loss = (model.forward(x) - y).pow(2).mean();
                loss.backward();
                adam.step();
            }
            foreach (var (a, b) in ours.parameters().Zip(theirs.parameters()))
                Assert.True(allclose(a, b, rtol: 0, atol: 1e-7), $"step {step}: parameters differ by {(a - b).abs().max().item<float>():E2}");
        }
        manual_seed(5);
        using var initial = nn.Linear(6, 3);
        foreach (var (a, b) in ours.parameters().Zip(initial.parameters()))
            moved = Math.Max(moved, (a - b).abs().max().item<float>());
        Assert.True(moved > 0.05, $"8 steps moved the parameters by at most {moved:E2}: the comparison is vacuous");
    }
}
