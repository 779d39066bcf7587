using Federated.Data.Reading;
using Federated.Data.Rows;
using Federated.Data.Schema;

namespace Federated.Data.Evaluation;

/// <summary>Building blocks for evaluation: relevant sets from interaction tables, top-K selection, popularity.</summary>
public static class Rankings
{
    /// <summary>
    /// User → distinct songs from an interactions table, by the schema's user and song roles.
    /// <paramref name="include"/> filters rows (e.g. one held-out segment, or positives only).
    /// </summary>
    public static async Task<Dictionary<string, HashSet<string>>> RelevantSetsAsync(IAsyncEnumerable<DataRow> interactions, Func<DataRow, bool>? include = null,
        CancellationToken cancellationToken = default)
    {
        var result = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        int user = -1, song = -1;
        await foreach (var row in interactions.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (user < 0)
            {
                user = RequireRole(row.Schema, InteractionRoles.User);
                song = RequireRole(row.Schema, InteractionRoles.Song);
            }

            if (include is not null && !include(row)) continue;
            var key = row.GetText(user)!;
            if (!result.TryGetValue(key, out var set)) result[key] = set = new HashSet<string>(StringComparer.Ordinal);
            set.Add(row.GetText(song)!);
        }

        return result;
    }

    /// <summary>The indices of the k highest scores, best first (ties: lower index first).</summary>
    public static int[] TopK(ReadOnlySpan<double> scores, int k)
    {
        k = Math.Min(k, scores.Length);
        if (k <= 0) return [];
        var heap = new PriorityQueue<int, (double Score, int NegIndex)>(k + 1);
        for (var i = 0; i < scores.Length; i++)
        {
            if (heap.Count < k) { heap.Enqueue(i, (scores[i], -i)); continue; }
            heap.TryPeek(out _, out var worst);
            if (scores[i] > worst.Score) heap.EnqueueDequeue(i, (scores[i], -i));
        }

        var result = new int[heap.Count];
        for (var r = result.Length - 1; r >= 0; r--) result[r] = heap.Dequeue();
        return result;
    }

    internal static int RequireRole(TableSchema schema, string role) =>
        schema.RoleIndex(role) is var i and >= 0 ? i : throw new SchemaException($"table '{schema.Table}' names no '{role}' column");
}

/// <summary>The popularity baseline: songs ranked by how often they occur in training interactions.</summary>
public sealed class PopularityRanker
{
    private readonly Dictionary<string, long> _counts;

    private PopularityRanker(Dictionary<string, long> counts) => _counts = counts;

    /// <summary>Counts the song role over training interactions.</summary>
    public static async Task<PopularityRanker> FitAsync(IAsyncEnumerable<DataRow> trainingInteractions, CancellationToken cancellationToken = default)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var song = -1;
        await foreach (var row in trainingInteractions.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (song < 0) song = Rankings.RequireRole(row.Schema, InteractionRoles.Song);
            var key = row.GetText(song)!;
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        return new PopularityRanker(counts);
    }

    public long Count(string song) => _counts.GetValueOrDefault(song);

    /// <summary>The k most played of the candidates (unplayed ones last, by key).</summary>
    public IReadOnlyList<string> Rank(IReadOnlyList<string> candidates, int k)
    {
        var scores = new double[candidates.Count];
        for (var i = 0; i < scores.Length; i++) scores[i] = _counts.GetValueOrDefault(candidates[i]);
        // Ties (e.g. all unplayed cold songs) are broken by candidate order; sort candidates for a stable result.
        return Rankings.TopK(scores, k).Select(i => candidates[i]).ToArray();
    }
}
