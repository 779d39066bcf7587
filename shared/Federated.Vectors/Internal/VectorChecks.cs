using System.Numerics.Tensors;

namespace Federated.Vectors.Internal;

/// <summary>The input checks every index shares, each naming the argument and the position that is wrong.</summary>
internal static class VectorChecks
{
    /// <summary>Checks a batch for AddRange: ids not null, the rows valid (see <see cref="Rows"/>) and one row per id; returns the count.</summary>
    public static int Batch<TKey>(IReadOnlyList<TKey> ids, ReadOnlySpan<float> rows, int dimension, VectorMetric metric)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var count = Rows(rows, dimension, metric, "rows");
        if (count != ids.Count)
            throw new ArgumentException($"ids has {ids.Count} ids but rows holds {count} vectors", "ids");
        return count;
    }

    public static void Dimension(int dimension, string paramName = "dimension")
    {
        if (dimension <= 0)
            throw new ArgumentOutOfRangeException(paramName, dimension, "the dimension must be at least 1");
    }

    public static void K(int k)
    {
        if (k <= 0)
            throw new ArgumentOutOfRangeException(nameof(k), k, "K (the number of results) must be at least 1");
    }

    /// <summary>One vector: its length is the dimension, every value is finite (and for cosine it is not all zero).</summary>
    public static void Vector(ReadOnlySpan<float> vector, int dimension, VectorMetric metric, string paramName, long row = -1)
    {
        var where = row < 0 ? paramName : $"{paramName} row {row}";
        if (vector.Length != dimension)
            throw new ArgumentException($"{where} has {vector.Length} values; the index has dimension {dimension}", paramName);
        for (var i = 0; i < vector.Length; i++)
            if (!float.IsFinite(vector[i]))
                throw new ArgumentException($"{where} has a non-finite value ({vector[i]}) at position {i}", paramName);
        if (metric == VectorMetric.Cosine && TensorPrimitives.Dot(vector, vector) == 0f)
            throw new ArgumentException($"{where} is all zeros: the cosine of a zero vector is undefined", paramName);
    }

    /// <summary>A row-major block: whole rows of the dimension, each row checked as <see cref="Vector"/>.</summary>
    public static int Rows(ReadOnlySpan<float> rows, int dimension, VectorMetric metric, string paramName)
    {
        if (rows.Length % dimension != 0)
            throw new ArgumentException($"{paramName} holds {rows.Length} values, not a whole number of rows of dimension {dimension}", paramName);
        var count = rows.Length / dimension;
        for (var r = 0; r < count; r++)
            Vector(rows.Slice(r * dimension, dimension), dimension, metric, paramName, r);
        return count;
    }

    public static int Threads(int threads, int fallback)
    {
        if (threads < 0)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be 0 (the index's setting) or more");
        return threads == 0 ? Math.Max(1, fallback) : threads;
    }

    /// <summary>The vector as the index stores and compares it: unchanged for the inner product, unit length for cosine.</summary>
    public static void Prepare(ReadOnlySpan<float> source, Span<float> destination, VectorMetric metric)
    {
        source.CopyTo(destination);
        if (metric == VectorMetric.Cosine)
        {
            var norm = MathF.Sqrt(TensorPrimitives.Dot(source, source));
            TensorPrimitives.Divide(destination, norm, destination);
        }
    }
}
