using System.Globalization;

namespace Federated.Data.Schema;

/// <summary>Declared timestamp patterns (<see cref="TimestampFormat.Pattern"/>): checking one, parsing and writing cells.</summary>
public static class TimestampPatterns
{
    private const DateTimeStyles Styles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;

    // A date whose fields all differ from their defaults and from today's, so a pattern that drops the year is caught.
    private static readonly DateTimeOffset Probe = new(1987, 6, 5, 4, 3, 2, TimeSpan.Zero);

    /// <summary>Null when <paramref name="pattern"/> can be used, else what is wrong with it.</summary>
    public static string? Problem(string? pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern)) return "is required with timestampFormat Pattern (e.g. \"dd-MMM-yyyy\")";
        string text;
        try
        {
            text = Format(Probe, pattern);
        }
        catch (FormatException)
        {
            return $"'{pattern}' is not a .NET custom date and time format";
        }

        if (!TryParse(text, pattern, out var back))
            return $"'{pattern}' cannot read back what it writes ('{text}')";
        if (back.Year != Probe.Year)
            return $"'{pattern}' has no year (a date without one would be read in the current year)";
        return null;
    }

    /// <summary>Parses a cell exactly in the pattern (invariant culture; UTC unless the pattern has an offset).</summary>
    public static bool TryParse(string cell, string pattern, out DateTimeOffset value) =>
        DateTimeOffset.TryParseExact(cell, pattern, CultureInfo.InvariantCulture, Styles, out value);

    /// <summary>Writes a time in the pattern, in UTC.</summary>
    public static string Format(DateTimeOffset value, string pattern) =>
        value.ToUniversalTime().ToString(pattern, CultureInfo.InvariantCulture);
}
