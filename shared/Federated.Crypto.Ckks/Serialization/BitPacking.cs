using System.Buffers.Binary;

namespace Federated.Crypto.Ckks.Serialization;

/// <summary>Packs residues mod q into exactly ceil(count * bits / 8) bytes, little-endian bit order.</summary>
internal static class BitPacking
{
    public static int PackedSize(int count, int bits) => (int)(((long)count * bits + 7) / 8);

    public static void Pack(ReadOnlySpan<ulong> values, int bits, Span<byte> destination)
    {
        int pos = 0, nb = 0;
        ulong acc = 0;
        foreach (ulong v in values)
        {
            acc |= v << nb;
            if (nb + bits >= 64)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(destination.Slice(pos, 8), acc);
                pos += 8;
                int used = 64 - nb;
                acc = v >> used;
                nb = nb + bits - 64;
            }
            else nb += bits;
        }
        for (int b = 0; b < (nb + 7) / 8; b++) destination[pos++] = (byte)(acc >> (8 * b));
    }

    /// <summary>Unpacks and checks every value against <paramref name="modulus"/>; returns the index of the first
    /// value that is out of range, or -1.</summary>
    public static int Unpack(ReadOnlySpan<byte> source, int bits, ulong modulus, Span<ulong> destination)
    {
        ulong mask = (1UL << bits) - 1;
        int pos = 0, nb = 0, bad = -1;
        ulong acc = 0;
        for (int i = 0; i < destination.Length; i++)
        {
            ulong v;
            if (nb >= bits)
            {
                v = acc & mask;
                acc >>= bits;
                nb -= bits;
            }
            else
            {
                ulong next;
                if (source.Length - pos >= 8) { next = BinaryPrimitives.ReadUInt64LittleEndian(source.Slice(pos, 8)); pos += 8; }
                else
                {
                    next = 0;
                    for (int b = 0; pos < source.Length; b++) next |= (ulong)source[pos++] << (8 * b);
                }
                v = (acc | (next << nb)) & mask;
                int take = bits - nb;
                acc = next >> take;
                nb = 64 - take;
            }
            if (v >= modulus && bad < 0) bad = i;
            destination[i] = v;
        }
        return bad;
    }
}
