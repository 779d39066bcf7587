using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Federated.Crypto.Ckks.Sampling;

/// <summary>
/// Deterministic cryptographic stream: AES-256 in counter mode keyed by a 32-byte seed (AES-NI through the platform's
/// crypto library). The same seed always expands to the same stream, which is how a seeded ciphertext's uniform half
/// and a seeded key's uniform part travel as 32 bytes. Fresh seeds come from the OS CSPRNG.
/// </summary>
public sealed class Prng : IDisposable
{
    public const int SeedSize = 32;
    private const int BufferBlocks = 512; // 8 KiB of keystream per refill

    private readonly Aes _aes;
    private readonly byte[] _counter = new byte[BufferBlocks * 16];
    private readonly byte[] _buffer = new byte[BufferBlocks * 16];
    private int _position;
    private ulong _blockIndex;

    public Prng(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize) throw new ArgumentException($"PRNG seed must be {SeedSize} bytes, got {seed.Length}", nameof(seed));
        _aes = Aes.Create();
        _aes.Key = seed.ToArray();
        _position = _buffer.Length;
    }

    /// <summary>A PRNG seeded from the OS CSPRNG.</summary>
    public static Prng CreateRandom()
    {
        Span<byte> seed = stackalloc byte[SeedSize];
        RandomNumberGenerator.Fill(seed);
        var prng = new Prng(seed);
        CryptographicOperations.ZeroMemory(seed);
        return prng;
    }

    public static byte[] NewSeed() => RandomNumberGenerator.GetBytes(SeedSize);

    private void Refill()
    {
        for (int b = 0; b < BufferBlocks; b++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_counter.AsSpan(b * 16), _blockIndex++);
            BinaryPrimitives.WriteUInt64LittleEndian(_counter.AsSpan(b * 16 + 8), 0);
        }
        _aes.EncryptEcb(_counter, _buffer, PaddingMode.None);
        _position = 0;
    }

    public void Fill(Span<byte> destination)
    {
        while (destination.Length > 0)
        {
            if (_position == _buffer.Length) Refill();
            int n = Math.Min(destination.Length, _buffer.Length - _position);
            _buffer.AsSpan(_position, n).CopyTo(destination);
            _position += n;
            destination = destination[n..];
        }
    }

    public ulong NextUInt64()
    {
        if (_buffer.Length - _position < 8) { Span<byte> b = stackalloc byte[8]; Fill(b); return BinaryPrimitives.ReadUInt64LittleEndian(b); }
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(_buffer.AsSpan(_position));
        _position += 8;
        return v;
    }

    /// <summary>Uniform double in (0, 1) with 53 random bits.</summary>
    public double NextDoubleOpen() => ((NextUInt64() >> 11) + 0.5) * (1.0 / (1UL << 53));

    /// <summary>Uniform value in [0, bound) by rejection sampling (no modulo bias).</summary>
    public ulong NextBelow(ulong bound)
    {
        int bits = 64 - System.Numerics.BitOperations.LeadingZeroCount(bound - 1);
        ulong mask = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        while (true)
        {
            ulong v = NextUInt64() & mask;
            if (v < bound) return v;
        }
    }

    public void Dispose()
    {
        _aes.Dispose();
        CryptographicOperations.ZeroMemory(_buffer);
    }
}
