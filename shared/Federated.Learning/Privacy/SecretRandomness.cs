using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Federated.Crypto.Ckks.Sampling;
using static TorchSharp.torch;

namespace Federated.Learning.Privacy;

/// <summary>
/// A party's secret randomness: the label-DP noise, E's gradient mask Ξ, the initial weight halves. One 256-bit key
/// from the OS CSPRNG per role; every draw is named by a purpose and an index (the step), and expands
/// HMAC-SHA-256(key, purpose, index) with AES-256-CTR (<see cref="Prng"/>), so a role resumed from its checkpoint
/// redraws exactly what the interrupted run drew for the same step and never draws anything twice.
/// <para>
/// Gaussians are sampled to resist floating-point attacks on the noise: each value is the sum of four independent
/// Box–Muller draws from 53-bit uniforms, divided by two (the same distribution, N(0, σ²)), as in Holohan and Braghin,
/// "Secure Random Sampling in Differential Privacy" (ESORICS 2021) and Opacus' secure mode; no value comes from a
/// seedable or non-cryptographic generator.
/// </para>
/// <para>
/// <see cref="FromFixedSeed"/> derives the key from a 64-bit seed instead, for reproducible test runs only: anyone who
/// knows the seed can recompute every draw, so such a job is INSECURE and says so.
/// </para>
/// </summary>
public sealed class SecretRandomness
{
    public const int KeyBytes = 32;
    private const string Domain = "federated.secret-randomness.v1";
    private const string FixedSeedDomain = "federated.secret-randomness.fixed-seed.v1";
    private const int SamplesPerValue = 4;

    private readonly byte[] _key;

    private SecretRandomness(byte[] key, bool isFixed)
    {
        if (key.Length != KeyBytes) throw new ArgumentException($"a secret randomness key is {KeyBytes} bytes, got {key.Length}", nameof(key));
        _key = key;
        IsFixedSeed = isFixed;
    }

    /// <summary>A fresh key from the OS CSPRNG (every real job).</summary>
    public static SecretRandomness Fresh() => new(RandomNumberGenerator.GetBytes(KeyBytes), false);

    /// <summary>INSECURE: the key derived from a 64-bit seed, so two runs with the same seed draw the same values.</summary>
    public static SecretRandomness FromFixedSeed(ulong seed)
    {
        Span<byte> input = stackalloc byte[FixedSeedDomain.Length + 8];
        Encoding.ASCII.GetBytes(FixedSeedDomain, input);
        BinaryPrimitives.WriteUInt64BigEndian(input[FixedSeedDomain.Length..], seed);
        return new(SHA256.HashData(input), true);
    }

    /// <summary>True when the key came from a seed (reproducible, insecure).</summary>
    public bool IsFixedSeed { get; }

    /// <summary>Values of N(0, std²) for one purpose and index, as a new float64 tensor of <paramref name="shape"/>.</summary>
    public Tensor Gaussian(string purpose, ulong index, long[] shape, double std)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var s in shape) count = checked(count * s);
        var values = new double[count];
        FillGaussian(purpose, index, values, std);
        var result = empty(shape, ScalarType.Float64);
        result.data<double>().CopyFrom(values); // a copy: the tensor never aliases managed memory
        return result;
    }

    /// <summary>Fills <paramref name="destination"/> with N(0, std²) values for one purpose and index.</summary>
    public void FillGaussian(string purpose, ulong index, Span<double> destination, double std)
    {
        if (!(std >= 0) || !double.IsFinite(std)) throw new ArgumentOutOfRangeException(nameof(std), std, "standard deviation must be finite and non-negative");
        using var prng = StreamFor(purpose, index);
        double scale = std / Math.Sqrt(SamplesPerValue);
        int i = 0;
        while (i < destination.Length)
        {
            // Two values per pass from four uniform pairs: the cosine halves of the four Box–Muller draws sum to one, the sine halves to the other.
            double a = 0, b = 0;
            for (int k = 0; k < SamplesPerValue; k++)
            {
                double u1 = prng.NextDoubleOpen(), u2 = prng.NextDoubleOpen();
                double r = Math.Sqrt(-2.0 * Math.Log(u1));
                var (sin, cos) = Math.SinCos(2.0 * Math.PI * u2);
                a += r * cos;
                b += r * sin;
            }
            destination[i++] = a * scale;
            if (i < destination.Length) destination[i++] = b * scale;
        }
    }

    private Prng StreamFor(string purpose, ulong index)
    {
        ArgumentException.ThrowIfNullOrEmpty(purpose);
        var label = Encoding.UTF8.GetBytes(purpose);
        var input = new byte[4 + Domain.Length + 4 + label.Length + 8];
        int pos = 0;
        BinaryPrimitives.WriteInt32BigEndian(input.AsSpan(pos), Domain.Length); pos += 4;
        Encoding.ASCII.GetBytes(Domain, input.AsSpan(pos)); pos += Domain.Length;
        BinaryPrimitives.WriteInt32BigEndian(input.AsSpan(pos), label.Length); pos += 4;
        label.CopyTo(input, pos); pos += label.Length;
        BinaryPrimitives.WriteUInt64BigEndian(input.AsSpan(pos), index);
        Span<byte> subkey = stackalloc byte[KeyBytes];
        HMACSHA256.HashData(_key, input, subkey);
        var prng = new Prng(subkey);
        CryptographicOperations.ZeroMemory(subkey);
        return prng;
    }

    /// <summary>What the party's own checkpoint keeps (owner-only file), so a resumed role draws the same values.</summary>
    internal sealed record Saved(string Key, bool FixedSeed);

    internal Saved Export() => new(Convert.ToBase64String(_key), IsFixedSeed);

    internal static SecretRandomness Restore(Saved? saved, string file)
    {
        if (saved is null || string.IsNullOrEmpty(saved.Key))
            throw new InvalidDataException($"{file} holds no secret randomness key (a checkpoint from an older version); start the training job afresh");
        byte[] key;
        try { key = Convert.FromBase64String(saved.Key); }
        catch (FormatException) { throw new InvalidDataException($"{file}: the secret randomness key is not base64"); }
        if (key.Length != KeyBytes) throw new InvalidDataException($"{file}: the secret randomness key is {key.Length} bytes; expected {KeyBytes}");
        return new SecretRandomness(key, saved.FixedSeed);
    }
}
