using Federated.Data.Evaluation;
using Federated.Experiments.Reports;

namespace Federated.Training.Tests;

/// <summary>
/// The evaluation report: its metrics on hand-checked lists, its bootstrap intervals, and a written report whose
/// figures come back from its own prediction and truth files.
/// </summary>
public sealed class EvaluationReportTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "federated-report-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void Metrics_over_k_match_values_computed_by_hand_on_a_tiny_list()
    {
        // Relevant {a, c}; ranked a, b, c, a (repeated: counts once), d.
        var row = new double[3 * 5];
        MetricCurves.Query(["a", "b", "c", "a", "d"], new HashSet<string> { "a", "c" }, 5, row);
        double ideal2 = 1 + 1 / Math.Log2(3);
        double[] hr = [1, 1, 1, 1, 1];
        double[] recall = [0.5, 0.5, 1, 1, 1];
        double[] ndcg = [1, 1 / ideal2, 1.5 / ideal2, 1.5 / ideal2, 1.5 / ideal2];
        for (int k = 0; k < 5; k++)
        {
            Assert.Equal(hr[k], row[k], 12);
            Assert.Equal(recall[k], row[5 + k], 12);
            Assert.Equal(ndcg[k], row[10 + k], 12);
        }

        // A miss at the top: relevant {z}, found at rank 3 of 3; no list at all scores 0 everywhere.
        MetricCurves.Query(["x", "y", "z"], new HashSet<string> { "z" }, 5, row);
        Assert.Equal([0, 0, 1, 1, 1], row[..5]);
        Assert.Equal(0.5, row[10 + 2], 12); // 1/log2(4) over an ideal of 1
        MetricCurves.Query(null, new HashSet<string> { "z" }, 5, row);
        Assert.All(row, v => Assert.Equal(0, v));
    }

    [Fact]
    public void Report_figures_at_10_50_and_100_equal_the_results_table_metrics()
    {
        var task = RandomTask("agreement", users: 300, seed: 3);
        var figures = EvaluationReport.Compute([task], new ReportSettings { Resamples = 50 }).Tasks[0];
        var truth = task.Truth.ToDictionary(p => p.Key, p => p.Value.ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var method in task.Methods)
        {
            var table = RecallMetrics.Evaluate(method.Method, method.Lists, truth);
            var curves = figures[method.Method];
            foreach (var k in RecallMetrics.DefaultCutoffs)
            {
                Assert.Equal(table[k].HitRate, curves.HitRate.Value[k - 1], 12);
                Assert.Equal(table[k].Recall, curves.Recall.Value[k - 1], 12);
                Assert.Equal(table[k].Ndcg, curves.Ndcg.Value[k - 1], 12);
            }
        }
    }

    [Fact]
    public async Task A_written_report_is_recomputed_from_its_prediction_and_truth_files()
    {
        var tasks = new[] { RandomTask("cold-start users", users: 120, seed: 1), RandomTask("cold-start songs", users: 40, seed: 2) };
        var settings = new ReportSettings { Resamples = 300, Seed = 9 };
        var written = await EvaluationReport.WriteAsync(_folder, tasks, settings, ["a note on the run"]);

        var json = await EvaluationReport.ReadFiguresAsync(_folder);
        var recomputed = EvaluationReport.Compute(await EvaluationReport.ReadTasksAsync(_folder), json.Settings, json.Notes);
        Assert.Equal(2, json.Tasks.Count);
        Assert.Equal(settings, json.Settings);
        foreach (var (saved, again) in json.Tasks.Zip(recomputed.Tasks))
        {
            Assert.Equal(saved.Task, again.Task);
            Assert.Equal(saved.Queries, again.Queries);
            Assert.Equal(saved.RelevantPairs, again.RelevantPairs);
            Assert.Equal(saved.Methods.Select(m => m.Method), again.Methods.Select(m => m.Method));
            foreach (var (a, b) in saved.Methods.Zip(again.Methods))
                foreach (var metric in MetricCurves.Metrics)
                {
                    Assert.Equal(a[metric].Value, b[metric].Value);
                    Assert.Equal(a[metric].Low, b[metric].Low);
                    Assert.Equal(a[metric].High, b[metric].High);
                }
        }
        // The JSON holds what WriteAsync computed, and the hand-built "perfect" method scores 1 at every K.
        Assert.Equal(written.Tasks[0]["random"].Ndcg.Value, json.Tasks[0]["random"].Ndcg.Value);
        Assert.All(json.Tasks[0]["perfect"].HitRate.Value, v => Assert.Equal(1, v));
        Assert.All(json.Tasks[0]["perfect"].Ndcg.Value, v => Assert.Equal(1, v, 12));

        foreach (var plot in json.Tasks.SelectMany(t => t.Plots))
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(_folder, plot));
            Assert.True(bytes.Length > 10_000, $"{plot} holds only {bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
        var markdown = await File.ReadAllTextAsync(Path.Combine(_folder, EvaluationReport.MarkdownFile));
        Assert.Contains("## cold-start songs", markdown, StringComparison.Ordinal);
        Assert.Contains("a note on the run", markdown, StringComparison.Ordinal);
        Assert.Contains("(plots/cold-start-users-ndcg.png)", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Bootstrap_intervals_contain_the_point_estimate_repeat_with_the_seed_and_narrow_with_more_users()
    {
        var settings = new ReportSettings { Resamples = 400, Seed = 5 };
        var few = EvaluationReport.Compute([RandomTask("few", users: 50, seed: 4)], settings).Tasks[0]["random"];
        var many = EvaluationReport.Compute([RandomTask("many", users: 2000, seed: 4)], settings).Tasks[0]["random"];
        var again = EvaluationReport.Compute([RandomTask("few", users: 50, seed: 4)], settings).Tasks[0]["random"];
        var otherSeed = EvaluationReport.Compute([RandomTask("few", users: 50, seed: 4)], settings with { Seed = 6 }).Tasks[0]["random"];
        foreach (var metric in MetricCurves.Metrics)
        {
            foreach (var curves in new[] { few, many })
            {
                var c = curves[metric];
                for (int k = 0; k < c.Value.Length; k++)
                    Assert.InRange(c.Value[k], c.Low[k], c.High[k]);
            }
            Assert.Equal(few[metric].Low, again[metric].Low);
            Assert.Equal(few[metric].High, again[metric].High);
            Assert.NotEqual(few[metric].High, otherSeed[metric].High);
            foreach (var k in new[] { 10, 50, 100 })
            {
                double narrow = many[metric].High[k - 1] - many[metric].Low[k - 1];
                double wide = few[metric].High[k - 1] - few[metric].Low[k - 1];
                Assert.True(wide > 0 && narrow < wide / 3, $"{metric}@{k}: width {narrow:0.0000} with 2000 users, {wide:0.0000} with 50");
            }
        }
    }

    /// <summary>
    /// Users with 1-5 relevant items among 400; "random" ranks 100 random items, "perfect" puts the relevant ones
    /// first, "none" has lists for half the users only.
    /// </summary>
    private static ReportTask RandomTask(string name, int users, int seed)
    {
        var random = new Random(seed);
        var items = Enumerable.Range(0, 400).Select(i => $"i{i:000}").ToArray();
        var truth = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        var randomLists = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var perfect = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var half = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        for (int u = 0; u < users; u++)
        {
            var user = $"u{u:0000}";
            var relevant = items.OrderBy(_ => random.Next()).Take(1 + random.Next(5)).ToHashSet(StringComparer.Ordinal);
            truth[user] = relevant;
            // Popular items (low numbers) are drawn more often, so the random lists hit now and then.
            var list = Enumerable.Range(0, 100).Select(_ => items[(int)(items.Length * Math.Pow(random.NextDouble(), 2))]).Distinct().ToArray();
            randomLists[user] = list;
            perfect[user] = relevant.Order(StringComparer.Ordinal).Concat(items.Where(i => !relevant.Contains(i))).Take(100).ToArray();
            if (u % 2 == 0) half[user] = list;
        }
        return new ReportTask(name, "user", "song", $"{name}: a random task", truth,
            [new RankedLists("random", randomLists), new RankedLists("perfect", perfect, "relevant items first"), new RankedLists("none for half", half)]);
    }
}
