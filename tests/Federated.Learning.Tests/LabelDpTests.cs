using Federated.Learning.Privacy;
using Federated.Learning.Split;
using Federated.Learning.Tests.Support;
using static TorchSharp.torch;

namespace Federated.Learning.Tests;

/// <summary>Label DP on δ: per-row clipping to C, Gaussian noise of std σ·C from the secret randomness, and the ε it spends.</summary>
public class LabelDpTests
{
    public LabelDpTests() => TorchRuntime.Initialise(2);

    [Fact]
    public void Clipping_bounds_each_per_example_row_norm_and_keeps_small_rows_unchanged()
    {
        const int rows = 64, width = 6;
        const double clip = 0.5;
        var mechanism = new LabelDpMechanism(new LabelDpOptions { ClipNorm = clip, NoiseMultiplier = 0 }, 10_000, SecretRandomness.Fresh());
        manual_seed(3);
        // δ of a mean loss has rows of scale 1/B; half the rows get per-example norms well above C, half below.
        var perExample = randn(rows, width, dtype: ScalarType.Float32);
        perExample[TensorIndex.Slice(0, rows / 2)] *= 10;
        perExample[TensorIndex.Slice(rows / 2, rows)] *= 0.01;
        var delta = perExample / rows;

        var tilde = mechanism.Apply(delta) * rows;
        var norms = tilde.norm(1).data<double>().ToArray();
        var originalNorms = perExample.to_type(ScalarType.Float64).norm(1).data<double>().ToArray();
        for (int r = 0; r < rows; r++)
        {
            Assert.True(norms[r] <= clip * (1 + 1e-9), $"row {r}: norm {norms[r]} exceeds the clip norm {clip}");
            if (originalNorms[r] > clip) Assert.Equal(clip, norms[r], 6);
            else Assert.Equal(originalNorms[r], norms[r], 6);
        }
    }

    [Fact]
    public void Noise_has_standard_deviation_sigma_times_clip_is_fresh_per_job_and_step_and_reproducible_only_from_a_fixed_seed()
    {
        const int rows = 400, width = 50;
        const double clip = 0.8, sigma = 1.7;
        var options = new LabelDpOptions { ClipNorm = clip, NoiseMultiplier = sigma };
        var first = new LabelDpMechanism(options, 10_000, SecretRandomness.FromFixedSeed(42));
        var second = new LabelDpMechanism(options, 10_000, SecretRandomness.FromFixedSeed(42));
        var other = new LabelDpMechanism(options, 10_000, SecretRandomness.FromFixedSeed(43));
        var freshA = new LabelDpMechanism(options, 10_000, SecretRandomness.Fresh());
        var freshB = new LabelDpMechanism(options, 10_000, SecretRandomness.Fresh());
        var zero = zeros(rows, width);

        var fa = freshA.Apply(zero) * rows;
        Assert.False(fa.eq(freshB.Apply(zero) * rows).any().item<bool>(), "two jobs with fresh keys drew a common noise value");
        Assert.False(fa.eq(freshA.Apply(zero) * rows).any().item<bool>(), "two steps of one job drew a common noise value");

        var noise = first.Apply(zero) * rows;
        double std = noise.std().item<double>();
        double mean = noise.mean().item<double>();
        // 20,000 samples: the std's relative standard error is about 0.5%, so 3% is a loose but failing bound.
        Assert.True(Math.Abs(std - sigma * clip) < 0.03 * sigma * clip, $"noise std {std}, expected σ·C = {sigma * clip}");
        Assert.True(Math.Abs(mean) < 0.05, $"noise mean {mean}, expected 0");
        Assert.True(noise.eq(second.Apply(zero) * rows).all().item<bool>(), "the same seed gave different noise");
        Assert.False(noise.eq(other.Apply(zero) * rows).all().item<bool>(), "different seeds gave the same noise");
    }

    [Fact]
    public void The_ledger_reports_the_accountants_epsilon_for_the_steps_taken()
    {
        var options = new LabelDpOptions { ClipNorm = 1, NoiseMultiplier = 1.1, Delta = 1e-5 };
        var mechanism = new LabelDpMechanism(options, alignedRows: 6_400, SecretRandomness.Fresh());
        for (int step = 0; step < 25; step++) mechanism.Apply(zeros(64, 4));
        var spent = mechanism.Spent()!;
        var expected = RenyiDpAccountant.Epsilon(1.1, 64.0 / 6_400, 25, 1e-5);
        Assert.Equal(expected.Epsilon, spent.Epsilon, 10);
        Assert.True(spent.Epsilon > 0);
    }

    [Fact]
    public void Split_training_reports_epsilon_and_refuses_to_run_without_label_noise_unless_allowed()
    {
        using var world = new SmallModels();
        var job = SmallModels.JobOptions(new LabelDpOptions { ClipNorm = 1, NoiseMultiplier = 1.0 });
        var (e, m) = world.SplitPair(job);
        using (e)
        using (m)
        {
            for (int step = 0; step < 3; step++)
            {
                var (eb, mb) = world.Batch(32, 500 + step);
                InProcessSplitExchange.Step(e, m, eb, mb);
            }
            var expected = RenyiDpAccountant.Epsilon(1.0, 32.0 / job.AlignedRows, 3, 1e-5).Epsilon;
            Assert.Equal(expected, m.LastReport!.Epsilon!.Value, 10);
        }

        var noNoise = job with { LabelDp = null, Insecure = InsecureAllowances.PlaintextReference };
        Assert.Contains("NoLabelNoise", Assert.Throws<InvalidOperationException>(noNoise.Validate).Message);
        var zeroSigma = job with { LabelDp = new LabelDpOptions { ClipNorm = 1, NoiseMultiplier = 0 }, Insecure = InsecureAllowances.PlaintextReference };
        Assert.Contains("σ = 0", Assert.Throws<InvalidOperationException>(zeroSigma.Validate).Message);
    }

    [Fact]
    public void The_projected_epsilon_of_a_schedule_is_what_the_ledger_spends_over_it()
    {
        // 2,890 rows in batches of 256: eleven full batches and a last one of 74, three epochs.
        var options = new LabelDpOptions { ClipNorm = 1.0, NoiseMultiplier = 0.5 };
        var batches = Enumerable.Repeat(Enumerable.Repeat(256, 11).Append(74), 3).SelectMany(b => b).ToArray();
        var projected = LabelDpMechanism.Project(options, 2890, batches)!;
        var mechanism = new LabelDpMechanism(options, 2890, SecretRandomness.Fresh());
        foreach (var rows in batches) mechanism.Apply(zeros(rows, 4)).Dispose();
        var spent = mechanism.Spent()!;
        Assert.Equal(spent.Epsilon, projected.Epsilon, 12);
        Assert.Equal(spent.Delta, projected.Delta);
        Assert.True(projected.Epsilon > 1, $"ε {projected.Epsilon}");
        // Fewer steps spend less; no steps spend nothing; label DP off projects nothing.
        Assert.True(LabelDpMechanism.Project(options, 2890, batches.Take(12))!.Epsilon < projected.Epsilon);
        Assert.Equal(0, LabelDpMechanism.Project(options, 2890, [])!.Epsilon);
        Assert.Null(LabelDpMechanism.Project(null, 2890, batches));
    }
}
