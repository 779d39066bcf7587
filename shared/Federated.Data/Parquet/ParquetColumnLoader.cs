using System.Globalization;
using Federated.Data.Reading;
using Federated.Data.Rows;
using Federated.Data.Schema;
using Parquet;
using Parquet.Schema;

namespace Federated.Data.Parquet;

/// <summary>
/// Loads one schema column from a Parquet row group and applies row i of it to a <see cref="DataRow"/> through the
/// validator. Accepts the physical types a partner is likely to use for each kind.
/// </summary>
internal abstract class ParquetColumnLoader
{
    protected ParquetColumnLoader(int column, DataField field)
    {
        Column = column;
        Field = field;
    }

    public int Column { get; }
    public DataField Field { get; }

    public abstract Task LoadAsync(ParquetRowGroupReader group, CancellationToken ct);

    /// <summary>Null when good, else the reason.</summary>
    public abstract CellError? Apply(int row, DataRow target, CellValidator validator);

    /// <summary>Row i's cell as text, for the quarantine file.</summary>
    public abstract string Render(int row);

    public static ParquetColumnLoader Create(string file, ColumnSpec spec, int column, Field field)
    {
        string Mismatch(string expected) =>
            $"{file}: column '{spec.Name}' is {Describe(field)} but the schema says {spec.Kind}, which needs {expected}";

        if (spec.Kind is ColumnKind.Vector or ColumnKind.MultiCategorical)
        {
            if (field is not ListField { Item: DataField item })
                throw new Reading.DataFileException(Mismatch(spec.Kind == ColumnKind.Vector ? "a list<float> or list<double>" : "a list<string>"));
            return spec.Kind == ColumnKind.Vector
                ? item.ClrType == typeof(float) ? new VectorLoader<float>(column, item, v => v)
                : item.ClrType == typeof(double) ? new VectorLoader<double>(column, item, v => (float)v)
                : throw new Reading.DataFileException(Mismatch("a list<float> or list<double>"))
                : IsText(item) ? new TokensLoader(column, item) : throw new Reading.DataFileException(Mismatch("a list<string>"));
        }

        if (field is not DataField data || data.MaxRepetitionLevel > 0)
            throw new Reading.DataFileException(Mismatch("a plain (non-list) column"));
        var t = data.ClrType;
        switch (spec.Kind)
        {
            case ColumnKind.Id or ColumnKind.Categorical:
                if (IsText(data)) return new TextLoader(column, data);
                if (t == typeof(int)) return new ScalarLoader<int>(column, data, v => v.ToString(CultureInfo.InvariantCulture));
                if (t == typeof(long)) return new ScalarLoader<long>(column, data, v => v.ToString(CultureInfo.InvariantCulture));
                throw new Reading.DataFileException(Mismatch("a string, int32 or int64 column"));
            case ColumnKind.Numeric:
                return NumberLoader(column, data) ?? throw new Reading.DataFileException(Mismatch("a numeric column"));
            case ColumnKind.Flag:
                if (t == typeof(bool)) return new ScalarLoader<bool>(column, data, v => v ? 1 : 0);
                return NumberLoader(column, data) ?? throw new Reading.DataFileException(Mismatch("a boolean or integer column"));
            case ColumnKind.Timestamp:
                if (IsText(data)) return new TextLoader(column, data);
                if (t == typeof(DateTime))
                    return new ScalarLoader<DateTime>(column, data,
                        v => (DateTime.SpecifyKind(v, DateTimeKind.Utc) - DateTime.UnixEpoch).Ticks / (double)TimeSpan.TicksPerSecond);
                return NumberLoader(column, data) ?? throw new Reading.DataFileException(Mismatch("a timestamp, ISO-8601 string or Unix-seconds number"));
            default:
                throw new Reading.DataFileException(Mismatch("a supported type"));
        }
    }

    private static ParquetColumnLoader? NumberLoader(int column, DataField data)
    {
        var t = data.ClrType;
        if (t == typeof(double)) return new ScalarLoader<double>(column, data, v => v);
        if (t == typeof(float)) return new ScalarLoader<float>(column, data, v => v);
        if (t == typeof(int)) return new ScalarLoader<int>(column, data, v => v);
        if (t == typeof(long)) return new ScalarLoader<long>(column, data, v => v);
        if (t == typeof(short)) return new ScalarLoader<short>(column, data, v => v);
        if (t == typeof(bool)) return new ScalarLoader<bool>(column, data, v => v ? 1 : 0);
        return null;
    }

    private static bool IsText(DataField f) => f.ClrType == typeof(string) || f.ClrType == typeof(ReadOnlyMemory<char>);

    private static string Describe(Field f) => f switch
    {
        ListField { Item: DataField item } => $"list<{item.ClrType.Name}>",
        DataField d => d.ClrType.Name,
        _ => f.SchemaType.ToString(),
    };

    protected static int ValueCount(ParquetRowGroupReader group, DataField field) =>
        checked((int)(group.GetMetadata(field)?.MetaData?.NumValues ?? group.RowCount));

    /// <summary>A scalar column applied as text (ids, categories, ISO timestamps) or as a number.</summary>
    private sealed class TextLoader(int column, DataField field) : ParquetColumnLoader(column, field)
    {
        private string?[] _values = [];

        public override async Task LoadAsync(ParquetRowGroupReader group, CancellationToken ct)
        {
            _values = new string?[group.RowCount];
            await group.ReadAsync(Field, _values.AsMemory(), null, ct).ConfigureAwait(false);
        }

        public override CellError? Apply(int row, DataRow target, CellValidator validator)
        {
            var value = _values[row];
            var spec = target.Schema.Columns[Column];
            if (spec.Kind != ColumnKind.Timestamp) return validator.SetText(Column, value, target);
            if (string.IsNullOrWhiteSpace(value)) return spec.Nullable ? null : validator.MissingReason(Column);
            return validator.ParseCsv(Column, value, target);
        }

        public override string Render(int row) => _values[row] ?? "";
    }

    /// <summary>A scalar column of a value type, converted to text or a double.</summary>
    private sealed class ScalarLoader<T> : ParquetColumnLoader where T : struct
    {
        private readonly Func<T, string>? _toText;
        private readonly Func<T, double>? _toNumber;
        private T?[] _values = [];

        public ScalarLoader(int column, DataField field, Func<T, string> toText) : base(column, field) => _toText = toText;

        public ScalarLoader(int column, DataField field, Func<T, double> toNumber) : base(column, field) => _toNumber = toNumber;

        public override async Task LoadAsync(ParquetRowGroupReader group, CancellationToken ct)
        {
            _values = new T?[group.RowCount];
            await group.ReadAsync(Field, _values.AsMemory(), null, ct).ConfigureAwait(false);
        }

        public override CellError? Apply(int row, DataRow target, CellValidator validator)
        {
            var spec = target.Schema.Columns[Column];
            if (_values[row] is not { } value) return spec.Nullable ? null : validator.MissingReason(Column);
            if (_toText is not null) return validator.SetText(Column, _toText(value), target);
            var number = _toNumber!(value);
            return spec.Kind switch
            {
                ColumnKind.Flag when number is 0 or 1 => validator.SetFlag(Column, number == 1, target),
                ColumnKind.Flag => new CellError(BadRowKind.BadFlag, $"{number.ToString(CultureInfo.InvariantCulture)} is not a flag (expected 0 or 1)"),
                ColumnKind.Timestamp => validator.SetUnixSeconds(Column, number, target),
                _ => validator.SetNumber(Column, number, target),
            };
        }

        public override string Render(int row) => _values[row] is { } v ? Convert.ToString(v, CultureInfo.InvariantCulture) ?? "" : "";
    }

    /// <summary>Rebuilds per-row lists from definition and repetition levels.</summary>
    private abstract class ListLoader<T>(int column, DataField item) : ParquetColumnLoader(column, item) where T : struct
    {
        protected T[] Values = [];
        protected int[] Start = [];   // first value index of each row
        protected int[] Count = [];   // values in each row (-1: a null element, which is bad)

        public override async Task LoadAsync(ParquetRowGroupReader group, CancellationToken ct)
        {
            var n = ValueCount(group, Field);
            Values = new T[n];
            var definition = new int[n];
            var repetition = new int[n];
            await group.ReadRawAsync(Field, Values.AsMemory(), definition.AsMemory(), repetition.AsMemory(), ct).ConfigureAwait(false);
            var rows = (int)group.RowCount;
            Start = new int[rows];
            Count = new int[rows];
            var maxDefinition = Field.MaxDefinitionLevel;
            var row = -1;
            var next = 0;
            for (var i = 0; i < n; i++)
            {
                if (repetition[i] == 0)
                {
                    row++;
                    if (row >= rows) throw new Reading.DataFileException($"column '{Field.Path}' has more lists than the row group has rows");
                    Start[row] = next;
                }

                if (definition[i] == maxDefinition) { Count[row] += Count[row] >= 0 ? 1 : 0; next++; }
                else if (Field.IsNullable && definition[i] == maxDefinition - 1) Count[row] = -1;
            }
        }

        public override string Render(int row) =>
            Count[row] <= 0 ? "" : string.Join(Separator, Values.Skip(Start[row]).Take(Count[row]).Select(v => Format(v)));

        protected abstract char Separator { get; }

        protected abstract string Format(T value);
    }

    private sealed class VectorLoader<T>(int column, DataField item, Func<T, float> convert) : ListLoader<T>(column, item) where T : struct
    {
        public override CellError? Apply(int row, DataRow target, CellValidator validator)
        {
            var spec = target.Schema.Columns[Column];
            if (Count[row] < 0) return new CellError(BadRowKind.NotFinite, "the vector has a null component");
            if (Count[row] == 0 && spec.Nullable) return null;
            var vector = new float[Count[row]];
            for (var i = 0; i < vector.Length; i++) vector[i] = convert(Values[Start[row] + i]);
            return validator.SetVector(Column, vector, target);
        }

        protected override char Separator => Csv.CsvText.VectorSeparator;

        protected override string Format(T value) => convert(value).ToString("R", CultureInfo.InvariantCulture);
    }

    private sealed class TokensLoader(int column, DataField item) : ListLoader<ReadOnlyMemory<char>>(column, item)
    {
        public override CellError? Apply(int row, DataRow target, CellValidator validator)
        {
            if (Count[row] < 0) return new CellError(BadRowKind.EmptyToken, "the list has a null token");
            var tokens = new string[Count[row]];
            for (var i = 0; i < tokens.Length; i++) tokens[i] = Values[Start[row] + i].ToString();
            return validator.SetTokens(Column, tokens, target);
        }

        protected override char Separator => Csv.CsvText.TokenSeparator;

        protected override string Format(ReadOnlyMemory<char> value) => value.ToString();
    }
}
