using System.Security.Cryptography;
using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Keys;

namespace Federated.Ckks.Tests;

/// <summary>Shared fixtures: contexts are cached per parameter set so each test class does not regenerate tables.</summary>
internal static class TestSupport
{
    private static readonly Dictionary<string, CkksContext> Contexts = new();

    public static CkksContext Context(int n, params int[] bits)
    {
        string key = n + ":" + string.Join(",", bits);
        lock (Contexts)
        {
            if (!Contexts.TryGetValue(key, out var ctx))
                Contexts[key] = ctx = new CkksContext(EncryptionParameters.Create(n, bits));
            return ctx;
        }
    }

    /// <summary>N=8192 {60,40,40,60}: the SEAL reference set.</summary>
    public static CkksContext Standard8192 => Context(8192, 60, 40, 40, 60);
    /// <summary>N=4096 {39,30,40}: a small fast set (log Q = 109).</summary>
    public static CkksContext Small4096 => Context(4096, 39, 30, 40);
    /// <summary>N=8192 {60,30,30} + special 60: the protocol's sizing (docs/protocol.md §2.7) with a 2^60 input scale.</summary>
    public static CkksContext Protocol8192 => Context(8192, 60, 30, 30, 60);

    /// <summary>Deterministic test data (not key material) from a seeded hash stream.</summary>
    public static double[] RandomValues(int count, double magnitude, int seed)
    {
        var result = new double[count];
        var bytes = new byte[8 * count];
        FillDeterministic(bytes, seed);
        for (int i = 0; i < count; i++)
        {
            ulong u = BitConverter.ToUInt64(bytes, 8 * i) >> 11;
            result[i] = (u * (1.0 / (1UL << 53)) * 2 - 1) * magnitude;
        }
        return result;
    }

    public static void FillDeterministic(Span<byte> destination, int seed)
    {
        Span<byte> block = stackalloc byte[32];
        Span<byte> input = stackalloc byte[8];
        for (int offset = 0, counter = 0; offset < destination.Length; counter++)
        {
            BitConverter.TryWriteBytes(input, seed);
            BitConverter.TryWriteBytes(input[4..], counter);
            SHA256.HashData(input, block);
            int take = Math.Min(32, destination.Length - offset);
            block[..take].CopyTo(destination[offset..]);
            offset += take;
        }
    }

    public static double MaxAbsDiff(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int count)
    {
        double m = 0;
        for (int i = 0; i < count; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }

    public sealed record Keys(CkksContext Context, KeyGenerator Generator, PublicKey PublicKey, Encryptor Encryptor, Decryptor Decryptor, CkksEncoder Encoder, Evaluator Evaluator);

    public static Keys CreateKeys(CkksContext ctx)
    {
        var gen = new KeyGenerator(ctx);
        var pk = gen.CreatePublicKey();
        return new Keys(ctx, gen, pk, new Encryptor(ctx, pk, gen.SecretKey), new Decryptor(ctx, gen.SecretKey), new CkksEncoder(ctx), new Evaluator(ctx));
    }
}
