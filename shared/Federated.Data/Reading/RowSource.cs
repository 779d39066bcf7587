using Federated.Data.Rows;

namespace Federated.Data.Reading;

/// <summary>A file format's side of reading: parses records into rows and says what was wrong with them.</summary>
internal abstract class RowSource : IAsyncDisposable
{
    /// <summary>The row just parsed (a new instance per row, so callers may keep it).</summary>
    public DataRow Current { get; protected set; } = null!;

    /// <summary>Null when <see cref="Current"/> is valid, otherwise the first problem found in it.</summary>
    public BadRow? Error { get; protected set; }

    /// <summary>Moves to the next record; false at the end.</summary>
    public abstract ValueTask<bool> MoveNextAsync(CancellationToken ct);

    /// <summary>The current record's cells as text, for the quarantine file.</summary>
    public abstract IReadOnlyList<string> RawCells();

    /// <summary>A position for duplicate-key messages: the line (CSV) or the row number in the file (Parquet).</summary>
    public abstract long Ordinal { get; }

    public abstract string DescribeOrdinal(long ordinal);

    public abstract long BytesRead { get; }

    public abstract ValueTask DisposeAsync();
}
