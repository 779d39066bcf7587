using Federated.Crypto.Ckks.Arithmetic;
using Federated.Crypto.Ckks.Sampling;

namespace Federated.Crypto.Ckks.Protocol;

/// <summary>
/// A uniformly random ring element R mod q at one level (docs/protocol.md §2, "ring mask"). The masker adds R to a
/// ciphertext before handing it to the key owner, so the decryption the key owner sees is m + e + R, uniform mod q;
/// afterwards the masker subtracts R from the released share and decodes. R never leaves the masker.
/// </summary>
public sealed class RingMask
{
    public CkksContext Context { get; }
    public int Level { get; }
    private readonly ulong[] _data; // NTT form (uniform in either domain)

    private RingMask(CkksContext context, int level, ulong[] data)
    {
        Context = context;
        Level = level;
        _data = data;
    }

    /// <summary>A fresh mask from the OS CSPRNG.</summary>
    public static RingMask Sample(CkksContext context, int level)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.CheckLevel(level);
        var data = new ulong[(level + 1) * context.N];
        using var prng = Prng.CreateRandom();
        Samplers.Uniform(prng, context.ModuliAtLevel(level), context.N, data);
        return new RingMask(context, level, data);
    }

    /// <summary>c0 += R: the ciphertext now decrypts to its message plus R.</summary>
    public void ApplyTo(Ciphertext ciphertext)
    {
        Check(ciphertext.Context, ciphertext.Level, "ciphertext");
        int n = Context.N;
        for (int i = 0; i <= Level; i++) RnsOps.AddInto(ciphertext.Component(0, i), _data.AsSpan(i * n, n), Context.Moduli[i]);
    }

    /// <summary>share -= R, turning a released share of a masked ciphertext into the unmasked raw plaintext.</summary>
    public void RemoveFrom(Plaintext share)
    {
        Check(share.Context, share.Level, "share");
        int n = Context.N;
        for (int i = 0; i <= Level; i++) RnsOps.SubInto(share.Component(i), _data.AsSpan(i * n, n), Context.Moduli[i]);
    }

    /// <summary>Removes the mask and decodes the slots (the masker's last step, F4/B5).</summary>
    public double[] Unmask(Plaintext share, CkksEncoder encoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var copy = share.Clone();
        RemoveFrom(copy);
        return encoder.Decode(copy);
    }

    private void Check(CkksContext ctx, int level, string what)
    {
        if (!ctx.SameParameters(Context)) throw new CkksMismatchException($"{what} belongs to different parameters than the mask");
        if (level != Level) throw new CkksMismatchException($"{what} is at level {level}, the mask at level {Level}; masks are per level");
    }
}
