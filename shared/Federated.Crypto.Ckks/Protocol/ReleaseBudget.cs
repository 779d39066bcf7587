namespace Federated.Crypto.Ckks.Protocol;

/// <summary>
/// Counts decryption releases made with one secret key and refuses releases once the budget is spent (the key must
/// then be rotated). Thread-safe. <see cref="Used"/> can be persisted and passed back on restart.
/// </summary>
public sealed class ReleaseBudget
{
    private long _used;

    public ReleaseBudget(Guid keyId, long budget, long alreadyUsed = 0)
    {
        if (budget <= 0) throw new ArgumentOutOfRangeException(nameof(budget), $"release budget must be positive, got {budget}");
        if (alreadyUsed < 0 || alreadyUsed > budget) throw new ArgumentOutOfRangeException(nameof(alreadyUsed), $"already used {alreadyUsed} must be in [0, {budget}]");
        KeyId = keyId;
        Budget = budget;
        _used = alreadyUsed;
    }

    public Guid KeyId { get; }
    public long Budget { get; }
    public long Used => Interlocked.Read(ref _used);
    public long Remaining => Budget - Used;
    public bool IsExhausted => Used >= Budget;

    /// <summary>Consumes one release or throws <see cref="ReleaseBudgetExhaustedException"/>.</summary>
    public void Consume()
    {
        if (!TryConsume())
            throw new ReleaseBudgetExhaustedException($"release budget of {Budget} decryptions for key {KeyId} is spent; rotate the key pair before releasing more");
    }

    public bool TryConsume()
    {
        while (true)
        {
            long used = Interlocked.Read(ref _used);
            if (used >= Budget) return false;
            if (Interlocked.CompareExchange(ref _used, used + 1, used) == used) return true;
        }
    }
}
