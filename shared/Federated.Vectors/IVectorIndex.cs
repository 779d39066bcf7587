namespace Federated.Vectors;

/// <summary>
/// A catalogue of fixed-dimension float vectors under unique ids (<see cref="long"/> or <see cref="string"/>), searched
/// for the top K by <see cref="Metric"/>. Searches may run on any number of threads at once, also while another thread
/// adds (an add waits for running searches and holds new ones back until it is done). Input is checked: a wrong
/// dimension, a NaN or infinite component, a duplicate or empty id, or K &lt;= 0 throws <see cref="ArgumentException"/>
/// naming the argument, and nothing of a rejected batch is added.
/// </summary>
public interface IVectorIndex<TKey> : IDisposable where TKey : notnull
{
    VectorIndexKind Kind { get; }
    VectorMetric Metric { get; }
    int Dimension { get; }
    int Count { get; }

    /// <summary>True for an index viewed from a memory-mapped file: searchable, not extendable.</summary>
    bool IsReadOnly { get; }

    void Add(TKey id, ReadOnlySpan<float> vector);

    /// <summary>Adds <c>ids.Count</c> vectors stored row-major in <paramref name="rows"/> (ids.Count x Dimension values).</summary>
    void AddRange(IReadOnlyList<TKey> ids, ReadOnlyMemory<float> rows);

    bool Contains(TKey id);

    /// <summary>The <paramref name="k"/> best items for <paramref name="query"/>, best first (fewer when the index holds fewer).</summary>
    VectorHit<TKey>[] Search(ReadOnlySpan<float> query, int k);

    /// <summary>
    /// <see cref="Search"/> for each of the row-major <paramref name="queries"/> (a multiple of Dimension values), on
    /// <paramref name="threads"/> threads (0: the index's own setting); result i belongs to query row i.
    /// </summary>
    VectorHit<TKey>[][] SearchBatch(ReadOnlyMemory<float> queries, int k, int threads = 0);

    /// <summary>Writes the index to one file (replaced atomically: written beside it under a temporary name, then moved).</summary>
    void Save(string path);
}
