using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Security.Cryptography;
using System.Text;

namespace Federated.Crypto.Psi;

/// <summary>
/// Writes the aligned IDs in canonical row order without holding them in memory: one pass over the source
/// measures each matched ID, a second writes it at its row's byte offset in a memory-mapped file.
/// </summary>
internal static class AlignedKeysWriter
{
    /// <param name="rowSourceIndex">Per row, the source position of the ID.</param>
    /// <param name="digestOf">Keyed digest by source position, to detect a source that changed between reads.</param>
    public static async Task WriteAsync(IdSource source, int[] rowSourceIndex, Func<int, UInt128> digestOf, PsiKeys keys, string keysPath, string indexPath,
        CancellationToken ct)
    {
        int rows = rowSourceIndex.Length;
        // (source index, row) in source order, so one forward pass finds every matched ID.
        var bySource = new (int Index, int Row)[rows];
        for (int r = 0; r < rows; r++) bySource[r] = (rowSourceIndex[r], r);
        Array.Sort(bySource, (a, b) => a.Index.CompareTo(b.Index));

        var offsets = new long[rows + 1];
        await ForEachMatchedAsync(source, bySource, (id, row, index) =>
        {
            if (keys.Digest(id) != digestOf(index))
                throw new PsiInputException($"{source.Description} returned a different ID at position {index} on a later read; the source must be stable");
            offsets[row + 1] = Encoding.UTF8.GetByteCount(id) + 1;
        }, ct).ConfigureAwait(false);
        for (int r = 0; r < rows; r++) offsets[r + 1] += offsets[r];
        long total = offsets[rows];

        using (PsiJobStore.CreateFile(keysPath, secret: false)) { }
        if (total > 0)
        {
            using var map = MemoryMappedFile.CreateFromFile(keysPath, FileMode.Open, null, total, MemoryMappedFileAccess.ReadWrite);
            using var view = map.CreateViewAccessor(0, total);
            var buffer = new byte[IdSource.MaxIdBytes + 1];
            await ForEachMatchedAsync(source, bySource, (id, row, _) =>
            {
                int n = Encoding.UTF8.GetBytes(id, buffer);
                buffer[n] = (byte)'\n';
                if (n + 1 != offsets[row + 1] - offsets[row])
                    throw new PsiInputException($"{source.Description} changed between reads");
                view.WriteArray(offsets[row], buffer, 0, n + 1);
            }, ct).ConfigureAwait(false);
            view.Flush();
        }

        WriteIndex(indexPath, rowSourceIndex);
    }

    private static void WriteIndex(string indexPath, int[] rowSourceIndex)
    {
        using var index = PsiJobStore.CreateFile(indexPath, secret: false);
        Span<byte> u64 = stackalloc byte[8];
        foreach (int i in rowSourceIndex)
        {
            BinaryPrimitives.WriteInt64LittleEndian(u64, i);
            index.Write(u64);
        }
    }

    private static async Task ForEachMatchedAsync(IdSource source, (int Index, int Row)[] bySource, Action<string, int, int> action, CancellationToken ct)
    {
        int next = 0, position = 0;
        if (bySource.Length == 0) return;
        await foreach (var id in source.ReadAsync(ct).ConfigureAwait(false))
        {
            while (next < bySource.Length && bySource[next].Index == position)
            {
                action(id, bySource[next].Row, position);
                next++;
            }
            if (next == bySource.Length) return;
            position++;
        }
        throw new PsiInputException($"{source.Description} ended early on a later read; the source must be stable");
    }

    /// <summary>SHA-256 over the 32-byte values of the rows in order: both parties must get the same digest.</summary>
    public static byte[] RowsDigest(IEnumerable<PointKey> rowValues)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> b = stackalloc byte[32];
        h.AppendData("federated-psi/rows/v1"u8);
        foreach (var v in rowValues)
        {
            v.WriteTo(b);
            h.AppendData(b);
        }
        return h.GetHashAndReset();
    }
}
