using Federated.Data.Evaluation;

namespace Federated.Data.Tests;

public sealed class RecallMetricsTests
{
    [Fact]
    public void Metrics_follow_their_definitions_on_a_worked_example()
    {
        var metrics = new RecallMetrics<string>([1, 2, 4]);
        metrics.Add(["a", "b", "c", "d"], new HashSet<string> { "b", "d", "z" });   // hits at ranks 2 and 4
        metrics.Add(["x", "y"], new HashSet<string> { "x" });                       // hit at rank 1
        var r = metrics.Result("test");

        Assert.Equal(2, r.Users);
        Assert.Equal(0.5, r[1].HitRate, 12);
        Assert.Equal(1.0, r[2].HitRate, 12);
        Assert.Equal((0 + 1.0) / 2, r[1].Recall, 12);
        Assert.Equal((1.0 / 3 + 1.0) / 2, r[2].Recall, 12);
        Assert.Equal((2.0 / 3 + 1.0) / 2, r[4].Recall, 12);
        var idcg2 = 1 + 1 / Math.Log2(3);
        var idcg3 = idcg2 + 1 / Math.Log2(4);
        Assert.Equal(((1 / Math.Log2(3)) / idcg2 + 1.0) / 2, r[2].Ndcg, 12);
        Assert.Equal(((1 / Math.Log2(3) + 1 / Math.Log2(5)) / idcg3 + 1.0) / 2, r[4].Ndcg, 12);
    }

    [Fact]
    public void Users_without_a_ranking_count_as_misses_and_users_without_relevant_items_are_skipped()
    {
        var rankings = new Dictionary<string, IReadOnlyList<int>> { ["u1"] = [1, 2, 3] };
        var relevant = new Dictionary<string, HashSet<int>> { ["u1"] = [3], ["u2"] = [9], ["u3"] = [] };
        var r = RecallMetrics.Evaluate("m", rankings, relevant, [10]);

        Assert.Equal(2, r.Users);
        Assert.Equal(0.5, r[10].HitRate, 12);
        Assert.Equal(0.5 * (1 / Math.Log2(4)), r[10].Ndcg, 12);
    }

    [Fact]
    public void Repeated_items_in_a_ranking_count_once_and_cannot_push_recall_above_one()
    {
        var metrics = new RecallMetrics<int>([3]);
        metrics.Add([7, 7, 7, 8], new HashSet<int> { 7, 8 });
        var r = metrics.Result("dup")[3];
        Assert.Equal(1.0, r.Recall, 12);
        Assert.Equal(1.0, r.Ndcg, 12);
    }

    [Fact]
    public void Default_cutoffs_are_10_50_100_and_top_k_breaks_ties_by_position()
    {
        Assert.Equal([10, 50, 100], RecallMetrics.DefaultCutoffs);
        Assert.Equal([3, 0, 2], Rankings.TopK([5.0, 1.0, 5.0, 9.0], 3));
    }
}
