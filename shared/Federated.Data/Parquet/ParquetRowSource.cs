using Federated.Data.Reading;
using Federated.Data.Rows;
using Federated.Data.Schema;
using Parquet;
using Parquet.Schema;

namespace Federated.Data.Parquet;

/// <summary>
/// Reads a Parquet file one row group at a time (memory is one row group, flat in the number of groups) and checks
/// each row against the schema. Parquet.Net's API is asynchronous only, so this source is opened with
/// <see cref="OpenAsync"/> and loads each row group asynchronously.
/// </summary>
internal sealed class ParquetRowSource : RowSource
{
    private readonly TableSchema _schema;
    private readonly string _file;
    private readonly GuardedParquetStream _stream;
    private readonly ParquetReader _reader;
    private readonly ParquetColumnLoader[] _loaders;
    private readonly CellValidator _validator;
    private int _group = -1;
    private long _groupRows;
    private long _row = -1;
    private long _rowsBefore;

    private ParquetRowSource(TableSchema schema, string path, GuardedParquetStream stream, ParquetReader reader, ParquetColumnLoader[] loaders)
    {
        _schema = schema;
        _file = path;
        _stream = stream;
        _reader = reader;
        _loaders = loaders;
        _validator = new CellValidator(schema);
    }

    /// <summary>Opens the file and checks its columns against the schema.</summary>
    public static async Task<ParquetRowSource> OpenAsync(TableSchema schema, string path, CancellationToken ct)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        var stream = new GuardedParquetStream(file);
        ParquetReader? reader = null;
        Dictionary<string, global::Parquet.Schema.Field> fields;
        try
        {
            await ParquetFooterCheck.CheckAsync(file, ct).ConfigureAwait(false);
            reader = await ParquetReader.CreateAsync(stream, null, false, ct).ConfigureAwait(false);
            // The footer's schema is decoded on first use: a corrupt one fails here, not later.
            var declared = reader.Schema.Fields;
            fields = new Dictionary<string, global::Parquet.Schema.Field>(StringComparer.Ordinal);
            foreach (var field in declared)
                if (!fields.TryAdd(field.Name, field))
                    throw new InvalidDataException($"column '{field.Name}' appears twice in the file's schema");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (reader is not null) await reader.DisposeAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
            throw new DataFileException($"{path}: not a readable Parquet file: {e.Message}", e);
        }
        catch
        {
            if (reader is not null) await reader.DisposeAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }

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

        var source = new ParquetRowSource(schema, path, stream, reader, loaders.ToArray());
        if (problems.Count > 0)
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw new DataFileException($"{path} does not match schema '{schema.Table}': {string.Join("; ", problems)}");
        }

        return source;
    }

    public override async ValueTask<bool> MoveNextAsync(CancellationToken ct)
    {
        _row++;
        while (_row >= _groupRows)
        {
            if (_group + 1 >= _reader.RowGroupCount) return false;
            _rowsBefore += _groupRows;
            await LoadGroupAsync(++_group, ct).ConfigureAwait(false);
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

    private async Task LoadGroupAsync(int index, CancellationToken ct)
    {
        using var group = _reader.OpenRowGroupReader(index);
        _groupRows = group.RowCount;
        _row = 0;
        foreach (var loader in _loaders)
        {
            try
            {
                await loader.LoadAsync(group, ct).ConfigureAwait(false);
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

    public override async ValueTask DisposeAsync()
    {
        await _reader.DisposeAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
    }
}
