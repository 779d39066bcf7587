namespace Federated.Vectors;

/// <summary>Jagged-array conveniences over the row-major calls of <see cref="IVectorIndex{TKey}"/>.</summary>
public static class VectorIndexExtensions
{
    public static void AddRange<TKey>(this IVectorIndex<TKey> index, IReadOnlyList<TKey> ids, IReadOnlyList<float[]> vectors) where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(ids);
        index.AddRange(ids, Flatten(vectors, index.Dimension, nameof(vectors)));
    }

    public static VectorHit<TKey>[][] SearchBatch<TKey>(this IVectorIndex<TKey> index, IReadOnlyList<float[]> queries, int k, int threads = 0) where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(index);
        return index.SearchBatch(Flatten(queries, index.Dimension, nameof(queries)), k, threads);
    }

    /// <summary>Copies equal-length rows into one row-major array, naming the first row of another length.</summary>
    public static float[] Flatten(IReadOnlyList<float[]> rows, int dimension, string paramName)
    {
        ArgumentNullException.ThrowIfNull(rows, paramName);
        var flat = new float[(long)rows.Count * dimension];
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i] ?? throw new ArgumentException($"{paramName}[{i}] is null", paramName);
            if (row.Length != dimension)
                throw new ArgumentException($"{paramName}[{i}] has {row.Length} values; the index has dimension {dimension}", paramName);
            row.CopyTo(flat, (long)i * dimension);
        }
        return flat;
    }
}
