using Federated.Vectors.Internal;

namespace Federated.Vectors;

/// <summary>
/// Which index a catalogue gets: exact search below <see cref="ExactBelow"/> items (it is exact, needs no build and
/// answers a few thousand items in well under a millisecond), HNSW with <see cref="Hnsw"/> from there on.
/// </summary>
public sealed record VectorIndexPolicy
{
    /// <summary>Catalogues with fewer items than this are searched exactly.</summary>
    public int ExactBelow { get; init; } = 20_000;

    public HnswOptions Hnsw { get; init; } = HnswOptions.Default;

    public static VectorIndexPolicy Default { get; } = new();

    public VectorIndexKind Choose(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return count < ExactBelow ? VectorIndexKind.Exact : VectorIndexKind.Hnsw;
    }

    public void Validate()
    {
        if (ExactBelow < 0)
            throw new ArgumentOutOfRangeException(nameof(ExactBelow), ExactBelow, "the exact-search threshold must be 0 or more");
        ArgumentNullException.ThrowIfNull(Hnsw, nameof(Hnsw));
        Hnsw.Validate();
    }
}

/// <summary>Creates, builds and opens indexes under a <see cref="VectorIndexPolicy"/>.</summary>
public static class VectorIndexFactory
{
    /// <summary>An empty index of the kind the policy picks for <paramref name="expectedCount"/> items.</summary>
    public static IVectorIndex<TKey> Create<TKey>(int dimension, int expectedCount, VectorMetric metric = VectorMetric.InnerProduct, VectorIndexPolicy? policy = null)
        where TKey : notnull
    {
        policy ??= VectorIndexPolicy.Default;
        policy.Validate();
        return policy.Choose(expectedCount) == VectorIndexKind.Exact
            ? new ExactIndex<TKey>(dimension, metric, expectedCount, policy.Hnsw.Threads)
            : new HnswIndex<TKey>(dimension, metric, policy.Hnsw, expectedCount);
    }

    /// <summary>An index over <paramref name="ids"/> and their row-major <paramref name="rows"/>, of the kind the policy picks.</summary>
    public static IVectorIndex<TKey> Build<TKey>(int dimension, IReadOnlyList<TKey> ids, ReadOnlyMemory<float> rows, VectorMetric metric = VectorMetric.InnerProduct, VectorIndexPolicy? policy = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(ids);
        var index = Create<TKey>(dimension, ids.Count, metric, policy);
        try
        {
            index.AddRange(ids, rows);
            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a file written by either index's Save. <paramref name="view"/> maps an HNSW file instead of reading it
    /// (an exact index is always read); <paramref name="threads"/> sets the batch-search threads (0: the default).
    /// </summary>
    public static IVectorIndex<TKey> Load<TKey>(string path, bool view = false, int threads = 0) where TKey : notnull =>
        IndexFileIo.KindOf(path) switch
        {
            VectorIndexKind.Exact => ExactIndex<TKey>.Load(path, threads),
            _ when view => HnswIndex<TKey>.View(path, threads),
            _ => HnswIndex<TKey>.Load(path, threads),
        };
}
