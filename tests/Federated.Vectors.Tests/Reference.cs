using Federated.Vectors;

namespace Federated.Vectors.Tests;

/// <summary>
/// The plain answer the indexes are checked against, computed the way one would in numpy: every score in double
/// precision (cosine: both vectors scaled to unit length), a full stable sort by descending score.
/// </summary>
internal static class Reference
{
    public static (int Row, double Score)[] TopK(float[] rows, int dimension, ReadOnlySpan<float> query, int k, VectorMetric metric)
    {
        var count = rows.Length / dimension;
        var q = query.ToArray().Select(x => (double)x).ToArray();
        if (metric == VectorMetric.Cosine) Scale(q);
        var scores = new (int Row, double Score)[count];
        for (var r = 0; r < count; r++)
        {
            var row = new double[dimension];
            for (var j = 0; j < dimension; j++) row[j] = rows[r * dimension + j];
            if (metric == VectorMetric.Cosine) Scale(row);
            double dot = 0;
            for (var j = 0; j < dimension; j++) dot += row[j] * q[j];
            scores[r] = (r, dot);
        }
        return scores.OrderByDescending(s => s.Score).ThenBy(s => s.Row).Take(k).ToArray();
    }

    /// <summary>Mean over queries of |approximate top k ∩ exact top k| / k.</summary>
    public static double Recall<TKey>(VectorHit<TKey>[][] approximate, VectorHit<TKey>[][] exact, int k) where TKey : notnull
    {
        double sum = 0;
        for (var q = 0; q < exact.Length; q++)
        {
            var truth = exact[q].Take(k).Select(h => h.Id).ToHashSet();
            sum += approximate[q].Take(k).Count(h => truth.Contains(h.Id)) / (double)k;
        }
        return sum / exact.Length;
    }

    public static float[] Row(float[] rows, int dimension, int row) => rows.AsSpan(row * dimension, dimension).ToArray();

    private static void Scale(double[] v)
    {
        var norm = Math.Sqrt(v.Sum(x => x * x));
        for (var i = 0; i < v.Length; i++) v[i] /= norm;
    }
}
