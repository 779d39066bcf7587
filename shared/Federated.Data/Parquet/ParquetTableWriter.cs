using Federated.Data.Rows;
using Federated.Data.Schema;
using Federated.Data.Writing;
using Parquet;
using Parquet.Schema;

namespace Federated.Data.Parquet;

/// <summary>
/// Writes a table as Parquet, buffering one row group at a time. Physical types: ids, categories and ISO
/// timestamps as strings; numbers and Unix-second timestamps as double; flags as boolean; multi-categorical as
/// list&lt;string&gt;; vectors as list&lt;float&gt;. All nullable, so missing values round-trip. Created with
/// <see cref="CreateAsync"/>; <see cref="DisposeAsync"/> writes the last row group and the footer.
/// </summary>
public sealed class ParquetTableWriter : ITableWriter
{
    public const int DefaultRowGroupSize = 65_536;

    private readonly FileStream _stream;
    private readonly ParquetWriter _writer;
    private readonly ColumnBuffer[] _columns;
    private readonly int _rowGroupSize;
    private int _buffered;

    private ParquetTableWriter(TableSchema schema, ColumnBuffer[] columns, FileStream stream, ParquetWriter writer, int rowGroupSize)
    {
        Schema = schema;
        _columns = columns;
        _stream = stream;
        _writer = writer;
        _rowGroupSize = rowGroupSize;
    }

    /// <summary>Creates the file and its Parquet writer.</summary>
    public static async Task<ParquetTableWriter> CreateAsync(TableSchema schema, string path, int rowGroupSize = DefaultRowGroupSize,
        CancellationToken cancellationToken = default)
    {
        if (rowGroupSize <= 0) throw new ArgumentOutOfRangeException(nameof(rowGroupSize));
        var columns = schema.Columns.Select((c, i) => ColumnBuffer.For(c, i)).ToArray();
        var stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        try
        {
            var writer = await ParquetWriter.CreateAsync(new ParquetSchema(columns.Select(c => c.Field)), stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            return new ParquetTableWriter(schema, columns, stream, writer, rowGroupSize);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public TableSchema Schema { get; }

    public long RowsWritten { get; private set; }

    public ValueTask WriteAsync(DataRow row, CancellationToken cancellationToken = default)
    {
        foreach (var column in _columns) column.Add(row);
        RowsWritten++;
        return ++_buffered >= _rowGroupSize ? new ValueTask(FlushAsync(cancellationToken)) : ValueTask.CompletedTask;
    }

    private async Task FlushAsync(CancellationToken ct)
    {
        if (_buffered == 0) return;
        using (var group = _writer.CreateRowGroup())
        {
            foreach (var column in _columns) await column.WriteAsync(group, ct).ConfigureAwait(false);
        }

        _buffered = 0;
    }

    public async ValueTask DisposeAsync()
    {
        try { await FlushAsync(CancellationToken.None).ConfigureAwait(false); }
        finally
        {
            await _writer.DisposeAsync().ConfigureAwait(false);
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private abstract class ColumnBuffer(int column)
    {
        protected readonly int Column = column;

        public abstract Field Field { get; }

        public abstract void Add(DataRow row);

        public abstract Task WriteAsync(ParquetRowGroupWriter group, CancellationToken ct);

        public static ColumnBuffer For(ColumnSpec spec, int column) => spec.Kind switch
        {
            ColumnKind.Id or ColumnKind.Categorical => new TextBuffer(spec.Name, column, r => r.GetText(column)),
            ColumnKind.Timestamp when spec.TimestampFormat == TimestampFormat.Iso8601 =>
                new TextBuffer(spec.Name, column, r => r.GetTimestamp(column) is { } t ? Csv.CsvText.FormatIso8601(t) : null),
            ColumnKind.Timestamp when spec.TimestampFormat == TimestampFormat.Pattern =>
                new TextBuffer(spec.Name, column, r => r.GetTimestamp(column) is { } t ? TimestampPatterns.Format(t, spec.TimestampPattern!) : null),
            ColumnKind.Flag => new FlagBuffer(spec.Name, column),
            ColumnKind.MultiCategorical => new TokensBuffer(spec.Name, column),
            ColumnKind.Vector => new VectorBuffer(spec.Name, column),
            _ => new NumberBuffer(spec.Name, column),
        };
    }

    private sealed class TextBuffer(string name, int column, Func<DataRow, string?> get) : ColumnBuffer(column)
    {
        private readonly DataField<string> _field = new(name, true);
        private readonly List<string?> _values = new();

        public override Field Field => _field;

        public override void Add(DataRow row) => _values.Add(get(row));

        public override async Task WriteAsync(ParquetRowGroupWriter group, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested(); // the string overload takes no token
            await group.WriteAsync(_field, _values!, null).ConfigureAwait(false);
            _values.Clear();
        }
    }

    private sealed class NumberBuffer(string name, int column) : ColumnBuffer(column)
    {
        private readonly DataField<double?> _field = new(name);
        private readonly List<double?> _values = new();

        public override Field Field => _field;

        public override void Add(DataRow row) => _values.Add(row.GetNumber(Column) is var v && double.IsNaN(v) ? null : v);

        public override async Task WriteAsync(ParquetRowGroupWriter group, CancellationToken ct)
        {
            await group.WriteAsync<double>(_field, _values.ToArray().AsMemory(), null, cancellationToken: ct).ConfigureAwait(false);
            _values.Clear();
        }
    }

    private sealed class FlagBuffer(string name, int column) : ColumnBuffer(column)
    {
        private readonly DataField<bool?> _field = new(name);
        private readonly List<bool?> _values = new();

        public override Field Field => _field;

        public override void Add(DataRow row) => _values.Add(row.GetFlag(Column));

        public override async Task WriteAsync(ParquetRowGroupWriter group, CancellationToken ct)
        {
            await group.WriteAsync<bool>(_field, _values.ToArray().AsMemory(), null, cancellationToken: ct).ConfigureAwait(false);
            _values.Clear();
        }
    }

    /// <summary>Lists written with explicit levels: 0 = null list, 1 = empty list, element level = a value.</summary>
    private abstract class ListBuffer<T>(string name, int column, DataField element) : ColumnBuffer(column) where T : struct
    {
        protected readonly DataField Element = element;
        private readonly ListField _list = new(name, element);
        protected readonly List<T> Values = new();
        private readonly List<int> _definition = new();
        private readonly List<int> _repetition = new();

        public override Field Field => _list;

        protected void AddList(IReadOnlyList<T>? items)
        {
            if (items is null || items.Count == 0)
            {
                _definition.Add(items is null ? 0 : 1);
                _repetition.Add(0);
                return;
            }

            for (var i = 0; i < items.Count; i++)
            {
                Values.Add(items[i]);
                _definition.Add(Element.MaxDefinitionLevel);
                _repetition.Add(i == 0 ? 0 : 1);
            }
        }

        public override async Task WriteAsync(ParquetRowGroupWriter group, CancellationToken ct)
        {
            await group.WriteAllPartsAsync<T>(Element, Values.ToArray().AsMemory(), _definition.ToArray().AsMemory(), _repetition.ToArray().AsMemory(), ct).ConfigureAwait(false);
            Values.Clear();
            _definition.Clear();
            _repetition.Clear();
        }
    }

    private sealed class VectorBuffer(string name, int column) : ListBuffer<float>(name, column, new DataField<float>("element"))
    {
        public override void Add(DataRow row) => AddList(row.GetVector(Column));
    }

    private sealed class TokensBuffer(string name, int column) : ListBuffer<ReadOnlyMemory<char>>(name, column, new DataField<string>("element", false))
    {
        public override void Add(DataRow row) => AddList(row.GetTokens(Column).Select(t => t.AsMemory()).ToArray());
    }
}
