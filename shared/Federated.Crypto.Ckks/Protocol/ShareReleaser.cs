using Federated.Crypto.Ckks.Keys;
using Federated.Crypto.Ckks.Serialization;

namespace Federated.Crypto.Ckks.Protocol;

/// <summary>
/// The key owner's side of a decrypted share (docs/protocol.md §2.3, F3/B4): decrypt a masked ciphertext to a raw ring element,
/// add the owner's own encoded term, flood, count the release against the key's budget, serialize.
/// </summary>
public sealed class ShareReleaser
{
    private readonly CkksContext _ctx;
    private readonly Decryptor _decryptor;

    public ShareReleaser(CkksContext context, SecretKey secretKey, ReleaseBudget budget, double floodingSigma)
    {
        _ctx = context ?? throw new ArgumentNullException(nameof(context));
        ArgumentNullException.ThrowIfNull(secretKey);
        Budget = budget ?? throw new ArgumentNullException(nameof(budget));
        if (budget.KeyId != secretKey.KeyId) throw new CkksMismatchException($"release budget is for key {budget.KeyId}, the secret key is {secretKey.KeyId}");
        if (!(floodingSigma >= 0)) throw new ArgumentOutOfRangeException(nameof(floodingSigma), "flooding width must be non-negative");
        _decryptor = new Decryptor(context, secretKey);
        FloodingSigma = floodingSigma;
    }

    public ReleaseBudget Budget { get; }
    public double FloodingSigma { get; }

    /// <summary>
    /// Decrypts <paramref name="masked"/>, adds <paramref name="ownTerm"/> (same level and scale; may be null),
    /// floods and returns the share. Throws <see cref="ReleaseBudgetExhaustedException"/> before decrypting when the
    /// budget is spent.
    /// </summary>
    public Plaintext Release(Ciphertext masked, Plaintext? ownTerm = null)
    {
        ArgumentNullException.ThrowIfNull(masked);
        if (ownTerm is not null)
        {
            if (ownTerm.Level != masked.Level) throw new CkksMismatchException($"own term is at level {ownTerm.Level}, the ciphertext at {masked.Level}");
            Evaluator.CheckScales(ownTerm.Scale, masked.Scale, "share + own term");
        }
        Budget.Consume();
        var share = _decryptor.Decrypt(masked);
        if (ownTerm is not null)
            for (int i = 0; i <= share.Level; i++)
                Arithmetic.RnsOps.AddInto(share.Component(i), ownTerm.Component(i), _ctx.Moduli[i]);
        NoiseFlooding.AddTo(share, FloodingSigma);
        return share;
    }

    public byte[] ReleaseSerialized(Ciphertext masked, Plaintext? ownTerm = null) => CkksSerializer.Serialize(Release(masked, ownTerm));
}
