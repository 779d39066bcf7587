using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Federated.Security;

/// <summary>
/// Length-prefixed binary encoding shared by the sealed header and the handshake offer: every variable field is
/// written as a 4-byte big-endian length followed by its bytes, so no two different field lists encode the same.
/// </summary>
internal sealed class CanonicalWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    public CanonicalWriter Bytes(ReadOnlySpan<byte> value)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)value.Length);
        _buffer.Write(length);
        _buffer.Write(value);
        return this;
    }

    public CanonicalWriter Text(string value) => Bytes(Encoding.UTF8.GetBytes(value));

    public CanonicalWriter UInt64(ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        _buffer.Write(bytes);
        return this;
    }

    public CanonicalWriter Int64(long value) => UInt64(unchecked((ulong)value));

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();
}

/// <summary>Reads what <see cref="CanonicalWriter"/> wrote; every failure names the field that was malformed.</summary>
internal ref struct CanonicalReader(ReadOnlySpan<byte> data, string what)
{
    private ReadOnlySpan<byte> _rest = data;
    private readonly string _what = what;

    public ReadOnlySpan<byte> Bytes(string field, int maxLength)
    {
        if (_rest.Length < 4)
            throw new SealingException($"{_what} is truncated: field '{field}' has no length");
        var length = BinaryPrimitives.ReadUInt32BigEndian(_rest);
        if (length > (uint)maxLength)
            throw new SealingException($"{_what}: field '{field}' is {length} bytes; at most {maxLength} are allowed");
        if (_rest.Length - 4 < (int)length)
            throw new SealingException($"{_what} is truncated inside field '{field}' ({length} bytes announced, {_rest.Length - 4} present)");
        var value = _rest.Slice(4, (int)length);
        _rest = _rest[(4 + (int)length)..];
        return value;
    }

    public string Text(string field, int maxLength)
    {
        var bytes = Bytes(field, maxLength);
        try { return new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException)
        {
            throw new SealingException($"{_what}: field '{field}' is not valid UTF-8");
        }
    }

    public readonly void End()
    {
        if (_rest.Length != 0)
            throw new SealingException($"{_what} has {_rest.Length} unexpected trailing bytes");
    }
}
