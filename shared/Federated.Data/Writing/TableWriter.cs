using System.Globalization;
using System.Text;
using Federated.Data.Csv;
using Federated.Data.Parquet;
using Federated.Data.Rows;
using Federated.Data.Schema;

namespace Federated.Data.Writing;

/// <summary>
/// Writes rows of one table in the project's CSV or Parquet conventions. Streams; memory is one batch. Asynchronous
/// (Parquet.Net has no synchronous API); <see cref="IAsyncDisposable.DisposeAsync"/> completes the file.
/// </summary>
public interface ITableWriter : IAsyncDisposable
{
    TableSchema Schema { get; }

    long RowsWritten { get; }

    /// <summary>Writes a row (the writer copies what it needs, so the row may be reused).</summary>
    ValueTask WriteAsync(DataRow row, CancellationToken cancellationToken = default);
}

public static class TableWriter
{
    /// <summary>Creates a writer for the schema's format (or the extension of <paramref name="path"/>).</summary>
    public static async Task<ITableWriter> CreateAsync(TableSchema schema, string path, int parquetRowGroupSize = ParquetTableWriter.DefaultRowGroupSize,
        CancellationToken cancellationToken = default) =>
        schema.FormatOf(path) == TableFormat.Csv
            ? await CsvTableWriter.CreateAsync(schema, path, cancellationToken).ConfigureAwait(false)
            : await ParquetTableWriter.CreateAsync(schema, path, parquetRowGroupSize, cancellationToken).ConfigureAwait(false);
}

/// <summary>CSV with a header row (UTF-8, comma-separated, RFC 4180 quoting: the default <see cref="CsvOptions"/>); cells per <see cref="CsvText"/>.</summary>
public sealed class CsvTableWriter : ITableWriter
{
    private readonly StreamWriter _out;
    private readonly StringBuilder _line = new();

    private CsvTableWriter(TableSchema schema, string path)
    {
        Schema = schema;
        _out = new StreamWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous), new UTF8Encoding(false), 1 << 16);
        _out.NewLine = "\n";
    }

    /// <summary>Creates the file and writes the header row.</summary>
    public static async Task<CsvTableWriter> CreateAsync(TableSchema schema, string path, CancellationToken cancellationToken = default)
    {
        // The readers take partners' layouts; what we write is always our own one, so a schema saying otherwise would misdescribe the file.
        if (!schema.CsvLayout.IsDefaultLayout)
            throw new SchemaException($"table '{schema.Table}': CSV files are written UTF-8, comma-separated, RFC 4180 quoted, with a header; " +
                "the schema declares another csv layout (write with the schema without \"csv\")");
        var writer = new CsvTableWriter(schema, path);
        try
        {
            for (var c = 0; c < schema.Columns.Count; c++)
            {
                if (c > 0) writer._line.Append(',');
                CsvText.AppendField(writer._line, schema.Columns[c].Name);
            }

            await writer._out.WriteLineAsync(writer._line, cancellationToken).ConfigureAwait(false);
            return writer;
        }
        catch
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public TableSchema Schema { get; }

    public long RowsWritten { get; private set; }

    public async ValueTask WriteAsync(DataRow row, CancellationToken cancellationToken = default)
    {
        _line.Clear();
        for (var c = 0; c < Schema.Columns.Count; c++)
        {
            if (c > 0) _line.Append(',');
            CsvText.AppendField(_line, FormatCell(Schema.Columns[c], c, row));
        }

        await _out.WriteLineAsync(_line, cancellationToken).ConfigureAwait(false);
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
                return spec.TimestampFormat switch
                {
                    TimestampFormat.UnixSeconds => seconds.ToString("R", CultureInfo.InvariantCulture),
                    TimestampFormat.Pattern => TimestampPatterns.Format(row.GetTimestamp(c)!.Value, spec.TimestampPattern!),
                    _ => CsvText.FormatIso8601(row.GetTimestamp(c)!.Value),
                };
            default:
                var number = row.GetNumber(c);
                return double.IsNaN(number) ? "" : CsvText.FormatNumber(number);
        }
    }

    public ValueTask DisposeAsync() => _out.DisposeAsync();
}
