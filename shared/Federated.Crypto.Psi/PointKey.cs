using System.Buffers.Binary;

namespace Federated.Crypto.Psi;

/// <summary>A 32-byte group element encoding as four big-endian words, so that ordering matches byte order.</summary>
internal readonly record struct PointKey(ulong W0, ulong W1, ulong W2, ulong W3) : IComparable<PointKey>
{
    public static PointKey From(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt64BigEndian(b),
        BinaryPrimitives.ReadUInt64BigEndian(b[8..]),
        BinaryPrimitives.ReadUInt64BigEndian(b[16..]),
        BinaryPrimitives.ReadUInt64BigEndian(b[24..]));

    public void WriteTo(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt64BigEndian(b, W0);
        BinaryPrimitives.WriteUInt64BigEndian(b[8..], W1);
        BinaryPrimitives.WriteUInt64BigEndian(b[16..], W2);
        BinaryPrimitives.WriteUInt64BigEndian(b[24..], W3);
    }

    public int CompareTo(PointKey other)
    {
        int c = W0.CompareTo(other.W0);
        if (c != 0) return c;
        c = W1.CompareTo(other.W1);
        if (c != 0) return c;
        c = W2.CompareTo(other.W2);
        return c != 0 ? c : W3.CompareTo(other.W3);
    }
}

/// <summary>A point with the position it belongs to (an index into a source, or a peer ordinal).</summary>
internal readonly record struct KeyedPoint(PointKey Key, int Position) : IComparable<KeyedPoint>
{
    public int CompareTo(KeyedPoint other) => Key.CompareTo(other.Key);
}
