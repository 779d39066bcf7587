using System.Globalization;
using System.Text;

namespace Federated.Data.Csv;

/// <summary>
/// The project-wide CSV cell conventions: a vector is one cell of ';'-separated invariant-culture floats, a
/// multi-categorical cell is '|'-separated tokens, fields are quoted only when they must be.
/// </summary>
public static class CsvText
{
    public const char VectorSeparator = ';';
    public const char TokenSeparator = '|';

    /// <summary>Appends a field, quoting it when it holds a comma, quote or line break.</summary>
    public static void AppendField(StringBuilder line, string value)
    {
        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            line.Append(value);
            return;
        }

        line.Append('"');
        foreach (var c in value)
        {
            if (c == '"') line.Append('"');
            line.Append(c);
        }

        line.Append('"');
    }

    /// <summary>Formats a vector cell: shortest round-trip invariant floats joined by ';'.</summary>
    public static string FormatVector(ReadOnlySpan<float> vector)
    {
        var sb = new StringBuilder(vector.Length * 10);
        for (var i = 0; i < vector.Length; i++)
        {
            if (i > 0) sb.Append(VectorSeparator);
            sb.Append(vector[i].ToString("R", CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    public static string FormatTokens(IReadOnlyList<string> tokens) => string.Join(TokenSeparator, tokens);

    public static string FormatNumber(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>ISO-8601 UTC with a 'Z' designator, whole seconds when possible.</summary>
    public static string FormatIso8601(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        return utc.Ticks % TimeSpan.TicksPerSecond == 0
            ? utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
    }
}
