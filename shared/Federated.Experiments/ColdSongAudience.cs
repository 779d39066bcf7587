using Federated.Data.Evaluation;
using Federated.Synthetic;

namespace Federated.Experiments;

/// <summary>
/// Audience targeting for cold-start songs (no training interactions) on a synthetic world: for each cold song, which
/// users of a pool (the users with a published vector) it should be offered to. The truth is the generator's held-out
/// interactions of pool users with the song; songs no pool user played are not scored. The baselines rank the same
/// pool: the users most active in M's training data first (the popularity analogue: a cold song has no plays to count), random song
/// vectors scored against the users' published vectors, and the oracle (the generator's own choice model).
/// </summary>
public sealed class ColdSongAudience
{
    private readonly GroundTruth _truth;
    private readonly IReadOnlyDictionary<string, int> _activity;

    private ColdSongAudience(GroundTruth truth, IReadOnlyList<string> songs, IReadOnlyList<string> pool,
        IReadOnlyDictionary<string, IReadOnlySet<string>> audience, IReadOnlyDictionary<string, int> activity)
    {
        _truth = truth;
        Songs = songs;
        Pool = pool;
        Truth = audience;
        _activity = activity;
    }

    /// <summary>Every cold song of the world, in ordinal order.</summary>
    public IReadOnlyList<string> Songs { get; }

    /// <summary>The users a song can be offered to, in ordinal order.</summary>
    public IReadOnlyList<string> Pool { get; }

    /// <summary>Song → the pool users who played it in the held-out period (only songs with at least one).</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> Truth { get; }

    /// <summary>
    /// Builds the task. <paramref name="activity"/>: each user's number of songs played in M's training data (what M
    /// knows when a new song arrives); it orders the most-active baseline.
    /// </summary>
    public static async Task<ColdSongAudience> LoadAsync(string worldDirectory, GroundTruth truth, IReadOnlyCollection<string> pool,
        IReadOnlyDictionary<string, int> activity, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(pool);
        var members = pool.ToHashSet(StringComparer.Ordinal);
        // Held-out plays of cold songs by new users and by users M knows: whichever of them the pool holds.
        var newUsers = await SyntheticEvaluation.ColdUsersAndSongsAsync(worldDirectory, truth, cancellationToken).ConfigureAwait(false);
        var knownUsers = await SyntheticEvaluation.ColdSongsAsync(worldDirectory, truth, cancellationToken).ConfigureAwait(false);
        var audience = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (user, songs) in newUsers.Relevant.Concat(knownUsers.Relevant))
        {
            if (!members.Contains(user)) continue;
            foreach (var song in songs)
            {
                if (!audience.TryGetValue(song, out var users)) audience[song] = users = new HashSet<string>(StringComparer.Ordinal);
                users.Add(user);
            }
        }
        return new ColdSongAudience(truth, truth.ColdSongs.Order(StringComparer.Ordinal).ToArray(), members.Order(StringComparer.Ordinal).ToArray(),
            audience.ToDictionary(p => p.Key, p => (IReadOnlySet<string>)p.Value, StringComparer.Ordinal), activity);
    }

    /// <summary>The same list for every song: the <paramref name="n"/> most active pool users (ties: by id).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> MostActiveUsers(int n)
    {
        var list = Pool.OrderByDescending(u => _activity.GetValueOrDefault(u)).ThenBy(u => u, StringComparer.Ordinal).Take(n).ToArray();
        return Songs.ToDictionary(s => s, _ => (IReadOnlyList<string>)list, StringComparer.Ordinal);
    }

    /// <summary>
    /// A random unit vector per song (seeded, songs in ordinal order) scored against the pool users' vectors
    /// (<paramref name="userVector"/>: a user's published vector): the top <paramref name="n"/> per song.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> RandomVectors(int n, int dimensions, Func<string, ReadOnlyMemory<float>> userVector, int seed)
    {
        ArgumentNullException.ThrowIfNull(userVector);
        var vectors = Pool.Select(u => userVector(u)).ToArray();
        var random = new Random(seed);
        var song = new double[dimensions];
        var scores = new double[Pool.Count];
        var lists = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var id in Songs)
        {
            double norm = 0;
            for (int d = 0; d < dimensions; d++)
            {
                // Box-Muller: a direction uniform on the sphere after normalising.
                song[d] = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                norm += song[d] * song[d];
            }
            norm = Math.Sqrt(norm);
            for (int u = 0; u < vectors.Length; u++)
            {
                var user = vectors[u].Span;
                double dot = 0;
                for (int d = 0; d < dimensions; d++) dot += song[d] / norm * user[d];
                scores[u] = dot;
            }
            lists[id] = Rankings.TopK(scores, n).Select(i => Pool[i]).ToArray();
        }
        return lists;
    }

    /// <summary>The oracle: per song, the <paramref name="n"/> pool users the generator makes most likely to choose it.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Oracle(int n)
    {
        var scores = new double[Pool.Count];
        var lists = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var song in Songs)
        {
            for (int u = 0; u < scores.Length; u++) scores[u] = _truth.Score(Pool[u], song);
            lists[song] = Rankings.TopK(scores, n).Select(i => Pool[i]).ToArray();
        }
        return lists;
    }
}
