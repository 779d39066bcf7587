using System.Globalization;
using Federated.Data.Csv;
using Federated.Data.Reading;
using Federated.Data.Schema;

namespace Federated.Data.Rows;

/// <summary>
/// Turns cells into typed row values and checks them against the schema. Every method returns null when the cell
/// is good, otherwise the reason (without the column name; the caller adds location and column).
/// Reasons never quote numeric feature values beyond the offending token, so reports stay inside the party.
/// </summary>
public sealed class CellValidator
{
    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd",
    ];

    private readonly TableSchema _schema;
    private readonly HashSet<string>?[] _allowed;

    public CellValidator(TableSchema schema)
    {
        _schema = schema;
        _allowed = schema.Columns
            .Select(c => c.Strict && c.Categories is not null ? new HashSet<string>(c.Categories, StringComparer.Ordinal) : null)
            .ToArray();
    }

    /// <summary>Parses a CSV cell into the row.</summary>
    public CellError? ParseCsv(int column, string cell, DataRow row)
    {
        var spec = _schema.Columns[column];
        if (cell.Length == 0 || (spec.Kind is ColumnKind.Id or ColumnKind.Numeric or ColumnKind.Flag or ColumnKind.Timestamp && string.IsNullOrWhiteSpace(cell)))
        {
            if (spec.Kind == ColumnKind.MultiCategorical) { row.SetTokens(column, []); return null; }
            return spec.Nullable ? null : MissingReason(column);
        }

        switch (spec.Kind)
        {
            case ColumnKind.Id:
            case ColumnKind.Categorical:
                return SetText(column, cell, row);
            case ColumnKind.Numeric:
                if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                    return Fail(BadRowKind.NotANumber, $"'{Clip(cell)}' is not a number");
                return SetNumber(column, number, row);
            case ColumnKind.Flag:
                return cell.Trim().ToLowerInvariant() switch
                {
                    "1" or "true" => SetFlag(column, true, row),
                    "0" or "false" => SetFlag(column, false, row),
                    _ => Fail(BadRowKind.BadFlag, $"'{Clip(cell)}' is not a flag (expected 0, 1, true or false)"),
                };
            case ColumnKind.Timestamp:
                return ParseTimestamp(column, cell.Trim(), spec, row);
            case ColumnKind.MultiCategorical:
                return SetTokens(column, cell.Split(CsvText.TokenSeparator), row);
            case ColumnKind.Vector:
                return ParseVector(column, cell, spec.Width!.Value, row);
            default:
                throw new InvalidOperationException($"unknown column kind {spec.Kind}");
        }
    }

    public CellError MissingReason(int column) =>
        column == _schema.KeyIndex ? Fail(BadRowKind.MissingKey, "missing key") : Fail(BadRowKind.MissingValue, "missing value in a non-nullable column");

    private static CellError Fail(BadRowKind kind, string reason) => new(kind, reason);

    public CellError? SetText(int column, string? value, DataRow row)
    {
        var spec = _schema.Columns[column];
        if (string.IsNullOrEmpty(value) || (spec.Kind == ColumnKind.Id && string.IsNullOrWhiteSpace(value)))
            return spec.Nullable ? null : MissingReason(column);
        if (_allowed[column] is { } allowed && !allowed.Contains(value))
            return Fail(BadRowKind.UnknownCategory, $"unknown category '{Clip(value)}' (strict mode; {allowed.Count} categories declared)");
        row.SetText(column, value);
        return null;
    }

    public CellError? SetNumber(int column, double value, DataRow row)
    {
        var spec = _schema.Columns[column];
        if (double.IsNaN(value)) return Fail(BadRowKind.NotFinite, "NaN is not allowed (leave the cell empty in a nullable column for a missing value)");
        if (double.IsInfinity(value)) return Fail(BadRowKind.NotFinite, $"{(value > 0 ? "+" : "-")}infinity is not allowed");
        if (value < spec.Min) return Fail(BadRowKind.OutOfRange, $"{value.ToString(CultureInfo.InvariantCulture)} is below the minimum {spec.Min.Value.ToString(CultureInfo.InvariantCulture)}");
        if (value > spec.Max) return Fail(BadRowKind.OutOfRange, $"{value.ToString(CultureInfo.InvariantCulture)} is above the maximum {spec.Max.Value.ToString(CultureInfo.InvariantCulture)}");
        row.SetNumber(column, value);
        return null;
    }

    public CellError? SetFlag(int column, bool value, DataRow row)
    {
        row.SetFlag(column, value);
        return null;
    }

    public CellError? SetTimestamp(int column, DateTimeOffset value, DataRow row)
    {
        row.SetTimestamp(column, value);
        return null;
    }

    public CellError? SetUnixSeconds(int column, double seconds, DataRow row)
    {
        if (!double.IsFinite(seconds)) return Fail(BadRowKind.BadTimestamp, "timestamp is not a finite number of seconds");
        if (Math.Abs(seconds) > 253402300799) return Fail(BadRowKind.BadTimestamp, $"{seconds.ToString(CultureInfo.InvariantCulture)} seconds is outside the representable dates");
        row.SetNumber(column, seconds);
        return null;
    }

    public CellError? SetTokens(int column, string[] tokens, DataRow row)
    {
        var spec = _schema.Columns[column];
        if (spec.MaxTokens is { } max && tokens.Length > max) return Fail(BadRowKind.TooManyTokens, $"{tokens.Length} tokens, at most {max} allowed");
        for (var i = 0; i < tokens.Length; i++)
        {
            if (tokens[i].Length == 0) return Fail(BadRowKind.EmptyToken, $"token {i + 1} is empty (tokens are separated by '{CsvText.TokenSeparator}')");
            if (_allowed[column] is { } allowed && !allowed.Contains(tokens[i]))
                return Fail(BadRowKind.UnknownCategory, $"unknown category '{Clip(tokens[i])}' in token {i + 1} (strict mode; {allowed.Count} categories declared)");
        }

        row.SetTokens(column, tokens);
        return null;
    }

    public CellError? SetVector(int column, float[] vector, DataRow row)
    {
        var width = _schema.Columns[column].Width!.Value;
        if (vector.Length != width) return Fail(BadRowKind.VectorWidth, $"vector has {vector.Length} components, expected width {width}");
        for (var i = 0; i < vector.Length; i++)
            if (!float.IsFinite(vector[i]))
                return Fail(BadRowKind.NotFinite, $"component {i + 1} is {(float.IsNaN(vector[i]) ? "NaN" : "infinite")}; vectors must be finite");
        row.SetVector(column, vector);
        return null;
    }

    private CellError? ParseVector(int column, string cell, int width, DataRow row)
    {
        var span = cell.AsSpan();
        var parts = span.Count(CsvText.VectorSeparator) + 1;
        if (parts != width) return Fail(BadRowKind.VectorWidth, $"vector has {parts} components, expected width {width} (components are separated by '{CsvText.VectorSeparator}')");
        var vector = new float[width];
        var i = 0;
        foreach (var range in span.Split(CsvText.VectorSeparator))
        {
            var token = span[range];
            if (!float.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out vector[i]))
                return Fail(BadRowKind.NotANumber, $"component {i + 1} '{Clip(token.ToString())}' is not a number");
            i++;
        }

        return SetVector(column, vector, row);
    }

    private CellError? ParseTimestamp(int column, string cell, ColumnSpec spec, DataRow row)
    {
        var format = spec.TimestampFormat!.Value;
        if (format == TimestampFormat.Pattern)
            return TimestampPatterns.TryParse(cell, spec.TimestampPattern!, out var declared)
                ? SetTimestamp(column, declared, row)
                : Fail(BadRowKind.BadTimestamp, $"'{Clip(cell)}' is not a date in the declared pattern '{spec.TimestampPattern}'");
        if (format == TimestampFormat.UnixSeconds)
            return double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
                ? SetUnixSeconds(column, seconds, row)
                : Fail(BadRowKind.BadTimestamp, $"'{Clip(cell)}' is not Unix seconds");
        return DateTimeOffset.TryParseExact(cell, IsoFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? SetTimestamp(column, time, row)
            : Fail(BadRowKind.BadTimestamp, $"'{Clip(cell)}' is not an ISO-8601 timestamp (e.g. 2026-01-31T12:00:00Z)");
    }

    // Bad values are echoed to the owner's own report; clip them so a huge cell does not flood it.
    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "…";
}

/// <summary>What is wrong with a cell: a value-free kind (safe for reports that leave the party) and a precise reason.</summary>
public readonly record struct CellError(BadRowKind Kind, string Reason);
