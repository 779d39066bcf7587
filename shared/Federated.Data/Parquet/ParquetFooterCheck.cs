using System.Buffers.Binary;
using static Federated.Data.Parquet.ParquetThriftShapes;

namespace Federated.Data.Parquet;

/// <summary>
/// Checks a Parquet file's footer (the Thrift compact-protocol FileMetaData before the trailing length and "PAR1")
/// before the Parquet library decodes it. The walk reads the footer the way the library's decoders will, and refuses
/// with <see cref="InvalidDataException"/> anything they would misread:
/// <list type="bullet">
/// <item>a value, string, list or map that does not lie within the footer (the library's varint reader loops forever
/// when it reads past the end);</item>
/// <item>a known field whose wire type disagrees with its shape in <see cref="ParquetThriftShapes"/> (the decoders trust
/// the field id and read the declared type);</item>
/// <item>an unknown field the library cannot skip whole (a structure, a list of structures or of booleans, a set or
/// map), and a field header of type 0 that is not the stop byte;</item>
/// <item>a schema whose elements' child counts do not form one tree of bounded depth.</item>
/// </list>
/// </summary>
internal static class ParquetFooterCheck
{
    private const int MaxDepth = 64;
    private const int MaxSchemaDepth = 64;
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
        Check(footer);
    }

    /// <summary>Walks a footer's bytes against the FileMetaData shape; throws on the first disagreement.</summary>
    internal static void Check(ReadOnlySpan<byte> footer)
    {
        var walker = new Walker();
        var at = 0;
        walker.Struct(footer, ref at, FileMetaData, 0);
        CheckSchemaTree(walker.SchemaChildren);
    }

    private static void CheckSchemaTree(List<int> children)
    {
        if (children.Count == 0)
            throw new InvalidDataException("the footer has no schema");
        var open = new Stack<int>();
        for (var i = 0; i < children.Count; i++)
        {
            if (i > 0 && open.Count == 0)
                throw new InvalidDataException($"the schema has {children.Count} elements but its root's tree ends after {i}");
            if (open.Count > 0) open.Push(open.Pop() - 1);
            if (children[i] < 0)
                throw new InvalidDataException($"schema element {i} declares {children[i]} children");
            if (children[i] > 0)
            {
                open.Push(children[i]);
                if (open.Count > MaxSchemaDepth)
                    throw new InvalidDataException($"the schema nests deeper than {MaxSchemaDepth} groups");
            }
            while (open.Count > 0 && open.Peek() == 0) open.Pop();
        }
        if (open.Count > 0)
            throw new InvalidDataException($"the schema's groups declare more children than its {children.Count} elements");
    }

    private sealed class Walker
    {
        /// <summary>num_children of each element of the root schema list, 0 where absent (a leaf).</summary>
        public List<int> SchemaChildren { get; } = [];

        private bool _inSchemaList;

        public void Struct(ReadOnlySpan<byte> data, ref int at, Shape shape, int depth)
        {
            if (depth > MaxDepth)
                throw new InvalidDataException($"the footer nests deeper than {MaxDepth} structures");
            short lastId = 0;
            var schemaElement = _inSchemaList && ReferenceEquals(shape, SchemaElement);
            if (schemaElement) SchemaChildren.Add(0);
            var wasInSchemaList = _inSchemaList;
            _inSchemaList = false;
            while (true)
            {
                var start = at;
                var header = Byte(data, ref at);
                if (header == 0)
                    break; // stop
                var modifier = header >> 4;
                var type = header & 0x0F;
                short id = modifier == 0 ? (short)ZigZag(VarInt32(data, ref at)) : (short)(lastId + modifier);
                lastId = id;
                if (type == 0)
                    throw new InvalidDataException($"{shape.Name} has a field header of type 0 at byte {start}");
                if (shape.Find(id) is { } field)
                {
                    Expect(field, type, shape, start);
                    if (schemaElement && id == NumChildren)
                    {
                        SchemaChildren[^1] = ZigZag(VarInt32(data, ref at));
                        continue;
                    }
                    _inSchemaList = ReferenceEquals(field, SchemaList) && depth == 0;
                    Value(data, ref at, field, depth);
                    _inSchemaList = false;
                }
                else
                {
                    SkipUnknown(data, ref at, type, shape, id, start);
                }
            }
            _inSchemaList = wasInSchemaList;
        }

        private void Value(ReadOnlySpan<byte> data, ref int at, Field field, int depth)
        {
            switch (field.Kind)
            {
                case Kind.Bool: break; // in the field header
                case Kind.I8: Byte(data, ref at); break;
                case Kind.I16 or Kind.I32: VarInt32(data, ref at); break;
                case Kind.I64: VarInt64(data, ref at); break;
                case Kind.Double: Skip(data, ref at, 8); break;
                case Kind.Binary: Skip(data, ref at, Length(data, ref at)); break;
                case Kind.Struct: Struct(data, ref at, field.Struct!, depth + 1); break;
                case Kind.List:
                {
                    var start = at;
                    var (count, elementType) = ListHeader(data, ref at);
                    var element = field.Element!;
                    if (count > 0 && elementType != WireType(element.Kind) && !(element.Kind == Kind.Bool && elementType == 2))
                        throw new InvalidDataException(
                            $"list '{field.Name}' at byte {start} holds elements of wire type {elementType}, not {element.Kind}");
                    var inSchema = _inSchemaList;
                    for (var i = 0; i < count; i++)
                    {
                        _inSchemaList = inSchema;
                        if (element.Kind == Kind.Bool) Byte(data, ref at); // a boolean takes a byte of its own in a list
                        else Value(data, ref at, element, depth);
                    }
                    _inSchemaList = false;
                    break;
                }
            }
        }

        private static void Expect(Field field, int type, Shape shape, int at)
        {
            var matches = field.Kind == Kind.Bool ? type is 1 or 2 : type == WireType(field.Kind);
            if (!matches)
                throw new InvalidDataException(
                    $"{shape.Name}.{field.Name} at byte {at} has wire type {type}; the format declares {field.Kind}");
        }

        // What the library's field skipping reads whole: scalars, strings and lists of those.
        private static void SkipUnknown(ReadOnlySpan<byte> data, ref int at, int type, Shape shape, short id, int start)
        {
            switch (type)
            {
                case 1 or 2: break;
                case 3: Byte(data, ref at); break;
                case 4 or 5: VarInt32(data, ref at); break;
                case 6: VarInt64(data, ref at); break;
                case 7: Skip(data, ref at, 8); break;
                case 8: Skip(data, ref at, Length(data, ref at)); break;
                case 9:
                {
                    var (count, element) = ListHeader(data, ref at);
                    if (count > 0 && element is not (>= 3 and <= 9))
                        throw new InvalidDataException(
                            $"{shape.Name} has an unknown field {id} at byte {start}: a list of wire type {element}, which the reader cannot skip");
                    for (var i = 0; i < count; i++) SkipUnknown(data, ref at, element, shape, id, start);
                    break;
                }
                default:
                    throw new InvalidDataException(
                        $"{shape.Name} has an unknown field {id} of wire type {type} at byte {start}, which the reader cannot skip");
            }
        }

        private static (int Count, int ElementType) ListHeader(ReadOnlySpan<byte> data, ref int at)
        {
            var start = at;
            var header = Byte(data, ref at);
            long count = header >> 4;
            if (count == 15) count = VarInt32(data, ref at);
            // Every element takes at least a byte.
            if (count > data.Length - at)
                throw new InvalidDataException($"the footer declares a list of {count} elements at byte {start} with {data.Length - at} bytes left");
            return ((int)count, header & 0x0F);
        }
    }

    private static int WireType(Kind kind) => kind switch
    {
        Kind.Bool => 1,
        Kind.I8 => 3,
        Kind.I16 => 4,
        Kind.I32 => 5,
        Kind.I64 => 6,
        Kind.Double => 7,
        Kind.Binary => 8,
        Kind.List => 9,
        _ => 12,
    };

    private static int Byte(ReadOnlySpan<byte> data, ref int at)
    {
        if (at >= data.Length)
            throw new InvalidDataException($"the footer ends inside a value (at byte {at} of {data.Length})");
        return data[at++];
    }

    // The library reads 32-bit varints by shifting each byte in; more than 5 bytes would wrap its shift.
    private static uint VarInt32(ReadOnlySpan<byte> data, ref int at)
    {
        uint value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            var b = Byte(data, ref at);
            value |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
        throw new InvalidDataException($"the footer has a 32-bit varint longer than 5 bytes at byte {at}");
    }

    private static void VarInt64(ReadOnlySpan<byte> data, ref int at)
    {
        for (var i = 0; i < 10; i++)
            if ((Byte(data, ref at) & 0x80) == 0)
                return;
        throw new InvalidDataException($"the footer has a varint longer than 10 bytes at byte {at}");
    }

    private static int ZigZag(uint n) => (int)(n >> 1) ^ -(int)(n & 1);

    private static int Length(ReadOnlySpan<byte> data, ref int at)
    {
        var start = at;
        var value = VarInt32(data, ref at);
        if (value > (uint)(data.Length - at))
            throw new InvalidDataException($"the footer declares {value} bytes at byte {start} with {data.Length - at} left");
        return (int)value;
    }

    private static void Skip(ReadOnlySpan<byte> data, ref int at, int bytes)
    {
        if (bytes > data.Length - at)
            throw new InvalidDataException($"the footer declares {bytes} bytes at byte {at} with {data.Length - at} left");
        at += bytes;
    }
}
