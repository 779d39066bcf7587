using System.Runtime.CompilerServices;
using System.Text;

namespace Federated.Crypto.Psi;

/// <summary>
/// A re-readable stream of one party's IDs. The PSI reads it a few times (digests, blinding, writing the aligned
/// keys) instead of holding every ID string in memory, so each read must yield the same IDs in the same order.
/// </summary>
public sealed class IdSource
{
    /// <summary>Longest ID accepted, in UTF-8 bytes.</summary>
    public const int MaxIdBytes = 4096;

    private readonly Func<CancellationToken, IAsyncEnumerable<string>> _open;

    private IdSource(Func<CancellationToken, IAsyncEnumerable<string>> open, string description)
    {
        _open = open;
        Description = description;
    }

    /// <summary>Where the IDs come from, for error messages.</summary>
    public string Description { get; }

    /// <summary>A UTF-8 text file with one ID per line (LF or CRLF).</summary>
    public static IdSource FromFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"ID file not found: {full}", full);
        return new IdSource(ct => File.ReadLinesAsync(full, Encoding.UTF8, ct), $"file {full}");
    }

    /// <summary>A sequence that can be enumerated again from the start, for example a list in memory.</summary>
    public static IdSource FromEnumerable(Func<IEnumerable<string>> open, string description = "enumerable")
    {
        ArgumentNullException.ThrowIfNull(open);
        return new IdSource(_ => open().ToAsyncEnumerable(), description);
    }

    /// <summary>
    /// An asynchronous sequence that can be enumerated again from the start, for example a table read from a file;
    /// <paramref name="open"/> gets the PSI's cancellation token.
    /// </summary>
    public static IdSource FromAsyncEnumerable(Func<CancellationToken, IAsyncEnumerable<string>> open, string description = "asynchronous enumerable")
    {
        ArgumentNullException.ThrowIfNull(open);
        return new IdSource(open, description);
    }

    /// <summary>Enumerates the IDs, rejecting empty IDs, line breaks and over-long IDs with their position.</summary>
    internal async IAsyncEnumerable<string> ReadAsync([EnumeratorCancellation] CancellationToken ct)
    {
        long position = 0;
        await foreach (var id in _open(ct).WithCancellation(ct).ConfigureAwait(false))
        {
            if (string.IsNullOrEmpty(id))
                throw new PsiInputException($"empty ID at position {position} of {Description}");
            if (id.AsSpan().IndexOfAny('\n', '\r') >= 0)
                throw new PsiInputException($"ID at position {position} of {Description} contains a line break");
            if (Encoding.UTF8.GetByteCount(id) > MaxIdBytes)
                throw new PsiInputException($"ID at position {position} of {Description} is longer than {MaxIdBytes} UTF-8 bytes");
            yield return id;
            position++;
        }
    }

    /// <summary>Reads the source in blocks (the block array is reused between yields).</summary>
    internal async IAsyncEnumerable<(string[] Block, int Count, long FirstIndex)> ReadBlocksAsync(int blockSize, [EnumeratorCancellation] CancellationToken ct)
    {
        var block = new string[blockSize];
        int count = 0;
        long first = 0;
        await foreach (var id in ReadAsync(ct).ConfigureAwait(false))
        {
            block[count++] = id;
            if (count == blockSize)
            {
                yield return (block, count, first);
                first += count;
                count = 0;
            }
        }
        if (count > 0) yield return (block, count, first);
    }
}
