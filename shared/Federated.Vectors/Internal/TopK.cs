namespace Federated.Vectors.Internal;

/// <summary>
/// The best K (score, ordinal) pairs seen so far: a min-heap whose root is the worst kept pair. Higher scores are
/// better; equal scores rank the earlier ordinal first, so the order is fully determined.
/// </summary>
internal sealed class TopK
{
    private readonly float[] _scores;
    private readonly int[] _ordinals;

    public TopK(int k)
    {
        _scores = new float[k];
        _ordinals = new int[k];
    }

    public int Capacity => _scores.Length;
    public int Count { get; private set; }

    /// <summary>The score a new pair must beat to enter (negative infinity while not full).</summary>
    public float Threshold => Count < _scores.Length ? float.NegativeInfinity : _scores[0];

    public void Clear() => Count = 0;

    public void Offer(float score, int ordinal)
    {
        if (Count < _scores.Length)
        {
            var i = Count++;
            _scores[i] = score;
            _ordinals[i] = ordinal;
            SiftUp(i);
        }
        else if (Better(score, ordinal, _scores[0], _ordinals[0]))
        {
            _scores[0] = score;
            _ordinals[0] = ordinal;
            SiftDown(0);
        }
    }

    /// <summary>Empties the heap into best-first order.</summary>
    public (float Score, int Ordinal)[] Drain()
    {
        var result = new (float, int)[Count];
        for (var i = Count - 1; i >= 0; i--)
        {
            result[i] = (_scores[0], _ordinals[0]);
            Count--;
            if (Count > 0)
            {
                _scores[0] = _scores[Count];
                _ordinals[0] = _ordinals[Count];
                SiftDown(0);
            }
        }
        return result;
    }

    private static bool Better(float score, int ordinal, float otherScore, int otherOrdinal) =>
        score > otherScore || (score == otherScore && ordinal < otherOrdinal);

    private void SiftUp(int i)
    {
        while (i > 0)
        {
            var parent = (i - 1) / 2;
            if (!Better(_scores[parent], _ordinals[parent], _scores[i], _ordinals[i])) break;
            Swap(i, parent);
            i = parent;
        }
    }

    private void SiftDown(int i)
    {
        while (true)
        {
            var left = 2 * i + 1;
            if (left >= Count) break;
            var worst = left;
            var right = left + 1;
            if (right < Count && Better(_scores[left], _ordinals[left], _scores[right], _ordinals[right])) worst = right;
            if (!Better(_scores[i], _ordinals[i], _scores[worst], _ordinals[worst])) break;
            Swap(i, worst);
            i = worst;
        }
    }

    private void Swap(int a, int b)
    {
        (_scores[a], _scores[b]) = (_scores[b], _scores[a]);
        (_ordinals[a], _ordinals[b]) = (_ordinals[b], _ordinals[a]);
    }
}
