using Federated.Learning.Privacy;
using Federated.Learning.Split;
using Federated.Learning.Tests.Support;

namespace Federated.Learning.Tests;

/// <summary>The parties' secret randomness: a CSPRNG key per role, one stream per purpose and step, Gaussian values.</summary>
public class SecretRandomnessTests
{
    public SecretRandomnessTests() => TorchRuntime.Initialise(2);

    [Fact]
    public void Gaussians_have_the_normal_moments()
    {
        var secret = SecretRandomness.Fresh();
        var values = new double[200_000];
        secret.FillGaussian("test", 0, values, 2.5);
        double mean = values.Average();
        double variance = values.Select(v => (v - mean) * (v - mean)).Average();
        double kurtosis = values.Select(v => Math.Pow(v - mean, 4)).Average() / (variance * variance);
        double beyond3 = values.Count(v => Math.Abs(v) > 3 * 2.5) / (double)values.Length;
        // Standard errors at n = 200,000: mean 0.0056, std 0.2%, kurtosis about 0.011; the tail mass 0.0027 ± 0.00012.
        Assert.True(Math.Abs(mean) < 0.03, $"mean {mean}");
        Assert.True(Math.Abs(Math.Sqrt(variance) / 2.5 - 1) < 0.01, $"std {Math.Sqrt(variance)}");
        Assert.True(Math.Abs(kurtosis - 3) < 0.06, $"kurtosis {kurtosis}");
        Assert.True(Math.Abs(beyond3 - 0.0027) < 0.0006, $"mass beyond 3σ {beyond3}");
    }

    [Fact]
    public void Each_purpose_and_index_is_its_own_stream_and_a_fixed_seed_reproduces_it()
    {
        var a = SecretRandomness.Fresh();
        double[] Draw(SecretRandomness s, string purpose, ulong index)
        {
            var v = new double[64];
            s.FillGaussian(purpose, index, v, 1);
            return v;
        }
        Assert.Equal(Draw(a, "p", 3), Draw(a, "p", 3));
        Assert.NotEqual(Draw(a, "p", 3), Draw(a, "p", 4));
        Assert.NotEqual(Draw(a, "p", 3), Draw(a, "q", 3));
        Assert.NotEqual(Draw(a, "p", 3), Draw(SecretRandomness.Fresh(), "p", 3));
        Assert.Equal(Draw(SecretRandomness.FromFixedSeed(9), "p", 3), Draw(SecretRandomness.FromFixedSeed(9), "p", 3));
        Assert.NotEqual(Draw(SecretRandomness.FromFixedSeed(9), "p", 3), Draw(SecretRandomness.FromFixedSeed(10), "p", 3));
        Assert.True(SecretRandomness.FromFixedSeed(9).IsFixedSeed);
        Assert.False(a.IsFixedSeed);
    }

    [Fact]
    public void Two_jobs_with_the_same_seed_draw_different_weight_halves_masks_and_label_noise_unless_the_seed_is_allowed_to_fix_them()
    {
        using var world = new SmallModels();
        var fixedSeed = SmallModels.JobOptions(new LabelDpOptions { ClipNorm = 1, NoiseMultiplier = 1.0 });
        var job = fixedSeed with { Insecure = fixedSeed.Insecure & ~InsecureAllowances.FixedSeed };
        (double[] WeightHalfM, double[] Xi, double[] DeltaTilde) Run(SplitTrainingOptions options)
        {
            var (e, m) = world.SplitPair(options);
            using (e)
            using (m)
            {
                var weightHalfM = m.WeightHalf.data<double>().ToArray();
                var aBefore = e.WeightHalf.data<double>().ToArray();
                var (eb, mb) = world.Batch(32, 77);
                InProcessSplitExchange.Step(e, m, eb, mb);
                // E's update of its half is A ← A + Ξ, so the change of A is the mask Ξ it drew.
                var xi = e.WeightHalf.data<double>().ToArray().Zip(aBefore, (after, before) => after - before).ToArray();
                return (weightHalfM, xi, m.LastDeltaTilde!.Values.ToArray());
            }
        }
        var first = Run(job);
        var second = Run(job);
        Assert.NotEqual(first.WeightHalfM, second.WeightHalfM);
        Assert.NotEqual(first.Xi, second.Xi);
        Assert.NotEqual(first.DeltaTilde, second.DeltaTilde);

        Assert.True(fixedSeed.Insecure.HasFlag(InsecureAllowances.FixedSeed));
        var third = Run(fixedSeed);
        var fourth = Run(fixedSeed);
        Assert.Equal(third.WeightHalfM, fourth.WeightHalfM);
        Assert.Equal(third.Xi, fourth.Xi);
        Assert.Equal(third.DeltaTilde, fourth.DeltaTilde);
    }
}
