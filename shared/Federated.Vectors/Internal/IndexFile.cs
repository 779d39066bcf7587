using System.Buffers.Binary;

namespace Federated.Vectors.Internal;

/// <summary>
/// The one-file layout both index kinds share (little-endian): a 128-byte header, the ids in ordinal order (int64 each,
/// or int32 length + UTF-8 bytes), then at a 4 KiB-aligned offset the payload: the row-major float32 vectors for the
/// exact index, USearch's own serialization for HNSW (so that it can be viewed in place from a memory map).
/// </summary>
internal sealed record IndexFile
{
    public const int HeaderBytes = 128;
    public const int PayloadAlignment = 4096;
    public const int CurrentFormat = 1;
    private static ReadOnlySpan<byte> Magic => "FVINDEX\0"u8;

    public required VectorIndexKind Kind { get; init; }
    public required VectorMetric Metric { get; init; }
    public required int Dimension { get; init; }
    public required long Count { get; init; }
    public required int KeyKind { get; init; }
    public int Connectivity { get; init; }
    public int ExpansionAdd { get; init; }
    public int ExpansionSearch { get; init; }
    public long KeysLength { get; init; }
    public long PayloadOffset { get; init; }
    public long PayloadLength { get; init; }

    public static long AlignPayload(long keysEnd) => (keysEnd + PayloadAlignment - 1) / PayloadAlignment * PayloadAlignment;

    public void WriteHeader(Stream stream)
    {
        Span<byte> h = stackalloc byte[HeaderBytes];
        h.Clear();
        Magic.CopyTo(h);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], CurrentFormat);
        BinaryPrimitives.WriteInt32LittleEndian(h[12..], (int)Kind);
        BinaryPrimitives.WriteInt32LittleEndian(h[16..], (int)Metric);
        BinaryPrimitives.WriteInt32LittleEndian(h[20..], Dimension);
        BinaryPrimitives.WriteInt64LittleEndian(h[24..], Count);
        BinaryPrimitives.WriteInt32LittleEndian(h[32..], KeyKind);
        BinaryPrimitives.WriteInt32LittleEndian(h[36..], Connectivity);
        BinaryPrimitives.WriteInt32LittleEndian(h[40..], ExpansionAdd);
        BinaryPrimitives.WriteInt32LittleEndian(h[44..], ExpansionSearch);
        BinaryPrimitives.WriteInt64LittleEndian(h[48..], KeysLength);
        BinaryPrimitives.WriteInt64LittleEndian(h[56..], PayloadOffset);
        BinaryPrimitives.WriteInt64LittleEndian(h[64..], PayloadLength);
        stream.Write(h);
    }

    /// <summary>Reads and checks the header; the stream is left at the start of the ids.</summary>
    public static IndexFile ReadHeader(Stream stream, string path)
    {
        Span<byte> h = stackalloc byte[HeaderBytes];
        if (stream.Length < HeaderBytes)
            throw new VectorIndexException($"{path} is {stream.Length} bytes, shorter than a vector index header: not a vector index file");
        stream.ReadExactly(h);
        if (!h[..8].SequenceEqual(Magic))
            throw new VectorIndexException($"{path} is not a vector index file (its first bytes are not the index signature)");
        var format = BinaryPrimitives.ReadInt32LittleEndian(h[8..]);
        if (format != CurrentFormat)
            throw new VectorIndexException($"{path} has index format {format}; this build reads format {CurrentFormat}");
        var file = new IndexFile
        {
            Kind = (VectorIndexKind)BinaryPrimitives.ReadInt32LittleEndian(h[12..]),
            Metric = (VectorMetric)BinaryPrimitives.ReadInt32LittleEndian(h[16..]),
            Dimension = BinaryPrimitives.ReadInt32LittleEndian(h[20..]),
            Count = BinaryPrimitives.ReadInt64LittleEndian(h[24..]),
            KeyKind = BinaryPrimitives.ReadInt32LittleEndian(h[32..]),
            Connectivity = BinaryPrimitives.ReadInt32LittleEndian(h[36..]),
            ExpansionAdd = BinaryPrimitives.ReadInt32LittleEndian(h[40..]),
            ExpansionSearch = BinaryPrimitives.ReadInt32LittleEndian(h[44..]),
            KeysLength = BinaryPrimitives.ReadInt64LittleEndian(h[48..]),
            PayloadOffset = BinaryPrimitives.ReadInt64LittleEndian(h[56..]),
            PayloadLength = BinaryPrimitives.ReadInt64LittleEndian(h[64..]),
        };
        if (!Enum.IsDefined(file.Kind) || !Enum.IsDefined(file.Metric) || file.Dimension <= 0 || file.Count < 0 || file.Count > int.MaxValue
            || file.KeysLength < 0 || file.PayloadOffset < HeaderBytes + file.KeysLength || file.PayloadLength < 0
            || file.PayloadOffset + file.PayloadLength > stream.Length)
            throw new VectorIndexException(
                $"{path} has an inconsistent header (kind {(int)file.Kind}, metric {(int)file.Metric}, dimension {file.Dimension}, " +
                $"count {file.Count}, payload {file.PayloadOffset}+{file.PayloadLength} in a {stream.Length}-byte file): the file is damaged or truncated");
        return file;
    }

    /// <summary>Writes to a temporary file beside <paramref name="path"/> and moves it into place once complete.</summary>
    public static void WriteAtomically(string path, Action<string> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            write(temporary);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}

/// <summary>Writing and opening the one-file layout; the payload is written by the index kind that owns it.</summary>
internal static class IndexFileIo
{
    /// <summary>
    /// Writes header, ids and payload to <paramref name="path"/> (atomically). <paramref name="writePayload"/> gets the open
    /// stream, already sized to hold the payload at the header's offset, and the offset.
    /// </summary>
    public static void Write<TKey>(string path, IndexFile header, KeyMap<TKey> keys, long payloadLength, Action<FileStream, long> writePayload)
        where TKey : notnull
    {
        IndexFile.WriteAtomically(path, temporary =>
        {
            using var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
            stream.Write(new byte[IndexFile.HeaderBytes]);
            keys.Write(stream);
            var keysLength = stream.Position - IndexFile.HeaderBytes;
            var payloadOffset = IndexFile.AlignPayload(stream.Position);
            var complete = header with { KeysLength = keysLength, PayloadOffset = payloadOffset, PayloadLength = payloadLength, Count = keys.Count };
            stream.SetLength(payloadOffset + payloadLength);
            stream.Position = 0;
            complete.WriteHeader(stream);
            stream.Flush();
            writePayload(stream, payloadOffset);
            stream.Flush(flushToDisk: true);
        });
    }

    /// <summary>Opens <paramref name="path"/>, checks its header against the expected kind and reads the ids.</summary>
    public static (IndexFile Header, KeyMap<TKey> Keys, FileStream Stream) Open<TKey>(string path, VectorIndexKind expected) where TKey : notnull
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"no vector index file at {path}", path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            var header = IndexFile.ReadHeader(stream, path);
            if (header.Kind != expected)
                throw new VectorIndexException($"{path} holds the {header.Kind} kind of index, not {expected} (VectorIndexFactory.Load opens either)");
            var keys = KeyMap<TKey>.Read(stream, header.Count, header.KeyKind, path);
            if (stream.Position != IndexFile.HeaderBytes + header.KeysLength)
                throw new VectorIndexException($"{path}: its id list is {stream.Position - IndexFile.HeaderBytes} bytes, the header says {header.KeysLength}; the file is damaged");
            return (header, keys, stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The kind of index stored at <paramref name="path"/>, from its header.</summary>
    public static VectorIndexKind KindOf(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"no vector index file at {path}", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return IndexFile.ReadHeader(stream, path).Kind;
    }
}
