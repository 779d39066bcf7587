using Federated.Data.Schema;

namespace Federated.Data.Rows;

/// <summary>
/// One validated row, typed by its schema. Readers produce them; writers consume them (build one with the
/// setters). Id and categorical cells are strings, numeric, flag and timestamp cells are doubles (NaN = missing;
/// timestamps as Unix seconds), multi-categorical cells are string arrays, vectors are float arrays.
/// </summary>
public sealed class DataRow
{
    private readonly object?[] _refs;
    private readonly double[] _numbers;

    public DataRow(TableSchema schema)
    {
        Schema = schema;
        _refs = new object?[schema.Columns.Count];
        _numbers = new double[schema.Columns.Count];
        Array.Fill(_numbers, double.NaN);
    }

    public TableSchema Schema { get; }

    /// <summary>Where the row came from (file and line, or row group and row).</summary>
    public RowLocation Location { get; internal set; }

    /// <summary>The key cell, or null when the table has no key.</summary>
    public string? Key => Schema.KeyIndex is var k and >= 0 ? (string?)_refs[k] : null;

    /// <summary>Id or categorical cell; null when missing.</summary>
    public string? GetText(int column) => (string?)_refs[column];

    public string? GetText(string column) => GetText(Schema.RequireColumn(column));

    /// <summary>Numeric, flag (0/1) or timestamp (Unix seconds) cell; NaN when missing.</summary>
    public double GetNumber(int column) => _numbers[column];

    public double GetNumber(string column) => GetNumber(Schema.RequireColumn(column));

    public bool? GetFlag(int column) => double.IsNaN(_numbers[column]) ? null : _numbers[column] != 0;

    public DateTimeOffset? GetTimestamp(int column) =>
        double.IsNaN(_numbers[column]) ? null : DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(_numbers[column] * TimeSpan.TicksPerSecond));

    /// <summary>Multi-categorical cell; empty when the row has no tokens.</summary>
    public IReadOnlyList<string> GetTokens(int column) => (string[]?)_refs[column] ?? [];

    public IReadOnlyList<string> GetTokens(string column) => GetTokens(Schema.RequireColumn(column));

    /// <summary>Vector cell; null when missing (only possible for a nullable column).</summary>
    public float[]? GetVector(int column) => (float[]?)_refs[column];

    public float[]? GetVector(string column) => GetVector(Schema.RequireColumn(column));

    public DataRow SetText(int column, string? value) { _refs[column] = value; return this; }

    public DataRow SetNumber(int column, double value) { _numbers[column] = value; return this; }

    public DataRow SetFlag(int column, bool? value) { _numbers[column] = value is null ? double.NaN : value.Value ? 1 : 0; return this; }

    public DataRow SetTimestamp(int column, DateTimeOffset? value)
    {
        _numbers[column] = value is null ? double.NaN : (value.Value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerSecond;
        return this;
    }

    public DataRow SetTokens(int column, string[]? tokens) { _refs[column] = tokens; return this; }

    public DataRow SetVector(int column, float[]? vector) { _refs[column] = vector; return this; }

    /// <summary>Clears every cell so the row can be reused by a writer.</summary>
    public void Clear()
    {
        Array.Clear(_refs);
        Array.Fill(_numbers, double.NaN);
    }
}

/// <summary>Where a row is in its source: a CSV line, or a Parquet row group and row.</summary>
public readonly record struct RowLocation(string File, long Line, int RowGroup, long RowInGroup)
{
    public static RowLocation Csv(string file, long line) => new(file, line, -1, -1);

    public static RowLocation Parquet(string file, int rowGroup, long row) => new(file, -1, rowGroup, row);

    public override string ToString() =>
        RowGroup >= 0 ? $"{File}: row group {RowGroup}, row {RowInGroup}" : $"{File}: line {Line}";
}
