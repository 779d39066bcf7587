using System.Text;
using Federated.Data.Reading;
using Federated.Data.Rows;
using Federated.Data.Schema;

namespace Federated.Data.Csv;

/// <summary>
/// Reads a CSV file laid out as the schema's <see cref="CsvOptions"/> say (encoding, delimiter, quoting, with or
/// without a header row) and checks each record against the schema.
/// </summary>
internal sealed class CsvRowSource : RowSource
{
    private readonly TableSchema _schema;
    private readonly string _file;
    private readonly CsvRecordReader _records;
    private readonly CellValidator _validator;
    private readonly int[] _fieldOfColumn;
    private readonly int _headerCount;
    private readonly bool _header;
    private readonly bool _extraFieldsAllowed;

    public CsvRowSource(TableSchema schema, string path)
    {
        _schema = schema;
        _file = path;
        _validator = new CellValidator(schema);
        var layout = schema.CsvLayout;
        var encoding = layout.TextEncoding();
        var delimiter = layout.DelimiterChar ?? throw new SchemaException($"table '{schema.Table}': csv.delimiter '{layout.Delimiter}' is not supported ({CsvOptions.SupportedDelimiters})");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        _records = new CsvRecordReader(new StreamReader(stream, encoding, layout.DetectByteOrderMark, 1 << 16), delimiter, layout.Quoting == CsvQuoting.Rfc4180);
        _header = layout.Header;
        try
        {
            if (_header)
            {
                (_fieldOfColumn, _headerCount) = ReadHeader(schema, path);
            }
            else
            {
                // No header: the fields are the schema's columns in order; extra trailing fields only when allowed.
                _fieldOfColumn = Enumerable.Range(0, schema.Columns.Count).ToArray();
                _headerCount = schema.Columns.Count;
                _extraFieldsAllowed = schema.AllowExtraColumns;
            }
        }
        catch
        {
            _records.Dispose();
            throw;
        }
    }

    private (int[] FieldOfColumn, int HeaderCount) ReadHeader(TableSchema schema, string path)
    {
        if (!_records.Read())
            throw new DataFileException($"{path}: the file is empty; expected a header naming the columns of table '{schema.Table}'");
        if (_records.RecordError is not null)
            throw new DataFileException($"{path}: line {_records.RecordLine} (header): {_records.RecordError}");

        var header = _records.Fields.ToArray();
        var position = new Dictionary<string, int>(StringComparer.Ordinal);
        var problems = new List<string>();
        for (var i = 0; i < header.Length; i++)
            if (!position.TryAdd(header[i], i)) problems.Add($"header names '{header[i]}' twice");
        var fieldOfColumn = new int[schema.Columns.Count];
        for (var c = 0; c < schema.Columns.Count; c++)
        {
            if (position.TryGetValue(schema.Columns[c].Name, out var f)) fieldOfColumn[c] = f;
            else problems.Add($"header lacks column '{schema.Columns[c].Name}'");
        }

        if (!schema.AllowExtraColumns)
        {
            var declared = schema.Columns.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            var extra = header.Where(h => !declared.Contains(h)).ToList();
            if (extra.Count > 0)
                problems.Add($"header has columns the schema does not declare: {string.Join(", ", extra.Select(e => $"'{e}'"))} (set allowExtraColumns to ignore them)");
        }

        if (problems.Count > 0)
            throw new DataFileException($"{path}: line 1 (header) does not match schema '{schema.Table}': {string.Join("; ", problems)}");
        return (fieldOfColumn, header.Length);
    }

    /// <summary>Parses the next record from the buffered reader (the CSV reader itself is synchronous).</summary>
    public override ValueTask<bool> MoveNextAsync(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        return ValueTask.FromResult(MoveNext());
    }

    private bool MoveNext()
    {
        if (!_records.Read()) return false;
        var row = new DataRow(_schema) { Location = RowLocation.Csv(_file, _records.RecordLine) };
        Current = row;
        Error = null;
        if (_records.RecordError is not null)
        {
            Error = new BadRow(row.Location, null, _records.RecordError, BadRowKind.Malformed);
            return true;
        }

        var fields = _records.Fields;
        if (fields.Count != _headerCount && !(_extraFieldsAllowed && fields.Count > _headerCount))
        {
            var expected = _header ? $"the header has {_headerCount}"
                : _extraFieldsAllowed ? $"the schema declares {_headerCount} columns (the file has no header)"
                : $"the schema declares {_headerCount} columns (the file has no header; set allowExtraColumns to ignore trailing fields)";
            Error = new BadRow(row.Location, null, $"wrong column count: {fields.Count} fields, {expected}", BadRowKind.ColumnCount);
            return true;
        }

        for (var c = 0; c < _fieldOfColumn.Length; c++)
        {
            if (_validator.ParseCsv(c, fields[_fieldOfColumn[c]], row) is not { } problem) continue;
            Error = new BadRow(row.Location, _schema.Columns[c].Name, problem.Reason, problem.Kind);
            break;
        }

        return true;
    }

    public override IReadOnlyList<string> RawCells() => _records.Fields;

    public override long Ordinal => _records.RecordLine;

    public override string DescribeOrdinal(long ordinal) => $"line {ordinal}";

    public override long BytesRead => _records.CharsRead;

    public override ValueTask DisposeAsync()
    {
        _records.Dispose();
        return ValueTask.CompletedTask;
    }
}
