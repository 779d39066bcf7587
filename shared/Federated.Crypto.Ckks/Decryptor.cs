using Federated.Crypto.Ckks.Arithmetic;
using Federated.Crypto.Ckks.Keys;

namespace Federated.Crypto.Ckks;

/// <summary>Decryption to the raw ring element c0 + c1*s (NTT form), with the ciphertext's level and scale.</summary>
public sealed class Decryptor
{
    private readonly CkksContext _ctx;
    private readonly SecretKey _secretKey;

    public Decryptor(CkksContext context, SecretKey secretKey)
    {
        _ctx = context ?? throw new ArgumentNullException(nameof(context));
        _secretKey = secretKey ?? throw new ArgumentNullException(nameof(secretKey));
        if (!secretKey.Context.SameParameters(context)) throw new CkksMismatchException("secret key belongs to different parameters");
    }

    public CkksContext Context => _ctx;
    public Guid KeyId => _secretKey.KeyId;

    public Plaintext Decrypt(Ciphertext ciphertext)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        var p = new Plaintext(_ctx, ciphertext.Level, ciphertext.Scale);
        Decrypt(ciphertext, p);
        return p;
    }

    public void Decrypt(Ciphertext ciphertext, Plaintext destination)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        if (!ciphertext.Context.SameParameters(_ctx)) throw new CkksMismatchException("ciphertext belongs to different parameters than this decryptor");
        destination.Reshape(ciphertext.Level, ciphertext.Scale);
        for (int i = 0; i <= ciphertext.Level; i++)
        {
            Modulus q = _ctx.Moduli[i];
            ReadOnlySpan<ulong> c0 = ciphertext.Component(0, i), c1 = ciphertext.Component(1, i), s = _secretKey.Component(i);
            Span<ulong> d = destination.Component(i);
            RnsOps.MultiplyPointwise(c1, s, d, q);
            RnsOps.AddInto(d, c0, q);
        }
    }
}
