using Federated.Learning.Crypto;
using Federated.Learning.Split;
using Federated.Learning.Tests.Support;
using Xunit.Abstractions;

namespace Federated.Learning.Tests;

/// <summary>
/// docs/protocol.md §5.6, direction attack on E's view: E sees g = δ̃·Wᵀ per row. Rows whose users played the same song get
/// similar gradient directions, so without label DP E can tell which of its users share a (secret) label; with label
/// DP the cosine of two rows' g no longer separates same-song pairs from the rest. The attack is strongest on
/// cold-start-like users (no M user features, so z_E alone makes the user vector). Measured at init (one step,
/// 160 rows, 8 songs), AUC without label DP for d = 6 / 16 / 32 / 64: 0.84 / 0.94 / 0.89 / 0.86 without M user
/// features, 0.78 / 0.90 / 0.89 / 0.88 with them (the normalisation Jacobian and E's k = 8 projection keep it below
/// 1 for this recall loss); 0.50-0.51 with label DP σ = 4 in every case. The test uses d = 16 without M users. The
/// AUC depends on the draw of the weight halves: over ten fresh draws at d = 16 it was 0.853-0.918 (mean 0.887) without
/// label DP and 0.493-0.509 with it, so the control asks for 0.8.
/// </summary>
public class LabelLeakageTests(ITestOutputHelper output)
{
    [Fact]
    public void Label_dp_defeats_the_gradient_direction_attack_that_works_without_it()
    {
        TorchRuntime.Initialise(2);
        double without = DirectionAttackAuc(null, musicUsers: false, d: 16);
        double with = DirectionAttackAuc(new LabelDpOptions { ClipNorm = 1.0, NoiseMultiplier = 4.0 }, musicUsers: false, d: 16);
        output.WriteLine($"direction attack AUC: {without:F3} without label DP, {with:F3} with σ = 4");
        Assert.True(without > 0.8, $"without label DP the attack reaches only AUC {without:F3}: the control cannot fail");
        Assert.True(Math.Abs(with - 0.5) < 0.06, $"with label DP the attack still reaches AUC {with:F3}");
    }

    /// <summary>AUC of cos(g_i, g_j) as a score for "rows i and j have the same positive song", over one step's batch.</summary>
    private static double DirectionAttackAuc(LabelDpOptions? labelDp, bool musicUsers = true, int d = SmallModels.D)
    {
        using var world = new SmallModels(musicUsers: musicUsers, interactiveWidth: d);
        var (e, m) = world.SplitPair(SmallModels.JobOptions(labelDp, interactiveWidth: d));
        using (e)
        using (m)
        {
            var (eb, mb) = world.Batch(160, 77);
            var songs = mb.SongIds.Select(s => s % 8).ToArray(); // 8 songs: many same-song pairs
            InProcessSplitExchange.Step(e, m, eb, mb with { SongIds = songs });
            var g = e.LastInputGradient!;
            var same = new List<double>();
            var different = new List<double>();
            for (int i = 0; i < g.Rows; i++)
                for (int j = i + 1; j < g.Rows; j++)
                    (songs[i] == songs[j] ? same : different).Add(Cosine(g, i, j));
            // Mann-Whitney: the probability that a same-song pair scores above a different-song pair.
            var sorted = different.OrderBy(x => x).ToArray();
            double wins = 0;
            foreach (var s in same)
            {
                int below = LowerBound(sorted, s);
                wins += below;
            }
            return wins / ((double)same.Count * different.Count);
        }
    }

    private static int LowerBound(double[] sorted, double value)
    {
        int low = 0, high = sorted.Length;
        while (low < high)
        {
            int mid = (low + high) / 2;
            if (sorted[mid] < value) low = mid + 1; else high = mid;
        }
        return low;
    }

    private static double Cosine(DenseMatrix g, int a, int b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int c = 0; c < g.Cols; c++)
        {
            double x = g[a, c], y = g[b, c];
            dot += x * y; na += x * x; nb += y * y;
        }
        return dot / Math.Sqrt(na * nb + 1e-300);
    }
}
