using Federated.Data.Reading;
using Federated.Data.Rows;
using Federated.Data.Schema;
using Parquet;
using Parquet.Schema;

namespace Federated.Data.Parquet;

/// <summary>
/// Reads a Parquet file one row group at a time (memory is one row group, flat in the number of groups) and checks
/// each row against the schema.
/// </summary>
internal sealed class ParquetRowSource : RowSource
{
    private readonly TableSchema _schema;
    private readonly string _file;
    private readonly FileStream _stream;
    private readonly ParquetReader _reader;
    private readonly ParquetColumnLoader[] _loaders;
    private readonly CellValidator _validator;
    private readonly CancellationToken _ct;
    private int _group = -1;
    private long _groupRows;
    private long _row = -1;
    private long _rowsBefore;

    public ParquetRowSource(TableSchema schema, string path, CancellationToken ct)
    {
        _schema = schema;
        _file = path;
        _ct = ct;
        _validator = new CellValidator(schema);
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            _reader = ParquetReader.CreateAsync(_stream, null, false, ct).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _stream.Dispose();
            throw new DataFileException($"{path}: not a readable Parquet file: {e.Message}", e);
        }

        var fields = _reader.Schema.Fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        var problems = new List<string>();
        var loaders = new List<ParquetColumnLoader>();
        for (var c = 0; c < schema.Columns.Count; c++)
        {
            if (!fields.TryGetValue(schema.Columns[c].Name, out var field))
            {
                problems.Add($"no column '{schema.Columns[c].Name}'");
                continue;
            }

            try { loaders.Add(ParquetColumnLoader.Create(path, schema.Columns[c], c, field)); }
            catch (DataFileException e) { problems.Add(e.Message); }
        }

        if (!schema.AllowExtraColumns)
        {
            var extra = fields.Keys.Where(n => schema.IndexOf(n) < 0).ToList();
            if (extra.Count > 0)
                problems.Add($"columns the schema does not declare: {string.Join(", ", extra.Select(e => $"'{e}'"))} (set allowExtraColumns to ignore them)");
        }

        if (problems.Count > 0)
        {
            Dispose();
            throw new DataFileException($"{path} does not match schema '{schema.Table}': {string.Join("; ", problems)}");
        }

        _loaders = loaders.ToArray();
    }

    public override bool MoveNext()
    {
        _row++;
        while (_row >= _groupRows)
        {
            if (_group + 1 >= _reader.RowGroupCount) return false;
            _rowsBefore += _groupRows;
            LoadGroup(++_group);
        }

        var row = new DataRow(_schema) { Location = RowLocation.Parquet(_file, _group, _row) };
        Current = row;
        Error = null;
        foreach (var loader in _loaders)
        {
            if (loader.Apply((int)_row, row, _validator) is not { } problem) continue;
            Error = new BadRow(row.Location, _schema.Columns[loader.Column].Name, problem.Reason, problem.Kind);
            break;
        }

        return true;
    }

    private void LoadGroup(int index)
    {
        using var group = _reader.OpenRowGroupReader(index);
        _groupRows = group.RowCount;
        _row = 0;
        foreach (var loader in _loaders)
        {
            try
            {
                loader.LoadAsync(group, _ct).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is not (OperationCanceledException or DataFileException))
            {
                throw new DataFileException($"{_file}: row group {index}, column '{_schema.Columns[loader.Column].Name}' cannot be read: {e.Message}", e);
            }
        }

        BytesSoFar += group.RowGroup.TotalByteSize;
    }

    private long BytesSoFar { get; set; }

    public override IReadOnlyList<string> RawCells() => _loaders.Select(l => l.Render((int)_row)).ToArray();

    public override long Ordinal => _rowsBefore + _row;

    public override string DescribeOrdinal(long ordinal) => $"row {ordinal} of the file";

    public override long BytesRead => BytesSoFar;

    public override void Dispose()
    {
        _reader?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _stream.Dispose();
    }
}
