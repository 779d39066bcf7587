namespace Federated.Crypto.Ckks;

/// <summary>
/// A ring element in RNS and NTT form at a level (level + 1 data primes), with the CKKS scale of the message it
/// encodes. Also the shape of a decrypted (raw) share.
/// </summary>
public sealed class Plaintext
{
    public CkksContext Context { get; }
    public int Level { get; private set; }
    public double Scale { get; set; }
    /// <summary>Component i (prime i) occupies [i*N, (i+1)*N).</summary>
    internal ulong[] Buffer { get; private set; }

    public Plaintext(CkksContext context, int level, double scale)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.CheckLevel(level);
        Context = context;
        Level = level;
        Scale = scale;
        Buffer = new ulong[(level + 1) * context.N];
    }

    public int PrimeCount => Level + 1;
    public Span<ulong> Data => Buffer.AsSpan(0, PrimeCount * Context.N);
    public Span<ulong> Component(int prime) => Buffer.AsSpan(prime * Context.N, Context.N);

    /// <summary>Reuses the buffer for another level (grows it if needed); contents become undefined.</summary>
    internal void Reshape(int level, double scale)
    {
        Context.CheckLevel(level);
        int need = (level + 1) * Context.N;
        if (Buffer.Length < need) Buffer = new ulong[need];
        Level = level;
        Scale = scale;
    }

    /// <summary>Drops primes above the given level (no division): the same value modulo fewer primes.</summary>
    public void DropToLevel(int level)
    {
        if (level > Level) throw new CkksMismatchException($"cannot raise a plaintext from level {Level} to {level}");
        Context.CheckLevel(level);
        Level = level;
    }

    public Plaintext Clone()
    {
        var p = new Plaintext(Context, Level, Scale);
        Data.CopyTo(p.Data);
        return p;
    }
}
