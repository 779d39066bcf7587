using Federated.Data.Evaluation;
using Federated.Data.Reading;

namespace Federated.Synthetic;

/// <summary>One evaluation task on a synthetic world: which users, which candidate songs, which held-out songs.</summary>
public sealed record EvaluationTask(
    string Name,
    IReadOnlyList<string> Users,
    IReadOnlyList<string> Candidates,
    IReadOnlyDictionary<string, HashSet<string>> Relevant);

/// <summary>
/// The two quality tasks of DESIGN.md on a synthetic world, plus the popularity and oracle rows of the table:
/// cold-start users (ranked against warm songs) and cold-start songs (warm users, ranked against cold songs).
/// </summary>
public static class SyntheticEvaluation
{
    /// <summary>Cold users → their held-out interactions with warm songs; candidates: all warm songs.</summary>
    public static Task<EvaluationTask> ColdUsersAsync(string worldDirectory, GroundTruth truth, CancellationToken cancellationToken = default) =>
        TaskAsync("cold-start users", worldDirectory, SyntheticWorldLayout.ColdUserSegment, truth.WarmSongs, cancellationToken);

    /// <summary>Warm users → their held-out interactions with cold songs; candidates: all cold songs.</summary>
    public static Task<EvaluationTask> ColdSongsAsync(string worldDirectory, GroundTruth truth, CancellationToken cancellationToken = default) =>
        TaskAsync("cold-start songs", worldDirectory, SyntheticWorldLayout.ColdSongSegment, truth.ColdSongs, cancellationToken);

    /// <summary>
    /// Cold users → their held-out interactions with cold songs (neither side in training); candidates: all cold songs.
    /// Read the other way round (song → users), the audience a cold song finds among new users.
    /// </summary>
    public static Task<EvaluationTask> ColdUsersAndSongsAsync(string worldDirectory, GroundTruth truth, CancellationToken cancellationToken = default) =>
        TaskAsync("cold-start users and songs", worldDirectory, SyntheticWorldLayout.ColdBothSegment, truth.ColdSongs, cancellationToken);

    private static async Task<EvaluationTask> TaskAsync(string name, string root, string segment, IReadOnlyList<string> candidates, CancellationToken ct)
    {
        var reader = await TableReader.OpenFromSchemaFileAsync(SyntheticWorldLayout.HeldOutSchema(root), cancellationToken: ct).ConfigureAwait(false);
        await using var readerDisposal = reader.ConfigureAwait(false);
        var segmentColumn = reader.Schema.RequireColumn("segment");
        var relevant = await Rankings.RelevantSetsAsync(reader, row => row.GetText(segmentColumn) == segment, ct).ConfigureAwait(false);
        var users = relevant.Keys.Order(StringComparer.Ordinal).ToArray();
        return new EvaluationTask(name, users, candidates.Order(StringComparer.Ordinal).ToArray(), relevant);
    }

    /// <summary>Evaluates any ranking function on a task at K in {10, 50, 100}.</summary>
    public static RecallReport Evaluate(string method, EvaluationTask task, Func<string, IReadOnlyList<string>, int, IReadOnlyList<string>> rank,
        IReadOnlyList<int>? ks = null)
    {
        ks ??= RecallMetrics.DefaultCutoffs;
        var metrics = new RecallMetrics<string>(ks);
        var maxK = ks.Max();
        foreach (var user in task.Users) metrics.Add(rank(user, task.Candidates, maxK), task.Relevant[user]);
        return metrics.Result($"{method} / {task.Name}");
    }

    /// <summary>The popularity baseline, counted from M's training interactions.</summary>
    public static async Task<RecallReport> PopularityAsync(string worldDirectory, EvaluationTask task, CancellationToken cancellationToken = default)
    {
        var interactions = await TableReader.OpenFromSchemaFileAsync(SyntheticWorldLayout.InteractionsSchema(worldDirectory), cancellationToken: cancellationToken).ConfigureAwait(false);
        await using var interactionsDisposal = interactions.ConfigureAwait(false);
        var popularity = await PopularityRanker.FitAsync(interactions, cancellationToken).ConfigureAwait(false);
        var cache = new Dictionary<int, IReadOnlyList<string>>();
        return Evaluate("popularity", task, (_, candidates, k) =>
            cache.TryGetValue(k, out var list) ? list : cache[k] = popularity.Rank(candidates, k));
    }

    /// <summary>The oracle: the generator's own choice model from the truth (the upper reference).</summary>
    public static RecallReport Oracle(GroundTruth truth, EvaluationTask task) =>
        Evaluate("oracle", task, truth.OracleRank);
}
