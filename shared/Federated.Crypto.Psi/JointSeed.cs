using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Federated.Crypto.Psi;

/// <summary>
/// The seed both parties contribute to: each commits to SHA-256(label || nonce || share), and reveals only after it
/// has seen the other's commitment, so neither can choose the seed. It orders batches per epoch.
/// </summary>
public static class JointSeed
{
    public const int ShareBytes = 32;

    internal static byte[] Commit(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> share) => Sha256("federated-psi/seed-commit/v1"u8, nonce, share);

    /// <summary>seed = SHA-256(label || M's share || E's share); both parties get the same bytes.</summary>
    internal static byte[] Combine(ReadOnlySpan<byte> musicShare, ReadOnlySpan<byte> externalShare) =>
        Sha256("federated-psi/seed/v1"u8, musicShare, externalShare);

    private static byte[] Sha256(ReadOnlySpan<byte> label, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(label);
        h.AppendData(first);
        h.AppendData(second);
        return h.GetHashAndReset();
    }

    /// <summary>
    /// The row order of one epoch: a permutation of [0, rows) from the joint seed (SHA-256 in counter mode,
    /// unbiased bounded draws, Fisher-Yates). Both parties compute the same permutation.
    /// </summary>
    public static int[] EpochPermutation(ReadOnlySpan<byte> seed, int epoch, int rows)
    {
        if (seed.Length != 32) throw new ArgumentException("the joint seed is 32 bytes", nameof(seed));
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        var perm = new int[rows];
        for (int i = 0; i < rows; i++) perm[i] = i;
        var stream = new CounterStream(seed, epoch);
        for (int i = rows - 1; i > 0; i--)
        {
            int j = (int)stream.Below((uint)(i + 1));
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        return perm;
    }

    private sealed class CounterStream(ReadOnlySpan<byte> seed, int epoch)
    {
        private readonly byte[] _key = seed.ToArray();
        private readonly byte[] _block = new byte[32];
        private int _used = 32;
        private ulong _counter;

        private uint Next()
        {
            if (_used == 32)
            {
                Span<byte> input = stackalloc byte[4 + 8];
                BinaryPrimitives.WriteInt32BigEndian(input, epoch);
                BinaryPrimitives.WriteUInt64BigEndian(input[4..], _counter++);
                HMACSHA256.HashData(_key, input, _block);
                _used = 0;
            }
            uint v = BinaryPrimitives.ReadUInt32LittleEndian(_block.AsSpan(_used));
            _used += 4;
            return v;
        }

        /// <summary>Uniform in [0, bound) by rejection sampling.</summary>
        public uint Below(uint bound)
        {
            uint limit = uint.MaxValue - uint.MaxValue % bound;
            while (true)
            {
                uint v = Next();
                if (v < limit) return v % bound;
            }
        }
    }
}
