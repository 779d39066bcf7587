namespace Federated.Data.Reading;

/// <summary>
/// What a read did, for the job report: every row read is either accepted or quarantined, never dropped.
/// Holds counts and the first <see cref="ReadOptions.MaxBadRowsInReport"/> bad rows (all of them are in the
/// quarantine file).
/// </summary>
public sealed class ReadReport
{
    private readonly List<BadRow> _badRows = new();
    private readonly Dictionary<string, long> _badByColumn = new(StringComparer.Ordinal);
    private readonly Dictionary<BadRowKind, long> _badByKind = new();

    public required string File { get; init; }
    public required string Table { get; init; }
    public required BadRowPolicy Policy { get; init; }

    /// <summary>Side file holding quarantined rows, when any were written.</summary>
    public string? QuarantineFile { get; internal set; }

    public long RowsRead { get; internal set; }
    public long RowsAccepted { get; internal set; }
    public long RowsQuarantined { get; internal set; }

    /// <summary>True once the whole file has been read without a fatal error.</summary>
    public bool Completed { get; internal set; }

    /// <summary>Bytes (CSV: characters) consumed from the source, for throughput figures.</summary>
    public long SourceBytes { get; internal set; }

    public IReadOnlyList<BadRow> BadRows => _badRows;

    /// <summary>Quarantined rows per column ("(row)" for row-level problems such as the column count).</summary>
    public IReadOnlyDictionary<string, long> BadRowsByColumn => _badByColumn;

    /// <summary>Quarantined rows per kind: value-free, safe to put in a job report that leaves the party.</summary>
    public IReadOnlyDictionary<BadRowKind, long> BadRowsByKind => _badByKind;

    internal void AddBad(BadRow row, int keep)
    {
        _badByKind[row.Kind] = _badByKind.GetValueOrDefault(row.Kind) + 1;
        RowsQuarantined++;
        if (_badRows.Count < keep) _badRows.Add(row);
        var column = row.Column ?? "(row)";
        _badByColumn[column] = _badByColumn.GetValueOrDefault(column) + 1;
    }

    public override string ToString() =>
        $"{Table} ({File}): read {RowsRead}, accepted {RowsAccepted}, quarantined {RowsQuarantined}" +
        (QuarantineFile is null ? "" : $" -> {QuarantineFile}") + (Completed ? "" : " (incomplete)");
}

/// <summary>Per-job read settings.</summary>
public sealed record ReadOptions
{
    public BadRowPolicy Policy { get; init; } = BadRowPolicy.FailFast;

    /// <summary>Where quarantined rows go; default: the data file's path + ".quarantine.csv".</summary>
    public string? QuarantinePath { get; init; }

    /// <summary>
    /// Detect duplicate keys (tables with a key). Uses an in-memory hash map of keys: about 100 bytes per distinct
    /// key, so fine up to about 10^7 keys (~1 GiB); beyond that, deduplicate upstream and turn this off.
    /// </summary>
    public bool DetectDuplicateKeys { get; init; } = true;

    /// <summary>How many bad rows the report keeps in memory (all go to the quarantine file).</summary>
    public int MaxBadRowsInReport { get; init; } = 100;
}
