using System.Buffers;
using Federated.Crypto.Ckks.Arithmetic;
using Federated.Crypto.Ckks.Keys;
using Federated.Crypto.Ckks.Sampling;

namespace Federated.Crypto.Ckks;

/// <summary>
/// Public-key encryption (computed modulo the level's primes and the special prime, then divided by the special
/// prime, as SEAL does, so the fresh noise stays small) and seeded symmetric encryption. Thread-safe.
/// </summary>
public sealed class Encryptor
{
    private readonly CkksContext _ctx;
    private readonly PublicKey? _publicKey;
    private readonly SecretKey? _secretKey;

    public Encryptor(CkksContext context, PublicKey publicKey)
    {
        _ctx = context ?? throw new ArgumentNullException(nameof(context));
        _publicKey = publicKey ?? throw new ArgumentNullException(nameof(publicKey));
        if (!publicKey.Context.SameParameters(context)) throw new CkksMismatchException("public key belongs to different parameters");
    }

    public Encryptor(CkksContext context, SecretKey secretKey)
    {
        _ctx = context ?? throw new ArgumentNullException(nameof(context));
        _secretKey = secretKey ?? throw new ArgumentNullException(nameof(secretKey));
        if (!secretKey.Context.SameParameters(context)) throw new CkksMismatchException("secret key belongs to different parameters");
    }

    public Encryptor(CkksContext context, PublicKey publicKey, SecretKey secretKey) : this(context, publicKey)
    {
        _secretKey = secretKey ?? throw new ArgumentNullException(nameof(secretKey));
        if (!secretKey.Context.SameParameters(context)) throw new CkksMismatchException("secret key belongs to different parameters");
    }

    public CkksContext Context => _ctx;

    /// <summary>Public-key encryption of a plaintext at its level and scale.</summary>
    public Ciphertext Encrypt(Plaintext plaintext)
    {
        CheckPlaintext(plaintext);
        var ct = new Ciphertext(_ctx, plaintext.Level, plaintext.Scale);
        EncryptZeroInto(ct, plaintext.Level, plaintext.Scale);
        AddPlain(ct, plaintext);
        return ct;
    }

    /// <summary>Public-key encryption into an existing ciphertext (reshaped to the plaintext's level).</summary>
    public void Encrypt(Plaintext plaintext, Ciphertext destination)
    {
        CheckPlaintext(plaintext);
        EncryptZeroInto(destination, plaintext.Level, plaintext.Scale);
        AddPlain(destination, plaintext);
    }

    /// <summary>Public-key encryption of zero at a level, e.g. for re-randomisation.</summary>
    public Ciphertext EncryptZero(int level, double scale)
    {
        var ct = new Ciphertext(_ctx, level, scale);
        EncryptZeroInto(ct, level, scale);
        return ct;
    }

    /// <summary>Public-key encryption of zero into <paramref name="destination"/> (reshaped to the level).</summary>
    public void EncryptZeroInto(Ciphertext destination, int level, double scale)
    {
        if (_publicKey is null) throw new InvalidOperationException("this encryptor has no public key; construct it with one");
        _ctx.CheckLevel(level);
        destination.Reshape(level, scale);
        int n = _ctx.N, k = level + 2;
        int[] primeIdx = new int[k];
        for (int i = 0; i <= level; i++) primeIdx[i] = i;
        primeIdx[k - 1] = _ctx.SpecialIndex;
        ulong[] bufArr = ArrayPool<ulong>.Shared.Rent(3 * k * n);
        long[] noise = ArrayPool<long>.Shared.Rent(n);
        sbyte[] ternary = ArrayPool<sbyte>.Shared.Rent(n);
        try
        {
            Span<ulong> u = bufArr.AsSpan(0, k * n), c0 = bufArr.AsSpan(k * n, k * n), c1 = bufArr.AsSpan(2 * k * n, k * n);
            using var prng = Prng.CreateRandom();
            Samplers.Ternary(prng, ternary.AsSpan(0, n));
            for (int t = 0; t < k; t++)
            {
                int idx = primeIdx[t];
                Span<ulong> ut = u.Slice(t * n, n);
                Modulus qm = _ctx.Moduli[idx];
                for (int j = 0; j < n; j++) ut[j] = qm.FromTernary(ternary[j]);
                _ctx.Ntt[idx].Forward(ut);
            }
            for (int poly = 0; poly < 2; poly++)
            {
                Span<ulong> c = poly == 0 ? c0 : c1;
                ulong[] key = poly == 0 ? _publicKey.B : _publicKey.A;
                Samplers.Gaussian(prng, Samplers.ErrorStandardDeviation, Samplers.ErrorClipSigmas * Samplers.ErrorStandardDeviation, noise.AsSpan(0, n));
                for (int t = 0; t < k; t++)
                {
                    int idx = primeIdx[t];
                    Modulus q = _ctx.Moduli[idx];
                    Span<ulong> ct = c.Slice(t * n, n);
                    for (int j = 0; j < n; j++) ct[j] = q.FromSigned(noise[j]);
                    _ctx.Ntt[idx].Forward(ct);
                    RnsOps.MultiplyAddPointwise(u.Slice(t * n, n), key.AsSpan(idx * n, n), ct, q);
                }
                RnsOps.DivideRoundByLast(_ctx, c, primeIdx);
                c[..((level + 1) * n)].CopyTo(destination.Poly(poly));
            }
        }
        finally
        {
            Array.Clear(ternary, 0, n);
            ArrayPool<ulong>.Shared.Return(bufArr);
            ArrayPool<long>.Shared.Return(noise);
            ArrayPool<sbyte>.Shared.Return(ternary);
        }
    }

    /// <summary>
    /// Symmetric (secret-key) encryption: c1 = a expanded from a fresh 32-byte seed, c0 = -a*s + e + m. The result
    /// serializes as c0 plus the seed (about half the size of a public-key ciphertext).
    /// </summary>
    public Ciphertext EncryptSymmetric(Plaintext plaintext)
    {
        CheckPlaintext(plaintext);
        var ct = new Ciphertext(_ctx, plaintext.Level, plaintext.Scale);
        EncryptSymmetricInto(plaintext, ct);
        return ct;
    }

    public void EncryptSymmetricInto(Plaintext plaintext, Ciphertext destination)
    {
        if (_secretKey is null) throw new InvalidOperationException("this encryptor has no secret key; construct it with one for symmetric encryption");
        CheckPlaintext(plaintext);
        int level = plaintext.Level, n = _ctx.N;
        destination.Reshape(level, plaintext.Scale);
        byte[] seed = Prng.NewSeed();
        ExpandSeededC1(_ctx, seed, level, destination.C1);
        long[] noise = ArrayPool<long>.Shared.Rent(n);
        try
        {
            using (var prng = Prng.CreateRandom())
                Samplers.Gaussian(prng, Samplers.ErrorStandardDeviation, Samplers.ErrorClipSigmas * Samplers.ErrorStandardDeviation, noise.AsSpan(0, n));
            for (int i = 0; i <= level; i++)
            {
                Modulus q = _ctx.Moduli[i];
                Span<ulong> c0 = destination.Component(0, i);
                ReadOnlySpan<ulong> a = destination.Component(1, i), s = _secretKey.Component(i), m = plaintext.Component(i);
                for (int j = 0; j < n; j++) c0[j] = q.FromSigned(noise[j]);
                _ctx.Ntt[i].Forward(c0);
                for (int j = 0; j < n; j++)
                    c0[j] = q.Add(q.Sub(c0[j], q.Multiply(a[j], s[j])), m[j]);
            }
        }
        finally { ArrayPool<long>.Shared.Return(noise); }
        destination.Seed = seed;
    }

    /// <summary>The uniform c1 (NTT form) of a seeded ciphertext at a level: a prefix of the seed's expansion.</summary>
    internal static void ExpandSeededC1(CkksContext ctx, byte[] seed, int level, Span<ulong> destination)
    {
        using var prng = new Prng(seed);
        Samplers.Uniform(prng, ctx.Moduli.AsSpan(0, level + 1), ctx.N, destination);
    }

    private void CheckPlaintext(Plaintext plaintext)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        if (!plaintext.Context.SameParameters(_ctx)) throw new CkksMismatchException("plaintext belongs to different parameters than this encryptor");
    }

    private void AddPlain(Ciphertext ct, Plaintext p)
    {
        for (int i = 0; i <= ct.Level; i++) RnsOps.AddInto(ct.Component(0, i), p.Component(i), _ctx.Moduli[i]);
    }
}
