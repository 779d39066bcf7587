namespace Federated.Crypto.Ckks;

/// <summary>
/// A CKKS ciphertext (c0, c1) in RNS/NTT form at a level; decryption is c0 + c1*s. A symmetric encryption keeps the
/// 32-byte seed of its uniform c1 so it serializes compactly; any operation that changes c1 drops the seed.
/// </summary>
public sealed class Ciphertext
{
    public CkksContext Context { get; }
    public int Level { get; private set; }
    public double Scale { get; set; }
    internal ulong[] Buffer { get; private set; }
    /// <summary>Seed that regenerates c1, or null when c1 is not (any longer) the seeded uniform polynomial.</summary>
    internal byte[]? Seed { get; set; }

    public Ciphertext(CkksContext context, int level, double scale)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.CheckLevel(level);
        Context = context;
        Level = level;
        Scale = scale;
        Buffer = new ulong[2 * (level + 1) * context.N];
    }

    public int PrimeCount => Level + 1;
    public bool IsSeeded => Seed is not null;
    internal int PolyLength => PrimeCount * Context.N;
    public Span<ulong> C0 => Buffer.AsSpan(0, PolyLength);
    public Span<ulong> C1 => Buffer.AsSpan(PolyLength, PolyLength);
    public Span<ulong> Poly(int index) => index == 0 ? C0 : C1;
    public Span<ulong> Component(int poly, int prime) => Buffer.AsSpan(poly * PolyLength + prime * Context.N, Context.N);

    internal void Reshape(int level, double scale)
    {
        Context.CheckLevel(level);
        int need = 2 * (level + 1) * Context.N;
        if (Buffer.Length < need) Buffer = new ulong[need];
        Level = level;
        Scale = scale;
        Seed = null;
    }

    /// <summary>Keeps the first level+1 components of each polynomial (moves c1 down in place).</summary>
    internal void TruncateToLevel(int level)
    {
        int n = Context.N;
        int oldLen = PolyLength, newLen = (level + 1) * n;
        Buffer.AsSpan(oldLen, newLen).CopyTo(Buffer.AsSpan(newLen, newLen));
        Level = level;
        // A seeded c1 truncated is still the prefix of the same seeded expansion.
    }

    public Ciphertext Clone()
    {
        var c = new Ciphertext(Context, Level, Scale);
        Buffer.AsSpan(0, 2 * PolyLength).CopyTo(c.Buffer);
        c.Seed = Seed?.ToArray();
        return c;
    }

    public void CopyTo(Ciphertext destination)
    {
        if (!Context.SameParameters(destination.Context)) throw new CkksMismatchException("ciphertexts belong to different parameters");
        destination.Reshape(Level, Scale);
        Buffer.AsSpan(0, 2 * PolyLength).CopyTo(destination.Buffer);
        destination.Seed = Seed?.ToArray();
    }
}
