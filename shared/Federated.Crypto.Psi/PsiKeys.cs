using System.Security.Cryptography;
using Federated.Crypto.Psi.Native;

namespace Federated.Crypto.Psi;

/// <summary>
/// One party's secret material for an alignment: the blinding scalar and the key of its local ID digests.
/// Kept in pinned arrays and zeroed on dispose; persisted only in the party's own job folder with mode 0600.
/// </summary>
internal sealed unsafe class PsiKeys : IDisposable
{
    public const int IdKeyBytes = 32;
    public const int DigestBytes = 16;

    private PsiKeys(byte[] scalar, byte[] idKey)
    {
        Scalar = scalar;
        IdKey = idKey;
    }

    public byte[] Scalar { get; }
    public byte[] IdKey { get; }

    public static PsiKeys Generate()
    {
        var scalar = GC.AllocateArray<byte>(Ristretto255.ScalarBytes, pinned: true);
        var idKey = GC.AllocateArray<byte>(IdKeyBytes, pinned: true);
        Ristretto255.RandomScalar(scalar);
        RandomNumberGenerator.Fill(idKey);
        return new PsiKeys(scalar, idKey);
    }

    public static PsiKeys FromBytes(ReadOnlySpan<byte> scalar, ReadOnlySpan<byte> idKey)
    {
        if (scalar.Length != Ristretto255.ScalarBytes || idKey.Length != IdKeyBytes) throw new ArgumentException("bad key lengths");
        var s = GC.AllocateArray<byte>(Ristretto255.ScalarBytes, pinned: true);
        var k = GC.AllocateArray<byte>(IdKeyBytes, pinned: true);
        scalar.CopyTo(s);
        idKey.CopyTo(k);
        return new PsiKeys(s, k);
    }

    /// <summary>Keyed BLAKE2b-128 of the ID: recognises IDs of earlier rounds without storing them.</summary>
    public UInt128 Digest(string id)
    {
        int max = System.Text.Encoding.UTF8.GetMaxByteCount(id.Length);
        byte[]? rented = null;
        Span<byte> buf = max <= 1024 ? stackalloc byte[max] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max));
        int n = System.Text.Encoding.UTF8.GetBytes(id, buf);
        Span<byte> digest = stackalloc byte[DigestBytes];
        fixed (byte* o = digest)
        fixed (byte* i = buf)
        fixed (byte* k = IdKey)
        {
            if (Sodium.crypto_generichash(o, DigestBytes, i, (ulong)n, k, IdKeyBytes) != 0)
                throw new CryptographicException("crypto_generichash failed");
        }
        if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(digest);
    }

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(Scalar);
        CryptographicOperations.ZeroMemory(IdKey);
    }
}
