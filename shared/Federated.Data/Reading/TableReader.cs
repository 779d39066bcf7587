using System.Collections;
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
/// Enumerate once.
/// </summary>
public sealed class TableReader : IEnumerable<DataRow>, IDisposable
{
    private readonly RowSource _source;
    private readonly ReadOptions _options;
    private readonly Dictionary<string, long>? _keys;
    private StreamWriter? _quarantine;
    private bool _enumerated;

    private TableReader(TableSchema schema, string path, RowSource source, ReadOptions options)
    {
        Schema = schema;
        _source = source;
        _options = options;
        Report = new ReadReport { File = path, Table = schema.Table, Policy = options.Policy };
        if (options.DetectDuplicateKeys && schema.KeyIndex >= 0) _keys = new Dictionary<string, long>(StringComparer.Ordinal);
    }

    public TableSchema Schema { get; }

    public ReadReport Report { get; }

    /// <summary>Opens a data file against a schema; the format comes from the schema or the file extension.</summary>
    public static TableReader Open(TableSchema schema, string path, BadRowPolicy policy = BadRowPolicy.FailFast) =>
        Open(schema, path, new ReadOptions { Policy = policy });

    public static TableReader Open(TableSchema schema, string path, ReadOptions options)
    {
        schema.Validate();
        if (!File.Exists(path)) throw new DataFileException($"{path}: no such file (table '{schema.Table}')");
        RowSource source = schema.FormatOf(path) switch
        {
            TableFormat.Csv => new CsvRowSource(schema, path),
            _ => new ParquetRowSource(schema, path, options.CancellationToken),
        };
        return new TableReader(schema, path, source, options);
    }

    /// <summary>Opens the data file a schema file names (its "file", relative to the schema file).</summary>
    public static TableReader OpenFromSchemaFile(string schemaPath, ReadOptions? options = null)
    {
        var schema = TableSchema.Load(schemaPath);
        return Open(schema, schema.ResolveDataPath(schemaPath), options ?? new ReadOptions());
    }

    public IEnumerator<DataRow> GetEnumerator()
    {
        if (_enumerated) throw new InvalidOperationException("a TableReader can be enumerated only once; open the file again");
        _enumerated = true;
        return Rows().GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private IEnumerable<DataRow> Rows()
    {
        var keyIndex = Schema.KeyIndex;
        while (_source.MoveNext())
        {
            _options.CancellationToken.ThrowIfCancellationRequested();
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
            Quarantine(error);
        }

        Report.SourceBytes = _source.BytesRead;
        _quarantine?.Flush();
        Report.Completed = true;
    }

    private void Quarantine(BadRow error)
    {
        if (_quarantine is null)
        {
            var path = _options.QuarantinePath ?? Report.File + ".quarantine.csv";
            _quarantine = new StreamWriter(path, append: false, new UTF8Encoding(false));
            _quarantine.WriteLine("location,column,reason,record");
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
        _quarantine.WriteLine(line.ToString());
        Report.AddBad(error, _options.MaxBadRowsInReport);
    }

    public void Dispose()
    {
        _quarantine?.Dispose();
        _source.Dispose();
    }
}
