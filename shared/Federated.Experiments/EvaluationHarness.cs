using Federated.Data.Evaluation;
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

    /// <summary>Scores M's ranked lists; a user without a list counts as all misses.</summary>
    public RecallReport Score(string method, IReadOnlyDictionary<string, IReadOnlyList<string>> rankings) =>
        RecallMetrics.Evaluate(method, rankings, _task.Relevant);

    /// <summary>Popularity counted from M's training interactions (synthetic worlds).</summary>
    public async Task<RecallReport> PopularityAsync(CancellationToken cancellationToken = default) =>
        await SyntheticEvaluation.PopularityAsync(_worldDirectory ?? throw new InvalidOperationException("popularity needs the world directory"), _task, cancellationToken)
            .ConfigureAwait(false) with { Method = "popularity" };

    /// <summary>The generator's own choice model (synthetic worlds).</summary>
    public RecallReport Oracle() =>
        SyntheticEvaluation.Oracle(_truth ?? throw new InvalidOperationException("the oracle needs the ground truth"), _task) with { Method = "oracle" };
}
