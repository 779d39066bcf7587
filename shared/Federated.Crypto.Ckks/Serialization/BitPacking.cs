using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Federated.Crypto.Ckks.Arithmetic;

namespace Federated.Crypto.Ckks.Serialization;

/// <summary>
/// Residues mod q stored little-endian in ceil(bits / 8) bytes each (8 for 60-bit primes, 5 for 40-bit, 4 for
/// 30-bit). Byte alignment keeps (de)serialization at memory speed with unaligned 8-byte loads and stores; bit
/// packing saved at most 6% and cost twice the time.
/// </summary>
internal static class BitPacking
{
    /// <summary>Whether the byte-permute (AVX-512 VBMI) loops run; the scalar loops are their reference.</summary>
    internal static bool UsesVectorKernels => Avx512Vbmi.IsSupported && Simd.IsSupported;

    /// <summary>Per width 1..7: the byte permute packing eight 8-byte values into 8 * width bytes, the one spreading
    /// them back, and the mask keeping each value's low width bytes.</summary>
    private static readonly (Vector512<byte> Pack, Vector512<byte> Unpack, Vector512<ulong> Mask)[] Permutes = BuildPermutes();

    private static (Vector512<byte>, Vector512<byte>, Vector512<ulong>)[] BuildPermutes()
    {
        var result = new (Vector512<byte>, Vector512<byte>, Vector512<ulong>)[8];
        for (int w = 1; w < 8; w++)
        {
            byte[] pack = new byte[64], unpack = new byte[64];
            for (int b = 0; b < 8 * w; b++) pack[b] = (byte)(b / w * 8 + b % w);
            for (int b = 0; b < 64; b++) unpack[b] = (byte)(b % 8 < w ? b / 8 * w + b % 8 : 0);
            result[w] = (Vector512.Create(pack), Vector512.Create(unpack), Vector512.Create((1UL << (8 * w)) - 1));
        }
        return result;
    }

    public static int BytesPerValue(int bits) => (bits + 7) / 8;

    public static int PackedSize(int count, int bits) => count * BytesPerValue(bits);

    public static void Pack(ReadOnlySpan<ulong> values, int bits, Span<byte> destination)
    {
        int width = BytesPerValue(bits), n = values.Length;
        if (width == 8)
        {
            MemoryMarshal.AsBytes(values).CopyTo(destination);
            return;
        }
        ref byte d = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        if (UsesVectorKernels)
        {
            // Eight values per 64-byte store; the store's last 64 - 8 * width bytes are overwritten by the next one.
            var permute = Permutes[width].Pack;
            ref ulong v0 = ref MemoryMarshal.GetReference(values);
            for (; i + 8 <= n && i * width + 64 <= destination.Length; i += 8)
                Avx512Vbmi.PermuteVar64x8(Vector512.LoadUnsafe(ref v0, (nuint)i).AsByte(), permute).StoreUnsafe(ref d, (nuint)(i * width));
        }
        int safe = n - (8 + width - 1) / width; // values whose 8-byte store stays inside the buffer
        for (; i < safe; i++) Unsafe.WriteUnaligned(ref Unsafe.Add(ref d, i * width), values[i]);
        for (; i < n; i++)
        {
            ulong v = values[i];
            for (int b = 0; b < width; b++) destination[i * width + b] = (byte)(v >> (8 * b));
        }
    }

    /// <summary>Unpacks and checks every value against <paramref name="modulus"/>; returns the index of the first
    /// value that is out of range, or -1.</summary>
    public static int Unpack(ReadOnlySpan<byte> source, int bits, ulong modulus, Span<ulong> destination)
    {
        int width = BytesPerValue(bits), n = destination.Length;
        ulong bad = 0;
        if (width == 8)
        {
            source[..(8 * n)].CopyTo(MemoryMarshal.AsBytes(destination));
            int i = 0;
            if (UsesVectorKernels)
            {
                var vq = Vector512.Create(modulus);
                var anyBad = Vector512<ulong>.Zero;
                ref ulong d0 = ref MemoryMarshal.GetReference(destination);
                for (; i + 8 <= n; i += 8) anyBad |= Vector512.GreaterThanOrEqual(Vector512.LoadUnsafe(ref d0, (nuint)i), vq);
                if (anyBad != Vector512<ulong>.Zero) bad = 1;
            }
            for (; i < n; i++) bad |= Modulus.Carry(destination[i], modulus) ^ 1; // v >= q
        }
        else
        {
            ulong mask = (1UL << (8 * width)) - 1;
            ref byte s = ref MemoryMarshal.GetReference(source);
            int i = 0;
            if (UsesVectorKernels)
            {
                var (_, permute, vmask) = Permutes[width];
                var vq = Vector512.Create(modulus);
                var anyBad = Vector512<ulong>.Zero;
                ref ulong d0 = ref MemoryMarshal.GetReference(destination);
                for (; i + 8 <= n && i * width + 64 <= source.Length; i += 8)
                {
                    var v = Avx512Vbmi.PermuteVar64x8(Vector512.LoadUnsafe(ref s, (nuint)(i * width)), permute).AsUInt64() & vmask;
                    v.StoreUnsafe(ref d0, (nuint)i);
                    anyBad |= Vector512.GreaterThanOrEqual(v, vq);
                }
                if (anyBad != Vector512<ulong>.Zero) bad = 1;
            }
            int safe = n - (8 + width - 1) / width;
            for (; i < safe; i++)
            {
                ulong v = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref s, i * width)) & mask;
                destination[i] = v;
                bad |= Modulus.Carry(v, modulus) ^ 1;
            }
            for (; i < n; i++)
            {
                ulong v = 0;
                for (int b = 0; b < width; b++) v |= (ulong)source[i * width + b] << (8 * b);
                destination[i] = v;
                bad |= Modulus.Carry(v, modulus) ^ 1;
            }
        }
        if (bad == 0) return -1;
        for (int i = 0; i < n; i++) if (destination[i] >= modulus) return i;
        return -1;
    }
}
