using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Federated.Learning.Protocol.V1;
using Google.Protobuf;

namespace Federated.Learning.Crypto;

/// <summary>Shape and scheme checks for incoming blocks, with errors that name the step and what was expected.</summary>
public static class CipherBlocks
{
    public static void Require(CipherBlock? block, string step, string scheme, int rows, int cols, Packing packing, int parts)
    {
        if (block is null) throw new MalformedCipherBlockException($"{step}: the block is missing");
        if (block.Scheme != scheme)
            throw new MalformedCipherBlockException($"{step}: block scheme '{block.Scheme}' does not match this session's scheme '{scheme}'");
        if (block.Rows != rows || block.Cols != cols)
            throw new MalformedCipherBlockException($"{step}: expected a {rows} x {cols} block, got {block.Rows} x {block.Cols}");
        if (block.Packing != packing)
            throw new MalformedCipherBlockException($"{step}: expected packing {packing}, got {block.Packing}");
        if (block.Parts.Count != parts)
            throw new MalformedCipherBlockException($"{step}: expected {parts} parts, got {block.Parts.Count}");
    }

    /// <summary>Little-endian IEEE doubles; the plaintext reference's stand-in for a ciphertext's slot vector.</summary>
    public static ByteString EncodeDoubles(ReadOnlySpan<double> values)
    {
        var bytes = new byte[values.Length * sizeof(double)];
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(values).CopyTo(bytes);
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    public static double[] DecodeDoubles(ByteString part, int expectedCount, string step, int partIndex)
    {
        if (part.Length != expectedCount * sizeof(double))
            throw new MalformedCipherBlockException(
                $"{step}: part {partIndex} holds {part.Length} bytes, expected {expectedCount * sizeof(double)} ({expectedCount} doubles)");
        var values = new double[expectedCount];
        if (BitConverter.IsLittleEndian) part.Span.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        else for (int i = 0; i < expectedCount; i++) values[i] = BinaryPrimitives.ReadDoubleLittleEndian(part.Span.Slice(i * 8));
        for (int i = 0; i < values.Length; i++)
            if (!double.IsFinite(values[i]))
                throw new MalformedCipherBlockException($"{step}: part {partIndex} holds a non-finite value at slot {i}");
        return values;
    }
}
