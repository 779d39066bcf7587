using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Federated.Crypto.Ckks.Arithmetic;

namespace Federated.Crypto.Ckks.Serialization;

/// <summary>
/// Residues mod q stored little-endian in ceil(bits / 8) bytes each (8 for 60-bit primes, 5 for 40-bit, 4 for
/// 30-bit). Byte alignment keeps (de)serialization at memory speed with unaligned 8-byte loads and stores; bit
/// packing saved at most 6% and cost twice the time.
/// </summary>
internal static class BitPacking
{
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
        int safe = n - (8 + width - 1) / width; // values whose 8-byte store stays inside the buffer
        int i = 0;
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
            for (int i = 0; i < n; i++) bad |= Modulus.Carry(destination[i], modulus) ^ 1; // v >= q
        }
        else
        {
            ulong mask = (1UL << (8 * width)) - 1;
            ref byte s = ref MemoryMarshal.GetReference(source);
            int safe = n - (8 + width - 1) / width;
            int i = 0;
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
