using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Federated.Crypto.Psi.Native;

namespace Federated.Crypto.Psi;

/// <summary>
/// The group operations of the PSI, all done by libsodium: hash-to-group with a job-specific domain separator,
/// scalar multiplication, random scalars. Points and scalars are 32-byte canonical encodings.
/// </summary>
public static unsafe class Ristretto255
{
    public const int PointBytes = Sodium.PointBytes;
    public const int ScalarBytes = Sodium.ScalarBytes;

    private static readonly byte[] HashLabel = "federated-psi/hash-to-ristretto255/v1"u8.ToArray();
    private const int MaxIdBytes = 4096;

    /// <summary>
    /// The prefix hashed before every ID: label || u32 length of the domain || domain. Length-prefixing keeps
    /// (domain, id) pairs unambiguous, so two jobs with different domains never share a hash.
    /// </summary>
    public static byte[] DomainPrefix(string domain)
    {
        ArgumentException.ThrowIfNullOrEmpty(domain);
        byte[] d = Encoding.UTF8.GetBytes(domain);
        var prefix = new byte[HashLabel.Length + 4 + d.Length];
        HashLabel.CopyTo(prefix, 0);
        BinaryPrimitives.WriteUInt32BigEndian(prefix.AsSpan(HashLabel.Length), (uint)d.Length);
        d.CopyTo(prefix, HashLabel.Length + 4);
        return prefix;
    }

    /// <summary>H(id) = ristretto255_from_hash(SHA-512(prefix || UTF-8(id))).</summary>
    public static void HashToGroup(ReadOnlySpan<byte> domainPrefix, string id, Span<byte> point)
    {
        Sodium.EnsureInitialised();
        if (point.Length != PointBytes) throw new ArgumentException("point buffer must be 32 bytes", nameof(point));
        int idBytes = Encoding.UTF8.GetByteCount(id);
        if (idBytes > MaxIdBytes) throw new ArgumentException($"ID longer than {MaxIdBytes} UTF-8 bytes", nameof(id));
        int total = domainPrefix.Length + idBytes;
        byte[]? rented = null;
        Span<byte> input = total <= 1024 ? stackalloc byte[total] : (rented = ArrayPool<byte>.Shared.Rent(total)).AsSpan(0, total);
        try
        {
            domainPrefix.CopyTo(input);
            Encoding.UTF8.GetBytes(id, input[domainPrefix.Length..]);
            Span<byte> digest = stackalloc byte[Sodium.HashBytes];
            SHA512.HashData(input, digest);
            fixed (byte* p = point)
            fixed (byte* r = digest)
            {
                if (Sodium.crypto_core_ristretto255_from_hash(p, r) != 0)
                    throw new CryptographicException("crypto_core_ristretto255_from_hash failed");
            }
            CryptographicOperations.ZeroMemory(digest);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>result = scalar·point. False if <paramref name="point"/> is not a valid encoding or the result is the identity.</summary>
    public static bool TryMultiply(ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> point, Span<byte> result)
    {
        Sodium.EnsureInitialised();
        if (scalar.Length != ScalarBytes || point.Length != PointBytes || result.Length != PointBytes)
            throw new ArgumentException("scalar, point and result must be 32 bytes each");
        fixed (byte* q = result)
        fixed (byte* n = scalar)
        fixed (byte* p = point)
            return Sodium.crypto_scalarmult_ristretto255(q, n, p) == 0;
    }

    /// <summary>A uniformly random non-zero scalar from libsodium's CSPRNG.</summary>
    public static void RandomScalar(Span<byte> scalar)
    {
        Sodium.EnsureInitialised();
        if (scalar.Length != ScalarBytes) throw new ArgumentException("scalar buffer must be 32 bytes", nameof(scalar));
        fixed (byte* r = scalar) Sodium.crypto_core_ristretto255_scalar_random(r);
    }

    /// <summary>True if the 32 bytes are the canonical encoding of a group element.</summary>
    public static bool IsValidPoint(ReadOnlySpan<byte> point)
    {
        Sodium.EnsureInitialised();
        if (point.Length != PointBytes) return false;
        fixed (byte* p = point) return Sodium.crypto_core_ristretto255_is_valid_point(p) == 1;
    }

    /// <summary>Maps a 64-byte uniform string to a point (exposed for known-answer tests of the native binding).</summary>
    public static void FromHash(ReadOnlySpan<byte> hash64, Span<byte> point)
    {
        Sodium.EnsureInitialised();
        if (hash64.Length != Sodium.HashBytes || point.Length != PointBytes) throw new ArgumentException("need 64 input and 32 output bytes");
        fixed (byte* p = point)
        fixed (byte* r = hash64)
            if (Sodium.crypto_core_ristretto255_from_hash(p, r) != 0) throw new CryptographicException("from_hash failed");
    }
}
