using System.Buffers.Binary;

namespace Federated.Crypto.Psi;

/// <summary>
/// The PSI's index files (aligned rows' source positions, the M-only mode's ordinal maps): int64 little-endian values,
/// one after another.
/// </summary>
public static class IndexFile
{
    public static long[] Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length % 8 != 0) throw new InvalidDataException($"{path}: {bytes.Length} bytes is not a list of int64 values");
        var values = new long[bytes.Length / 8];
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i * 8));
        return values;
    }

    internal static void Write(string path, IReadOnlyList<int> values)
    {
        var bytes = new byte[values.Count * 8];
        for (int i = 0; i < values.Count; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        File.WriteAllBytes(path, bytes);
    }
}
