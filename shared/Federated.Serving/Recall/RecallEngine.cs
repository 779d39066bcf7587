using Federated.Serving.Publication;
using Federated.Vectors;

namespace Federated.Serving.Recall;

/// <summary>Bounds of one serving request.</summary>
/// <param name="MaxScored">Most scored ids in one answer (users x K): keeps an answer inside one gRPC message.</param>
public sealed record RecallLimits(int MaxResults = 1000, int MaxBatch = 4096, int MaxSimilarSongs = 200, int MaxScored = 20_000);

/// <summary>A scored id in an answer.</summary>
public readonly record struct Scored(string Id, float Score);

/// <summary>An answer and the one model version every score in it came from.</summary>
public sealed record RecallAnswer<T>(string ModelVersion, T Value);

/// <summary>
/// Answers recall questions from M's published versions: songs similar to a song, the audience for a song (song ->
/// similar songs -> their nearest users) and recall for users with a published vector. Every answer is computed on one
/// snapshot of one version (a rollback or publication in between switches later queries, never half of one), and a
/// score is one dot product of two of that version's vectors. Bad requests throw <see cref="ArgumentException"/>
/// naming the field; unknown ids and versions <see cref="KeyNotFoundException"/>; nothing published yet
/// <see cref="InvalidOperationException"/>.
/// </summary>
public sealed class RecallEngine : IDisposable
{
    private readonly EmbeddingVersionStore _store;
    private readonly VectorIndexPolicy _policy;
    private readonly object _gate = new();
    private readonly Dictionary<string, ServingSnapshot> _open = new(StringComparer.Ordinal);
    private readonly List<string> _openOrder = [];
    private ServingSnapshot? _current;
    private const int KeptSnapshots = 3;

    public RecallEngine(EmbeddingVersionStore store, RecallLimits? limits = null, VectorIndexPolicy? policy = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        Limits = limits ?? new RecallLimits();
        _policy = policy ?? VectorIndexPolicy.Default;
        _policy.Validate();
    }

    public RecallLimits Limits { get; }

    /// <summary>Songs nearest to a song M holds (the song itself left out), best first.</summary>
    public RecallAnswer<IReadOnlyList<Scored>> SimilarSongs(string songId, int k, string? version = null)
    {
        RequireId(songId, "song_id");
        RequireCount(k, "k", Limits.MaxResults);
        using var lease = Acquire(version);
        var snapshot = lease.Snapshot;
        var vector = SongVector(snapshot, songId);
        var hits = snapshot.Items.Search(vector, Math.Min(k + 1, snapshot.Items.Count));
        return new(snapshot.Version, hits.Where(h => h.Id != songId).Take(k).Select(h => new Scored(h.Id, h.Score)).ToArray());
    }

    /// <summary>
    /// The users to offer a song to: the song and its <paramref name="similarSongs"/> nearest songs each draw their
    /// nearest users; a user's score is the sum over those songs of (similarity to the song) x (dot product with the
    /// user), so users near several of the song's neighbours rank first.
    /// </summary>
    public RecallAnswer<IReadOnlyList<Scored>> TargetAudience(string songId, int n, int similarSongs = 20, string? version = null)
    {
        RequireId(songId, "song_id");
        RequireCount(n, "n", Limits.MaxResults);
        if (similarSongs is < 0 || similarSongs > Limits.MaxSimilarSongs)
            throw new ArgumentException($"similar_songs must be 0..{Limits.MaxSimilarSongs}, got {similarSongs}", "similar_songs");
        using var lease = Acquire(version);
        var snapshot = lease.Snapshot;
        if (snapshot.Users.Count == 0) return new(snapshot.Version, []);
        return new(snapshot.Version, Audience(snapshot, SongVector(snapshot, songId), songId, n, similarSongs));
    }

    /// <summary>
    /// Songs nearest to a query vector (a song no version holds, say), best first. <paramref name="query"/> builds the
    /// vector on the version that answers, so vector and index come from the same model.
    /// </summary>
    public RecallAnswer<IReadOnlyList<Scored>> SimilarToVector(Func<EmbeddingSet, float[]> query, int k, string? version = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        RequireCount(k, "k", Limits.MaxResults);
        using var lease = Acquire(version);
        var snapshot = lease.Snapshot;
        var vector = QueryVector(snapshot, query);
        var hits = snapshot.Items.Search(vector, Math.Min(k, snapshot.Items.Count));
        return new(snapshot.Version, hits.Select(h => new Scored(h.Id, h.Score)).ToArray());
    }

    /// <summary><see cref="TargetAudience"/> for a query vector built on the answering version (the query itself weighs 1).</summary>
    public RecallAnswer<IReadOnlyList<Scored>> TargetAudienceForVector(Func<EmbeddingSet, float[]> query, int n, int similarSongs = 20, string? version = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        RequireCount(n, "n", Limits.MaxResults);
        if (similarSongs is < 0 || similarSongs > Limits.MaxSimilarSongs)
            throw new ArgumentException($"similar_songs must be 0..{Limits.MaxSimilarSongs}, got {similarSongs}", "similar_songs");
        using var lease = Acquire(version);
        var snapshot = lease.Snapshot;
        var vector = QueryVector(snapshot, query);
        return new(snapshot.Version, snapshot.Users.Count == 0 ? [] : Audience(snapshot, vector, null, n, similarSongs));
    }

    private static float[] QueryVector(ServingSnapshot snapshot, Func<EmbeddingSet, float[]> query)
    {
        var vector = query(snapshot.Set);
        if (vector.Length != snapshot.Set.Dimensions || !Array.TrueForAll(vector, float.IsFinite))
            throw new InvalidOperationException($"the query vector for model version {snapshot.Version} has {vector.Length} values (finite: {Array.TrueForAll(vector, float.IsFinite)}), the version {snapshot.Set.Dimensions}");
        return vector;
    }

    /// <summary>
    /// The users to offer a song to. The seed (<paramref name="self"/>, or a query vector) and its
    /// <paramref name="similarSongs"/> nearest songs, weighted by their similarity to it (the seed by 1), are averaged
    /// into one query; a user scores its dot product with that query plus the user's audience prior
    /// (<see cref="EmbeddingSet.UserPriors"/>: the model scores P(song | user), an audience wants P(user | song), which
    /// adds log P(user) at the model's temperature). A song of the version whose vector is the query's (a song sent by
    /// its features that M already holds) is the seed itself, not counted again as a neighbour.
    /// </summary>
    private static Scored[] Audience(ServingSnapshot snapshot, ReadOnlySpan<float> vector, string? self, int n, int similarSongs)
    {
        var d = snapshot.Set.Dimensions;
        var query = vector.ToArray();
        bool IsSeed(string id) => self is null ? SameVector(SongVector(snapshot, id), query) : id == self;
        var neighbours = snapshot.Items.Search(vector, Math.Min(similarSongs + 2, snapshot.Items.Count))
            .Where(h => !IsSeed(h.Id)).Take(similarSongs).ToArray();
        var mean = (float[])query.Clone();
        double total = 1;
        foreach (var neighbour in neighbours)
        {
            float w = Math.Max(0f, neighbour.Score);
            var v = SongVector(snapshot, neighbour.Id);
            for (int i = 0; i < d; i++) mean[i] += w * v[i];
            total += w;
        }
        for (int i = 0; i < d; i++) mean[i] = (float)(mean[i] / total);

        var priors = snapshot.Set.UserPriors.Span;
        int users = snapshot.Users.Count;
        if (priors.IsEmpty)
            return snapshot.Users.Search(mean, Math.Min(n, users)).Select(h => new Scored(h.Id, h.Score)).ToArray();
        if (users <= ExactAudienceUsers)
        {
            // Every user scored: exact.
            var matrix = snapshot.Set.UserMatrix.Span;
            var scores = new float[users];
            for (int u = 0; u < users; u++) scores[u] = -(Dot(matrix.Slice(u * d, d), mean) + priors[u]);
            var order = Enumerable.Range(0, users).ToArray();
            Array.Sort(scores, order);
            var keys = snapshot.Set.UserKeysInOrder;
            return Enumerable.Range(0, Math.Min(n, users)).Select(j => new Scored(keys[order[j]], -scores[j])).ToArray();
        }
        // Large user sets: the index's nearest users by dot product, rescored with their priors.
        var candidates = snapshot.Users.Search(mean, Math.Min(users, Math.Max(20 * n, 5000)));
        var found = candidates.ToArray();
        var rescored = new Scored[found.Length];
        for (int i = 0; i < rescored.Length; i++)
            rescored[i] = new Scored(found[i].Id, found[i].Score + priors[snapshot.Set.UserRow(found[i].Id)]);
        return rescored.OrderByDescending(h => h.Score).ThenBy(h => h.Id, StringComparer.Ordinal).Take(n).ToArray();
    }

    /// <summary>Up to this many users, an audience scores every one of them exactly.</summary>
    private const int ExactAudienceUsers = 50_000;

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);

    private static bool SameVector(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        // Encoding the same features again agrees to float rounding (about 1e-7); distinct songs differ far more.
        for (int i = 0; i < a.Length; i++)
            if (Math.Abs(a[i] - b[i]) > 1e-5f) return false;
        return true;
    }

    /// <summary>Top-K songs for users with a published vector; an unknown user fails the request naming it.</summary>
    public RecallAnswer<IReadOnlyList<(string User, IReadOnlyList<Scored> Songs)>> RecallForUsers(IReadOnlyList<string> userIds, int k, string? version = null)
    {
        CheckUsersRequest(userIds, k);
        using var lease = Acquire(version);
        var snapshot = lease.Snapshot;
        var d = snapshot.Set.Dimensions;
        var queries = new float[userIds.Count * d];
        for (int i = 0; i < userIds.Count; i++)
        {
            if (!snapshot.Set.TryGetUser(userIds[i], out var vector))
                throw new KeyNotFoundException($"user_ids[{i}] = '{Truncate(userIds[i])}' has no vector in model version {snapshot.Version}");
            vector.CopyTo(queries.AsSpan(i * d, d));
        }
        var hits = RankSongs(snapshot, queries, k);
        var answer = new (string, IReadOnlyList<Scored>)[userIds.Count];
        for (int i = 0; i < userIds.Count; i++) answer[i] = (userIds[i], hits[i]);
        return new(snapshot.Version, answer);
    }

    /// <summary>Checks a recall-for-users request's ids, K and size against the limits; throws naming the field.</summary>
    public void CheckUsersRequest(IReadOnlyList<string> userIds, int k)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        if (userIds.Count == 0) throw new ArgumentException("user_ids is empty", "user_ids");
        if (userIds.Count > Limits.MaxBatch) throw new ArgumentException($"user_ids holds {userIds.Count} ids, more than the limit of {Limits.MaxBatch}", "user_ids");
        RequireCount(k, "k", Limits.MaxResults);
        if ((long)userIds.Count * k > Limits.MaxScored)
            throw new ArgumentException($"user_ids holds {userIds.Count} ids at k = {k}: {(long)userIds.Count * k} scored songs, more than the {Limits.MaxScored} one answer may hold; ask for at most {Math.Max(1, Limits.MaxScored / k)} users at this k", "user_ids");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < userIds.Count; i++)
        {
            RequireId(userIds[i], $"user_ids[{i}]");
            if (!seen.Add(userIds[i])) throw new ArgumentException($"user_ids[{i}] = '{Truncate(userIds[i])}' is asked twice", $"user_ids[{i}]");
        }
    }

    /// <summary>Top-K songs of <paramref name="snapshot"/> for each row of <paramref name="queries"/> (user vectors of its width, row after row).</summary>
    public IReadOnlyList<Scored>[] RankSongs(ServingSnapshot snapshot, ReadOnlyMemory<float> queries, int k)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var d = snapshot.Set.Dimensions;
        if (queries.Length == 0) return [];
        if (queries.Length % d != 0) throw new ArgumentException($"query vectors hold {queries.Length} values, not rows of {d}", nameof(queries));
        // One thread per request: a server already answers requests in parallel, and a request must not wait for pool threads.
        var hits = snapshot.Items.SearchBatch(queries, Math.Min(k, snapshot.Items.Count), threads: 1);
        return hits.Select(h => (IReadOnlyList<Scored>)h.Select(x => new Scored(x.Id, x.Score)).ToArray()).ToArray();
    }

    /// <summary>Holds the snapshot of <paramref name="version"/> (null or empty: the serving one) for one query.</summary>
    public ServingSnapshot.Lease Acquire(string? version = null)
    {
        while (true)
        {
            ServingSnapshot snapshot;
            lock (_gate)
            {
                if (string.IsNullOrEmpty(version))
                {
                    var serving = _store.CurrentVersion ?? throw new InvalidOperationException($"no model version is serving yet in {_store.Folder}");
                    if (_current?.Version != serving || !_current.StillOnDisk) _current = OpenLocked(serving);
                    snapshot = _current;
                }
                else
                {
                    snapshot = OpenLocked(version);
                }
            }
            if (snapshot.TryAcquire() is { } lease) return lease;
            // Retired between the lookup and the hold: look again.
        }
    }

    private ServingSnapshot OpenLocked(string version)
    {
        if (_open.TryGetValue(version, out var open))
        {
            if (open.StillOnDisk) return open;
            // The same version name now holds another set (a store deleted and published anew): retire the old one.
            _open.Remove(version);
            _openOrder.Remove(version);
            if (ReferenceEquals(_current, open)) _current = null;
            open.Release();
        }
        var snapshot = ServingSnapshot.Open(_store.Open(version), _policy); // KeyNotFoundException names the versions there are
        _open[version] = snapshot;
        _openOrder.Add(version);
        while (_open.Count > KeptSnapshots)
        {
            // Retire the oldest version that is neither serving nor the one just opened; queries holding it finish first.
            var victim = _openOrder.FirstOrDefault(v => v != version && !ReferenceEquals(_open[v], _current));
            if (victim is null) break;
            _openOrder.Remove(victim);
            if (_open.Remove(victim, out var retired)) retired.Release();
        }
        return snapshot;
    }

    private static ReadOnlySpan<float> SongVector(ServingSnapshot snapshot, string songId) =>
        snapshot.Set.TryGetItem(songId, out var vector) ? vector
            : throw new KeyNotFoundException($"song '{Truncate(songId)}' is not in model version {snapshot.Version}");

    private static void RequireId(string? id, string field)
    {
        if (string.IsNullOrEmpty(id)) throw new ArgumentException($"{field} is empty", field);
        if (id.Length > 256) throw new ArgumentException($"{field} is {id.Length} characters long, more than 256", field);
    }

    private static void RequireCount(int value, string field, int max)
    {
        if (value <= 0) throw new ArgumentException($"{field} must be positive, got {value}", field);
        if (value > max) throw new ArgumentException($"{field} = {value} is above the limit of {max}", field);
    }

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "...";

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var snapshot in _open.Values) snapshot.Release();
            _open.Clear();
            _openOrder.Clear();
            _current = null;
        }
    }
}
