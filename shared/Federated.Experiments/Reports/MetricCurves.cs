using System.Numerics;

namespace Federated.Experiments.Reports;

/// <summary>
/// One query's HitRate@K, Recall@K and NDCG@K for every K from 1 to a maximum, by the definitions of
/// <see cref="Federated.Data.Evaluation.RecallMetrics{TItem}"/>: binary relevance; an item repeated in a list counts
/// once; a list shorter than K is scored as it is; no list at all scores 0 everywhere.
/// </summary>
public static class MetricCurves
{
    /// <summary>The three metrics, in the order of a query's row.</summary>
    public static readonly IReadOnlyList<string> Metrics = ["HR", "Recall", "NDCG"];

    /// <summary>
    /// Writes the query's row: <c>row[0..maxK)</c> HitRate at K = 1..maxK, <c>row[maxK..2maxK)</c> Recall,
    /// <c>row[2maxK..3maxK)</c> NDCG. <paramref name="relevant"/> must not be empty.
    /// </summary>
    public static void Query(IReadOnlyList<string>? ranked, IReadOnlySet<string> relevant, int maxK, Span<double> row)
    {
        ArgumentNullException.ThrowIfNull(relevant);
        if (relevant.Count == 0) throw new ArgumentException("a query without relevant items is not scored", nameof(relevant));
        if (row.Length != 3 * maxK) throw new ArgumentException($"the row holds {row.Length} values, not 3 x {maxK}", nameof(row));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int hits = 0, rank = 0, next = 0;
        double dcg = 0, ideal = 0;
        var list = ranked ?? [];
        for (int k = 1; k <= maxK; k++)
        {
            // Advance to the k-th distinct item of the list, if the list has one.
            while (rank < k && next < list.Count)
            {
                var item = list[next++];
                if (!seen.Add(item)) continue;
                rank++;
                if (relevant.Contains(item)) { hits++; dcg += 1.0 / Math.Log2(rank + 1); }
            }
            if (k <= relevant.Count) ideal += 1.0 / Math.Log2(k + 1);
            row[k - 1] = hits > 0 ? 1 : 0;
            row[maxK + k - 1] = hits / (double)relevant.Count;
            row[2 * maxK + k - 1] = dcg / ideal;
        }
    }

    /// <summary>Every query's row (queries in the given order) for one method's lists.</summary>
    public static double[] Rows(IReadOnlyList<string> queries, IReadOnlyDictionary<string, IReadOnlySet<string>> truth,
        IReadOnlyDictionary<string, IReadOnlyList<string>> lists, int maxK)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(lists);
        var rows = new double[queries.Count * 3 * maxK];
        for (int q = 0; q < queries.Count; q++)
            Query(lists.GetValueOrDefault(queries[q]), truth[queries[q]], maxK, rows.AsSpan(q * 3 * maxK, 3 * maxK));
        return rows;
    }

    /// <summary>The mean row over the queries, each weighted by its count (a bootstrap resample), into <paramref name="mean"/>.</summary>
    public static void WeightedMean(ReadOnlySpan<double> rows, ReadOnlySpan<int> weights, Span<double> mean)
    {
        int width = mean.Length;
        mean.Clear();
        long total = 0;
        for (int q = 0; q < weights.Length; q++)
        {
            int w = weights[q];
            if (w == 0) continue;
            total += w;
            var row = rows.Slice(q * width, width);
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var weight = new Vector<double>(w);
                for (; i <= width - Vector<double>.Count; i += Vector<double>.Count)
                    (new Vector<double>(mean[i..]) + weight * new Vector<double>(row[i..])).CopyTo(mean[i..]);
            }
            for (; i < width; i++) mean[i] += w * row[i];
        }
        if (total == 0) return;
        for (int i = 0; i < width; i++) mean[i] /= total;
    }
}
