using Federated.Data.Evaluation;
using Federated.Data.Reading;
using Federated.Synthetic;

namespace Federated.Experiments;

/// <summary>
/// The operator's evaluation step, outside both parties: it alone reads the held-out truth. It tells M which users
/// to rank (IDs only, as new sign-ups would arrive) and scores the ranked lists M returns with <see cref="RecallMetrics"/>
/// at K in {10, 50, 100}. Every method of the results table is scored here, the same way.
/// </summary>
public sealed class EvaluationHarness
{
    private readonly EvaluationTask _task;
    private readonly GroundTruth? _truth;
    private readonly string? _worldDirectory;

    public EvaluationHarness(EvaluationTask task, GroundTruth? truth = null, string? worldDirectory = null)
    {
        _task = task;
        _truth = truth;
        _worldDirectory = worldDirectory;
    }

    /// <summary>Cold-start users of a synthetic world (held-out interactions with warm songs).</summary>
    public static async Task<EvaluationHarness> ForSyntheticColdUsersAsync(string worldDirectory, CancellationToken cancellationToken = default)
    {
        var truth = await GroundTruth.LoadAsync(worldDirectory, cancellationToken).ConfigureAwait(false);
        return new EvaluationHarness(await SyntheticEvaluation.ColdUsersAsync(worldDirectory, truth, cancellationToken).ConfigureAwait(false), truth, worldDirectory);
    }

    public string TaskName => _task.Name;

    /// <summary>The users M is asked to rank for (their IDs only).</summary>
    public IReadOnlyList<string> UsersToRank => _task.Users;

    /// <summary>The songs the task ranks against (warm songs, for cold-start users).</summary>
    public IReadOnlyList<string> Candidates => _task.Candidates;

    /// <summary>User → the songs of their held-out interactions (the truth the task scores against).</summary>
    public IReadOnlyDictionary<string, HashSet<string>> Relevant => _task.Relevant;

    /// <summary>Scores M's ranked lists; a user without a list counts as all misses.</summary>
    public RecallReport Score(string method, IReadOnlyDictionary<string, IReadOnlyList<string>> rankings) =>
        RecallMetrics.Evaluate(method, rankings, _task.Relevant);

    /// <summary>Popularity counted from M's training interactions (synthetic worlds).</summary>
    public async Task<RecallReport> PopularityAsync(CancellationToken cancellationToken = default) =>
        await SyntheticEvaluation.PopularityAsync(_worldDirectory ?? throw new InvalidOperationException("popularity needs the world directory"), _task, cancellationToken)
            .ConfigureAwait(false) with { Method = "popularity" };

    /// <summary>The popularity row's lists: the <paramref name="depth"/> most played candidates, the same for every user.</summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> PopularityRankingsAsync(int depth, CancellationToken cancellationToken = default)
    {
        var interactions = await TableReader.OpenFromSchemaFileAsync(
            SyntheticWorldLayout.InteractionsSchema(_worldDirectory ?? throw new InvalidOperationException("popularity needs the world directory")),
            cancellationToken: cancellationToken).ConfigureAwait(false);
        await using var interactionsDisposal = interactions.ConfigureAwait(false);
        var list = (await PopularityRanker.FitAsync(interactions, cancellationToken).ConfigureAwait(false)).Rank(_task.Candidates, depth);
        return _task.Users.ToDictionary(u => u, _ => list, StringComparer.Ordinal);
    }

    /// <summary>The oracle row's lists: per user, the <paramref name="depth"/> candidates the generator makes most likely.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> OracleRankings(int depth)
    {
        var truth = _truth ?? throw new InvalidOperationException("the oracle needs the ground truth");
        return _task.Users.ToDictionary(u => u, u => truth.OracleRank(u, _task.Candidates, depth), StringComparer.Ordinal);
    }

    /// <summary>
    /// Audience targeting for the world's cold songs among <paramref name="pool"/> (users with a published vector); a
    /// pool user's activity is the number of distinct songs of their interactions in M's training table (what M knows
    /// of them when a song arrives: users new to M count zero).
    /// </summary>
    public async Task<ColdSongAudience> ColdSongAudienceAsync(IReadOnlyCollection<string> pool, CancellationToken cancellationToken = default)
    {
        var world = _worldDirectory ?? throw new InvalidOperationException("the cold-song task needs the world directory");
        var interactions = await TableReader.OpenFromSchemaFileAsync(SyntheticWorldLayout.InteractionsSchema(world), cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        Dictionary<string, HashSet<string>> played;
        await using (interactions.ConfigureAwait(false))
            played = await Rankings.RelevantSetsAsync(interactions, cancellationToken: cancellationToken).ConfigureAwait(false);
        return await ColdSongAudience.LoadAsync(world, _truth ?? throw new InvalidOperationException("the cold-song task needs the ground truth"), pool,
            played.ToDictionary(p => p.Key, p => p.Value.Count, StringComparer.Ordinal), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The generator's own choice model (synthetic worlds).</summary>
    public RecallReport Oracle() =>
        SyntheticEvaluation.Oracle(_truth ?? throw new InvalidOperationException("the oracle needs the ground truth"), _task) with { Method = "oracle" };
}
