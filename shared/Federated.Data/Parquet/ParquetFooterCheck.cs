using System.Buffers.Binary;

namespace Federated.Data.Parquet;

/// <summary>
/// Checks that a Parquet file's footer (the Thrift compact-protocol FileMetaData before the trailing length and
/// "PAR1") is whole before the Parquet library decodes it: every field, string, list and map it declares must lie
/// within the footer, and nesting is bounded. A truncated or corrupt footer is refused with
/// <see cref="InvalidDataException"/>, instead of reaching the library's varint reader, which loops forever when a
/// footer ends inside a varint.
/// </summary>
internal static class ParquetFooterCheck
{
    private const int MaxDepth = 64;
    private const int MaxFooterBytes = 256 << 20;

    public static async Task CheckAsync(FileStream stream, CancellationToken ct)
    {
        var length = stream.Length;
        if (length < 12)
            throw new InvalidDataException($"{length} bytes is too short for a Parquet file (magic, footer length, magic)");
        var tail = new byte[8];
        stream.Position = length - 8;
        await stream.ReadExactlyAsync(tail, ct).ConfigureAwait(false);
        if (tail[4] != 'P' || tail[5] != 'A' || tail[6] != 'R' || tail[7] != '1')
            throw new InvalidDataException("the file does not end with the Parquet magic 'PAR1'");
        var footerLength = BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (footerLength <= 0 || footerLength > length - 12 || footerLength > MaxFooterBytes)
            throw new InvalidDataException($"the footer length {footerLength} does not fit a file of {length} bytes");
        var footer = new byte[footerLength];
        stream.Position = length - 8 - footerLength;
        await stream.ReadExactlyAsync(footer, ct).ConfigureAwait(false);
        stream.Position = 0;
        var at = 0;
        SkipStruct(footer, ref at, 0);
    }

    private static void SkipStruct(ReadOnlySpan<byte> data, ref int at, int depth)
    {
        if (depth > MaxDepth)
            throw new InvalidDataException($"the footer nests deeper than {MaxDepth} structures");
        while (true)
        {
            var header = Byte(data, ref at);
            var type = header & 0x0F;
            if (type == 0)
                return; // stop field
            if (header >> 4 == 0)
                VarInt(data, ref at); // long-form field id (zigzag i16)
            SkipValue(data, ref at, type, depth);
        }
    }

    private static void SkipValue(ReadOnlySpan<byte> data, ref int at, int type, int depth)
    {
        switch (type)
        {
            case 1 or 2: break;                    // boolean true / false, in the field header
            case 3: Byte(data, ref at); break;     // byte
            case 4 or 5 or 6: VarInt(data, ref at); break; // i16, i32, i64
            case 7: Skip(data, ref at, 8); break;  // double
            case 8: Skip(data, ref at, Length(data, ref at)); break; // binary / string
            case 9 or 10:                          // list, set
            {
                var header = Byte(data, ref at);
                long count = header >> 4;
                if (count == 15) count = Length(data, ref at);
                var element = header & 0x0F;
                SkipElements(data, ref at, element, count, depth);
                break;
            }
            case 11:                               // map
            {
                var count = Length(data, ref at);
                if (count == 0) break;
                var types = Byte(data, ref at);
                for (long i = 0; i < count; i++)
                {
                    SkipElement(data, ref at, types >> 4, depth);
                    SkipElement(data, ref at, types & 0x0F, depth);
                }
                break;
            }
            case 12: SkipStruct(data, ref at, depth + 1); break;
            default: throw new InvalidDataException($"the footer has a field of unknown type {type} at byte {at}");
        }
    }

    private static void SkipElements(ReadOnlySpan<byte> data, ref int at, int element, long count, int depth)
    {
        if (count > data.Length - at && element != 12)
            throw new InvalidDataException($"the footer declares a list of {count} elements with {data.Length - at} bytes left");
        for (long i = 0; i < count; i++)
            SkipElement(data, ref at, element, depth);
    }

    // In a list or map a boolean takes a byte of its own.
    private static void SkipElement(ReadOnlySpan<byte> data, ref int at, int type, int depth)
    {
        if (type is 1 or 2) Byte(data, ref at);
        else SkipValue(data, ref at, type, depth);
    }

    private static int Byte(ReadOnlySpan<byte> data, ref int at)
    {
        if (at >= data.Length)
            throw new InvalidDataException($"the footer ends inside a value (at byte {at} of {data.Length})");
        return data[at++];
    }

    private static ulong VarInt(ReadOnlySpan<byte> data, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = Byte(data, ref at);
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
        throw new InvalidDataException($"the footer has a varint longer than 10 bytes at byte {at}");
    }

    private static int Length(ReadOnlySpan<byte> data, ref int at)
    {
        var value = VarInt(data, ref at);
        if (value > (ulong)(data.Length - at) && value > int.MaxValue)
            throw new InvalidDataException($"the footer declares a length of {value} at byte {at}");
        return (int)Math.Min(value, int.MaxValue);
    }

    private static void Skip(ReadOnlySpan<byte> data, ref int at, int bytes)
    {
        if (bytes < 0 || bytes > data.Length - at)
            throw new InvalidDataException($"the footer declares {bytes} bytes at byte {at} with {data.Length - at} left");
        at += bytes;
    }
}
