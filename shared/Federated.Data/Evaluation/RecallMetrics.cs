namespace Federated.Data.Evaluation;

/// <summary>HitRate@K, Recall@K and NDCG@K averaged over the users evaluated.</summary>
public sealed record RecallAtK(int K, double HitRate, double Recall, double Ndcg);

/// <summary>The metrics of one ranking method on one set of users.</summary>
public sealed record RecallReport(string Method, int Users, IReadOnlyList<RecallAtK> AtK)
{
    public RecallAtK this[int k] => AtK.FirstOrDefault(m => m.K == k) ?? throw new KeyNotFoundException($"K={k} was not evaluated");

    public override string ToString() =>
        $"{Method} ({Users} users): " + string.Join("  ", AtK.Select(m => $"@{m.K} HR {m.HitRate:F4} R {m.Recall:F4} NDCG {m.Ndcg:F4}"));
}

/// <summary>
/// Accumulates retrieval metrics user by user. Definitions (binary relevance, a user's relevant set = the distinct
/// items of their held-out interactions): HitRate@K = 1 if any relevant item is in the top K; Recall@K = relevant
/// items in the top K / all relevant items; NDCG@K = Σ 1/log2(rank+1) over relevant items in the top K, divided by
/// the same sum for an ideal list (min(K, |relevant|) hits at the top). Users with no relevant item are not counted;
/// a user with relevant items but no ranked list counts as all misses. Items repeated in a ranking count once.
/// </summary>
public sealed class RecallMetrics<TItem> where TItem : notnull
{
    private readonly int[] _ks;
    private readonly double[] _hit;
    private readonly double[] _recall;
    private readonly double[] _ndcg;
    private readonly HashSet<TItem> _seen = new();

    public RecallMetrics(IReadOnlyList<int>? ks = null)
    {
        _ks = (ks ?? RecallMetrics.DefaultCutoffs).ToArray();
        if (_ks.Length == 0 || _ks.Any(k => k <= 0)) throw new ArgumentException("cutoffs must be positive", nameof(ks));
        _hit = new double[_ks.Length];
        _recall = new double[_ks.Length];
        _ndcg = new double[_ks.Length];
    }

    public int Users { get; private set; }

    /// <summary>Adds one user's ranking (best first) against their relevant items.</summary>
    public void Add(IReadOnlyList<TItem>? ranked, IReadOnlySet<TItem> relevant)
    {
        if (relevant.Count == 0) return;
        Users++;
        if (ranked is null || ranked.Count == 0) return;
        var maxK = _ks.Max();
        _seen.Clear();
        Span<int> hitsAt = stackalloc int[_ks.Length];
        Span<double> dcgAt = stackalloc double[_ks.Length];
        var rank = 0;
        foreach (var item in ranked)
        {
            if (rank >= maxK) break;
            if (!_seen.Add(item)) continue;
            rank++;
            if (!relevant.Contains(item)) continue;
            var gain = 1.0 / Math.Log2(rank + 1);
            for (var i = 0; i < _ks.Length; i++)
            {
                if (rank > _ks[i]) continue;
                hitsAt[i]++;
                dcgAt[i] += gain;
            }
        }

        for (var i = 0; i < _ks.Length; i++)
        {
            if (hitsAt[i] > 0) _hit[i]++;
            _recall[i] += hitsAt[i] / (double)relevant.Count;
            _ndcg[i] += dcgAt[i] / RecallMetrics.IdealDcg(Math.Min(_ks[i], relevant.Count));
        }
    }

    public RecallReport Result(string method) => new(method, Users, _ks.Select((k, i) => new RecallAtK(
        k,
        Users == 0 ? 0 : _hit[i] / Users,
        Users == 0 ? 0 : _recall[i] / Users,
        Users == 0 ? 0 : _ndcg[i] / Users)).ToArray());
}

public static class RecallMetrics
{
    /// <summary>The cutoffs the project reports: 10, 50 and 100.</summary>
    public static readonly IReadOnlyList<int> DefaultCutoffs = [10, 50, 100];

    /// <summary>Evaluates rankings of every user that has relevant items.</summary>
    public static RecallReport Evaluate<TUser, TItem>(
        string method,
        IReadOnlyDictionary<TUser, IReadOnlyList<TItem>> rankings,
        IReadOnlyDictionary<TUser, HashSet<TItem>> relevant,
        IReadOnlyList<int>? ks = null)
        where TUser : notnull where TItem : notnull
    {
        var metrics = new RecallMetrics<TItem>(ks);
        foreach (var (user, items) in relevant)
            metrics.Add(rankings.GetValueOrDefault(user), items);
        return metrics.Result(method);
    }

    internal static double IdealDcg(int hits)
    {
        var sum = 0.0;
        for (var r = 1; r <= hits; r++) sum += 1.0 / Math.Log2(r + 1);
        return sum;
    }
}
