using System.Text;
using System.Text.Json.Serialization;

namespace Federated.Data.Schema;

/// <summary>
/// How a CSV table file is laid out, for files that are not UTF-8, comma-separated and headed: the schema file's
/// <c>"csv"</c> object. Absent, a CSV file is UTF-8 (a byte-order mark is accepted), comma-separated, RFC 4180
/// quoted, with a header row.
/// </summary>
public sealed record CsvOptions
{
    /// <summary>The default layout (what a schema without <c>"csv"</c> gets).</summary>
    public static readonly CsvOptions Default = new();

    /// <summary>
    /// Text encoding: <c>utf-8</c> (default; a byte-order mark is honoured), <c>latin1</c> / <c>iso-8859-1</c>, or
    /// <c>windows-1252</c> / <c>cp1252</c>. Single-byte encodings decode every byte, so a wrongly declared file
    /// reads without error but with wrong characters.
    /// </summary>
    public string Encoding { get; init; } = "utf-8";

    /// <summary>The field separator: <c>,</c> (default), <c>\t</c> (also written <c>tab</c>), <c>|</c> or <c>;</c>.</summary>
    public string Delimiter { get; init; } = ",";

    /// <summary>True (default): the first record names the columns. False: every record is data and its fields are
    /// the schema's columns in schema order.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public bool Header { get; init; } = true;

    /// <summary>How double quotes are read: RFC 4180 quoting (default) or as ordinary characters.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public CsvQuoting Quoting { get; init; } = CsvQuoting.Rfc4180;

    /// <summary>The declared delimiter as a character, or null when it is not one of the supported ones.</summary>
    [JsonIgnore]
    public char? DelimiterChar => Delimiter switch
    {
        "," => ',',
        "\t" or "tab" or "\\t" => '\t',
        "|" => '|',
        ";" => ';',
        _ => null,
    };

    /// <summary>True when these options describe the default layout (UTF-8, comma, header, RFC 4180), however spelled.</summary>
    [JsonIgnore]
    public bool IsDefaultLayout => DelimiterChar == ',' && Header && Quoting == CsvQuoting.Rfc4180 && ResolveEncoding(Encoding) is UTF8Encoding;

    /// <summary>True for a declared encoding this reader decodes.</summary>
    [JsonIgnore]
    public bool EncodingIsSupported => ResolveEncoding(Encoding) is not null;

    /// <summary>The .NET decoder for <see cref="Encoding"/>; throws <see cref="SchemaException"/> for an unsupported one.</summary>
    public Encoding TextEncoding() =>
        ResolveEncoding(Encoding) ?? throw new SchemaException($"csv.encoding '{Encoding}' is not supported ({SupportedEncodings})");

    /// <summary>True when the decoder should honour a byte-order mark (UTF-8 only; a single-byte file has none).</summary>
    [JsonIgnore]
    public bool DetectByteOrderMark => ResolveEncoding(Encoding) is UTF8Encoding;

    internal const string SupportedEncodings = "use utf-8, latin1 (iso-8859-1) or windows-1252";

    internal const string SupportedDelimiters = "use \",\", \"\\t\", \"|\" or \";\"";

    private static Encoding? ResolveEncoding(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "utf-8" or "utf8" => System.Text.Encoding.UTF8,
        "latin1" or "latin-1" or "iso-8859-1" or "iso8859-1" => System.Text.Encoding.Latin1,
        // In the shared framework (System.Text.Encoding.CodePages); asked directly so no process-wide provider is registered.
        "windows-1252" or "cp1252" => CodePagesEncodingProvider.Instance.GetEncoding(1252),
        _ => null,
    };

    /// <summary>Problems with these options, each naming its field (empty when good).</summary>
    internal IEnumerable<string> Problems(TableSchema schema)
    {
        if (!EncodingIsSupported) yield return $"csv.encoding '{Encoding}' is not supported ({SupportedEncodings})";
        if (DelimiterChar is not { } delimiter)
        {
            yield return $"csv.delimiter '{Printable(Delimiter)}' is not supported ({SupportedDelimiters})";
            yield break;
        }

        if (Quoting != CsvQuoting.None) yield break;
        // Without quoting a cell can never hold the delimiter, so a separator equal to it could never be used.
        foreach (var c in schema.Columns)
        {
            if (c.Kind == ColumnKind.MultiCategorical && delimiter == Csv.CsvText.TokenSeparator)
                yield return $"column '{c.Name}': multi-categorical tokens are separated by '|', which is also csv.delimiter, and csv.quoting is None";
            if (c.Kind == ColumnKind.Vector && delimiter == Csv.CsvText.VectorSeparator)
                yield return $"column '{c.Name}': vector components are separated by ';', which is also csv.delimiter, and csv.quoting is None";
        }
    }

    private static string Printable(string? s) => s is null ? "null" : s.Replace("\t", "\\t").Replace("\r", "\\r").Replace("\n", "\\n");
}

/// <summary>How a CSV reader treats double quotes.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CsvQuoting>))]
public enum CsvQuoting
{
    /// <summary>RFC 4180: a field may be double-quoted, "" inside quotes is a quote, quoted fields may hold the
    /// delimiter and line breaks; a quote inside an unquoted field is a malformed record.</summary>
    Rfc4180,
    /// <summary>Quotes are ordinary characters; a field ends at the next delimiter or line break.</summary>
    None,
}
