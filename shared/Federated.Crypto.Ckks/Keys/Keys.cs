using System.Security.Cryptography;

namespace Federated.Crypto.Ckks.Keys;

/// <summary>Ternary secret s in NTT form over all primes (data primes and the special prime).</summary>
public sealed class SecretKey : IDisposable
{
    public CkksContext Context { get; }
    internal ulong[] Data { get; }
    /// <summary>Random identifier of this key pair (not derived from the key), used for release budgets.</summary>
    public Guid KeyId { get; }

    internal SecretKey(CkksContext context, ulong[] data, Guid keyId)
    {
        Context = context;
        Data = data;
        KeyId = keyId;
    }

    internal ReadOnlySpan<ulong> Component(int prime) => Data.AsSpan(prime * Context.N, Context.N);

    public void Dispose() => CryptographicOperations.ZeroMemory(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Data.AsSpan()));
}

/// <summary>Public key (b, a) = (-a*s + e, a) over all primes; a is regenerated from <see cref="Seed"/>.</summary>
public sealed class PublicKey
{
    public CkksContext Context { get; }
    public Guid KeyId { get; }
    internal ulong[] B { get; }
    internal ulong[] A { get; }
    internal byte[] Seed { get; }

    internal PublicKey(CkksContext context, Guid keyId, ulong[] b, ulong[] a, byte[] seed)
    {
        Context = context;
        KeyId = keyId;
        B = b;
        A = a;
        Seed = seed;
    }
}

/// <summary>
/// Key-switching key from s' to s, one RNS digit per data prime j: (b_j, a_j) over all primes with
/// b_j = -a_j*s + e_j + [j == i] * P * s' in component i. Each a_j is regenerated from its seed.
/// </summary>
public sealed class KeySwitchKey
{
    internal ulong[][] B { get; }
    internal ulong[][] A { get; }
    internal byte[][] Seeds { get; }

    internal KeySwitchKey(ulong[][] b, ulong[][] a, byte[][] seeds)
    {
        B = b;
        A = a;
        Seeds = seeds;
    }
}

/// <summary>Galois keys for the rotation steps they were generated for, and only those.</summary>
public sealed class GaloisKeys
{
    public CkksContext Context { get; }
    public Guid KeyId { get; }
    internal Dictionary<int, KeySwitchKey> Keys { get; }

    internal GaloisKeys(CkksContext context, Guid keyId, Dictionary<int, KeySwitchKey> keys)
    {
        Context = context;
        KeyId = keyId;
        Keys = keys;
    }

    public IReadOnlyCollection<int> GaloisElements => Keys.Keys;
    public bool HasStep(int step) => Keys.ContainsKey(Context.GaloisElementForStep(step));
}
