using System.Buffers;
using Federated.Crypto.Ckks.Arithmetic;
using Federated.Crypto.Ckks.Sampling;

namespace Federated.Crypto.Ckks.Keys;

/// <summary>Generates a ternary secret key and, from it, the public key and Galois keys for requested steps.</summary>
public sealed class KeyGenerator
{
    private readonly CkksContext _ctx;

    public SecretKey SecretKey { get; }

    /// <summary>A generator with a fresh ternary secret drawn from the OS CSPRNG.</summary>
    public KeyGenerator(CkksContext context)
    {
        _ctx = context ?? throw new ArgumentNullException(nameof(context));
        int n = context.N;
        var data = new ulong[context.Moduli.Length * n];
        var ternary = new sbyte[n];
        using (var prng = Prng.CreateRandom()) Samplers.Ternary(prng, ternary);
        Samplers.ToRns(ternary, context.Moduli, data);
        Array.Clear(ternary);
        for (int i = 0; i < context.Moduli.Length; i++) context.Ntt[i].Forward(data.AsSpan(i * n, n));
        SecretKey = new SecretKey(context, data, Guid.NewGuid());
    }

    /// <summary>A generator for an existing secret key (to derive more public or Galois keys).</summary>
    public KeyGenerator(CkksContext context, SecretKey secretKey)
    {
        _ctx = context ?? throw new ArgumentNullException(nameof(context));
        ArgumentNullException.ThrowIfNull(secretKey);
        if (!secretKey.Context.SameParameters(context)) throw new CkksMismatchException("secret key belongs to different parameters");
        SecretKey = secretKey;
    }

    public PublicKey CreatePublicKey()
    {
        int n = _ctx.N, primes = _ctx.Moduli.Length;
        byte[] seed = Prng.NewSeed();
        var a = new ulong[primes * n];
        using (var prng = new Prng(seed)) Samplers.Uniform(prng, _ctx.Moduli, n, a);
        var b = new ulong[primes * n];
        SampleErrorNtt(b, primes);
        for (int i = 0; i < primes; i++)
            NegateMultiplyAdd(b.AsSpan(i * n, n), a.AsSpan(i * n, n), SecretKey.Component(i), _ctx.Moduli[i]);
        return new PublicKey(_ctx, SecretKey.KeyId, b, a, seed);
    }

    /// <summary>Galois keys for left rotations by each step (negative = right); duplicates and 0 are ignored.</summary>
    public GaloisKeys CreateGaloisKeys(IEnumerable<int> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var elements = new SortedSet<int>();
        foreach (int step in steps)
        {
            if (step % _ctx.SlotCount == 0) continue;
            elements.Add(_ctx.GaloisElementForStep(step));
        }
        var keys = new Dictionary<int, KeySwitchKey>();
        int n = _ctx.N, primes = _ctx.Moduli.Length;
        var rotated = new ulong[primes * n];
        foreach (int g in elements)
        {
            int[] perm = _ctx.GaloisPermutation(g);
            for (int i = 0; i < primes; i++)
            {
                ReadOnlySpan<ulong> s = SecretKey.Component(i);
                Span<ulong> d = rotated.AsSpan(i * n, n);
                for (int k = 0; k < n; k++) d[k] = s[perm[k]];
            }
            keys[g] = CreateKeySwitchKey(rotated);
        }
        Array.Clear(rotated);
        return new GaloisKeys(_ctx, SecretKey.KeyId, keys);
    }

    /// <summary>Key switching from s' (NTT form over all primes) to this secret.</summary>
    internal KeySwitchKey CreateKeySwitchKey(ReadOnlySpan<ulong> newKeyNtt)
    {
        int n = _ctx.N, primes = _ctx.Moduli.Length, digits = _ctx.DataPrimeCount;
        var bs = new ulong[digits][];
        var as_ = new ulong[digits][];
        var seeds = new byte[digits][];
        Modulus special = _ctx.SpecialPrime;
        for (int j = 0; j < digits; j++)
        {
            seeds[j] = Prng.NewSeed();
            var a = new ulong[primes * n];
            using (var prng = new Prng(seeds[j])) Samplers.Uniform(prng, _ctx.Moduli, n, a);
            var b = new ulong[primes * n];
            SampleErrorNtt(b, primes);
            for (int i = 0; i < primes; i++)
                NegateMultiplyAdd(b.AsSpan(i * n, n), a.AsSpan(i * n, n), SecretKey.Component(i), _ctx.Moduli[i]);
            // Gadget term P * s' in digit j's own prime only.
            Modulus qj = _ctx.Moduli[j];
            ulong pMod = qj.Reduce(special.Value), pShoup = qj.ShoupPrecompute(pMod);
            Span<ulong> bj = b.AsSpan(j * n, n);
            ReadOnlySpan<ulong> sj = newKeyNtt.Slice(j * n, n);
            for (int k = 0; k < n; k++) bj[k] = qj.Add(bj[k], qj.MultiplyShoup(sj[k], pMod, pShoup));
            bs[j] = b;
            as_[j] = a;
        }
        return new KeySwitchKey(bs, as_, seeds);
    }

    /// <summary>dst = dst - a*s mod q.</summary>
    private static void NegateMultiplyAdd(Span<ulong> dst, ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> s, Modulus q)
    {
        for (int k = 0; k < dst.Length; k++) dst[k] = q.Sub(dst[k], q.Multiply(a[k], s[k]));
    }

    private void SampleErrorNtt(Span<ulong> destination, int primes)
    {
        int n = _ctx.N;
        long[] e = ArrayPool<long>.Shared.Rent(n);
        try
        {
            using (var prng = Prng.CreateRandom())
                Samplers.Gaussian(prng, Samplers.ErrorStandardDeviation, Samplers.ErrorClipSigmas * Samplers.ErrorStandardDeviation, e.AsSpan(0, n));
            Samplers.ToRns(e.AsSpan(0, n), _ctx.Moduli.AsSpan(0, primes), destination);
            for (int i = 0; i < primes; i++) _ctx.Ntt[i].Forward(destination.Slice(i * n, n));
        }
        finally { ArrayPool<long>.Shared.Return(e); }
    }
}
