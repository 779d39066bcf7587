using System.Runtime.CompilerServices;
using System.Text;
using Federated.Data.Csv;
using Federated.Data.Parquet;
using Federated.Data.Rows;
using Federated.Data.Schema;

namespace Federated.Data.Reading;

/// <summary>
/// Streams the validated rows of one table file (CSV or Parquet). Every row read is either yielded or, under
/// <see cref="BadRowPolicy.Quarantine"/>, written to the quarantine side file and counted in <see cref="Report"/>;
/// under <see cref="BadRowPolicy.FailFast"/> the first bad row throws <see cref="BadRowException"/>.
/// Asynchronous end to end (Parquet.Net has no synchronous API): open with <see cref="OpenAsync(TableSchema, string, ReadOptions, CancellationToken)"/>,
/// read with <c>await foreach</c>, dispose with <c>await using</c>. Enumerate once.
/// </summary>
public sealed class TableReader : IAsyncEnumerable<DataRow>, IAsyncDisposable
{
    private readonly RowSource _source;
    private readonly ReadOptions _options;
    private readonly CancellationToken _openToken;
    private readonly Dictionary<string, long>? _keys;
    private StreamWriter? _quarantine;
    private bool _enumerated;

    private TableReader(TableSchema schema, string path, RowSource source, ReadOptions options, CancellationToken openToken)
    {
        Schema = schema;
        _source = source;
        _options = options;
        _openToken = openToken;
        Report = new ReadReport { File = path, Table = schema.Table, Policy = options.Policy };
        if (options.DetectDuplicateKeys && schema.KeyIndex >= 0) _keys = new Dictionary<string, long>(StringComparer.Ordinal);
    }

    public TableSchema Schema { get; }

    public ReadReport Report { get; }

    /// <summary>Opens a data file against a schema; the format comes from the schema or the file extension.</summary>
    public static Task<TableReader> OpenAsync(TableSchema schema, string path, BadRowPolicy policy = BadRowPolicy.FailFast, CancellationToken cancellationToken = default) =>
        OpenAsync(schema, path, new ReadOptions { Policy = policy }, cancellationToken);

    /// <summary>
    /// Opens a data file against a schema. <paramref name="cancellationToken"/> also stops the enumeration (as does the
    /// token given to the enumeration itself).
    /// </summary>
    public static async Task<TableReader> OpenAsync(TableSchema schema, string path, ReadOptions options, CancellationToken cancellationToken = default)
    {
        schema.Validate();
        if (!File.Exists(path)) throw new DataFileException($"{path}: no such file (table '{schema.Table}')");
        RowSource source = schema.FormatOf(path) switch
        {
            TableFormat.Csv => new CsvRowSource(schema, path),
            _ => await ParquetRowSource.OpenAsync(schema, path, cancellationToken).ConfigureAwait(false),
        };
        return new TableReader(schema, path, source, options, cancellationToken);
    }

    /// <summary>Opens the data file a schema file names (its "file", relative to the schema file).</summary>
    public static Task<TableReader> OpenFromSchemaFileAsync(string schemaPath, ReadOptions? options = null, CancellationToken cancellationToken = default)
    {
        var schema = TableSchema.Load(schemaPath);
        return OpenAsync(schema, schema.ResolveDataPath(schemaPath), options ?? new ReadOptions(), cancellationToken);
    }

    /// <summary>
    /// Disposal that does not resume on a captured context (an instance method, so <c>reader.ConfigureAwait(false)</c>
    /// is not ambiguous between the reader's two async interfaces). Enumerate with <c>WithCancellation(ct).ConfigureAwait(false)</c>.
    /// </summary>
    public ConfiguredAsyncDisposable ConfigureAwait(bool continueOnCapturedContext) =>
        ((IAsyncDisposable)this).ConfigureAwait(continueOnCapturedContext);

    public IAsyncEnumerator<DataRow> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (_enumerated) throw new InvalidOperationException("a TableReader can be enumerated only once; open the file again");
        _enumerated = true;
        return Rows(cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    private async IAsyncEnumerable<DataRow> Rows([EnumeratorCancellation] CancellationToken enumerationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_openToken, enumerationToken);
        var ct = linked.Token;
        var keyIndex = Schema.KeyIndex;
        while (await _source.MoveNextAsync(ct).ConfigureAwait(false))
        {
            ct.ThrowIfCancellationRequested();
            Report.RowsRead++;
            var row = _source.Current;
            var error = _source.Error;
            if (error is null && _keys is not null)
            {
                var key = row.GetText(keyIndex)!;
                if (!_keys.TryAdd(key, _source.Ordinal))
                    error = new BadRow(row.Location, Schema.Key, $"duplicate key '{key}' (first at {_source.DescribeOrdinal(_keys[key])})", BadRowKind.DuplicateKey);
            }

            if (error is null)
            {
                Report.RowsAccepted++;
                Report.SourceBytes = _source.BytesRead;
                yield return row;
                continue;
            }

            if (_options.Policy == BadRowPolicy.FailFast) throw new BadRowException(error);
            await QuarantineAsync(error, ct).ConfigureAwait(false);
        }

        Report.SourceBytes = _source.BytesRead;
        if (_quarantine is not null) await _quarantine.FlushAsync(ct).ConfigureAwait(false);
        Report.Completed = true;
    }

    private async Task QuarantineAsync(BadRow error, CancellationToken ct)
    {
        if (_quarantine is null)
        {
            var path = _options.QuarantinePath ?? Report.File + ".quarantine.csv";
            _quarantine = new StreamWriter(path, append: false, new UTF8Encoding(false));
            await _quarantine.WriteLineAsync("location,column,reason,record".AsMemory(), ct).ConfigureAwait(false);
            Report.QuarantineFile = path;
        }

        // The record stays with its owner: the quarantine file sits beside the party's own data.
        var record = new StringBuilder();
        var cells = _source.RawCells();
        for (var i = 0; i < cells.Count; i++)
        {
            if (i > 0) record.Append(',');
            CsvText.AppendField(record, cells[i]);
        }

        var line = new StringBuilder();
        var where = error.Location.RowGroup >= 0 ? $"row group {error.Location.RowGroup} row {error.Location.RowInGroup}" : $"line {error.Location.Line}";
        CsvText.AppendField(line, where);
        line.Append(',');
        CsvText.AppendField(line, error.Column ?? "");
        line.Append(',');
        CsvText.AppendField(line, error.Reason);
        line.Append(',');
        CsvText.AppendField(line, record.ToString());
        await _quarantine.WriteLineAsync(line, ct).ConfigureAwait(false);
        Report.AddBad(error, _options.MaxBadRowsInReport);
    }

    public async ValueTask DisposeAsync()
    {
        if (_quarantine is not null) await _quarantine.DisposeAsync().ConfigureAwait(false);
        await _source.DisposeAsync().ConfigureAwait(false);
    }
}
