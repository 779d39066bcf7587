using System.Globalization;
using System.Text;
using Federated.Data.Csv;
using Federated.Data.Parquet;
using Federated.Data.Rows;
using Federated.Data.Schema;

namespace Federated.Data.Writing;

/// <summary>Writes rows of one table in the project's CSV or Parquet conventions. Streams; memory is one batch.</summary>
public interface ITableWriter : IDisposable
{
    TableSchema Schema { get; }

    long RowsWritten { get; }

    /// <summary>Writes a row (the writer copies what it needs, so the row may be reused).</summary>
    void Write(DataRow row);
}

public static class TableWriter
{
    /// <summary>Creates a writer for the schema's format (or the extension of <paramref name="path"/>).</summary>
    public static ITableWriter Create(TableSchema schema, string path, int parquetRowGroupSize = ParquetTableWriter.DefaultRowGroupSize) =>
        schema.FormatOf(path) == TableFormat.Csv
            ? new CsvTableWriter(schema, path)
            : new ParquetTableWriter(schema, path, parquetRowGroupSize);
}

/// <summary>CSV with a header row; cells per <see cref="CsvText"/>.</summary>
public sealed class CsvTableWriter : ITableWriter
{
    private readonly StreamWriter _out;
    private readonly StringBuilder _line = new();

    public CsvTableWriter(TableSchema schema, string path)
    {
        Schema = schema;
        _out = new StreamWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16), new UTF8Encoding(false), 1 << 16);
        _out.NewLine = "\n";
        for (var c = 0; c < schema.Columns.Count; c++)
        {
            if (c > 0) _line.Append(',');
            CsvText.AppendField(_line, schema.Columns[c].Name);
        }

        _out.WriteLine(_line.ToString());
    }

    public TableSchema Schema { get; }

    public long RowsWritten { get; private set; }

    public void Write(DataRow row)
    {
        _line.Clear();
        for (var c = 0; c < Schema.Columns.Count; c++)
        {
            if (c > 0) _line.Append(',');
            CsvText.AppendField(_line, FormatCell(Schema.Columns[c], c, row));
        }

        _out.WriteLine(_line.ToString());
        RowsWritten++;
    }

    private static string FormatCell(ColumnSpec spec, int c, DataRow row)
    {
        switch (spec.Kind)
        {
            case ColumnKind.Id or ColumnKind.Categorical:
                return row.GetText(c) ?? "";
            case ColumnKind.MultiCategorical:
                return CsvText.FormatTokens(row.GetTokens(c));
            case ColumnKind.Vector:
                return row.GetVector(c) is { } v ? CsvText.FormatVector(v) : "";
            case ColumnKind.Flag:
                return row.GetFlag(c) is { } f ? (f ? "1" : "0") : "";
            case ColumnKind.Timestamp:
                var seconds = row.GetNumber(c);
                if (double.IsNaN(seconds)) return "";
                return spec.TimestampFormat == TimestampFormat.UnixSeconds
                    ? seconds.ToString("R", CultureInfo.InvariantCulture)
                    : CsvText.FormatIso8601(row.GetTimestamp(c)!.Value);
            default:
                var number = row.GetNumber(c);
                return double.IsNaN(number) ? "" : CsvText.FormatNumber(number);
        }
    }

    public void Dispose() => _out.Dispose();
}
