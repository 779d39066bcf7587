using System.Text.Json;
using System.Text.Json.Serialization;

namespace Federated.Data.Schema;

/// <summary>
/// The contract for one party table: which file, which column is the key, what each column holds, and which
/// columns play which role (user, song, time, labels). Loaded from a JSON schema file that partners write.
/// </summary>
public sealed record TableSchema
{
    /// <summary>Schema file format version; bump on incompatible changes.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public int FormatVersion { get; init; } = 1;

    /// <summary>A name for reports (e.g. "users", "songs").</summary>
    public required string Table { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public required TableRole Role { get; init; }

    /// <summary>The data file, relative to the schema file's folder (optional: readers may be given a path).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? File { get; init; }

    /// <summary>Format of <see cref="File"/>; when absent, taken from the file extension.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TableFormat? Format { get; init; }

    /// <summary>CSV layout (encoding, delimiter, header, quoting); null means UTF-8, comma-separated, RFC 4180, with a header.
    /// Only for CSV files.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CsvOptions? Csv { get; init; }

    /// <summary>The CSV layout in force: <see cref="Csv"/> or the default one.</summary>
    [JsonIgnore]
    public CsvOptions CsvLayout => Csv ?? CsvOptions.Default;

    /// <summary>The column whose values must be present and unique (users and songs tables). Optional for interactions.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Key { get; init; }

    /// <summary>Role name → column name, e.g. { "user": "uid", "song": "track", "listenRatio": "ratio" }.</summary>
    public IReadOnlyDictionary<string, string> Roles { get; init; } = new Dictionary<string, string>();

    public required IReadOnlyList<ColumnSpec> Columns { get; init; }

    /// <summary>When true, CSV headers and Parquet files may carry columns the schema does not name; they are ignored.</summary>
    public bool AllowExtraColumns { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Description { get; init; }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        // Omit false/null options so schema files stay short; kinds and roles are always written (see [JsonIgnore(Never)]).
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
    };

    /// <summary>Index of a column by name, or -1.</summary>
    public int IndexOf(string column)
    {
        for (var i = 0; i < Columns.Count; i++)
            if (string.Equals(Columns[i].Name, column, StringComparison.Ordinal))
                return i;
        return -1;
    }

    /// <summary>Index of a column by name; throws naming the table when absent.</summary>
    public int RequireColumn(string column) =>
        IndexOf(column) is var i and >= 0 ? i : throw new SchemaException($"table '{Table}': no column named '{column}'");

    /// <summary>Column index of the key, or -1 when the table has none.</summary>
    [JsonIgnore]
    public int KeyIndex => Key is null ? -1 : IndexOf(Key);

    /// <summary>Column index playing a role, or -1 when the schema does not name it.</summary>
    public int RoleIndex(string role) => Roles.TryGetValue(role, out var column) ? IndexOf(column) : -1;

    /// <summary>Checks the schema is self-consistent; throws <see cref="SchemaException"/> listing every problem.</summary>
    public TableSchema Validate()
    {
        var problems = new List<string>();
        if (FormatVersion != 1) problems.Add($"formatVersion {FormatVersion} is not supported (expected 1)");
        if (string.IsNullOrWhiteSpace(Table)) problems.Add("table name is empty");
        if (Columns.Count == 0) problems.Add("no columns");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in Columns)
        {
            var at = $"column '{c.Name}'";
            if (string.IsNullOrWhiteSpace(c.Name)) problems.Add("a column has an empty name");
            else if (!seen.Add(c.Name)) problems.Add($"{at} is declared twice");
            if (c.Kind == ColumnKind.Vector && c.Width is not > 0) problems.Add($"{at}: a vector needs a positive width");
            if (c.Kind != ColumnKind.Vector && c.Width is not null) problems.Add($"{at}: width is only for vectors");
            if (c.Strict && (c.Kind is not (ColumnKind.Categorical or ColumnKind.MultiCategorical)))
                problems.Add($"{at}: strict is only for categorical columns");
            if (c.Strict && (c.Categories is null || c.Categories.Count == 0))
                problems.Add($"{at}: strict mode needs the list of categories");
            if (c.Categories is not null && c.Kind is not (ColumnKind.Categorical or ColumnKind.MultiCategorical))
                problems.Add($"{at}: categories are only for categorical columns");
            if ((c.Min is not null || c.Max is not null) && c.Kind != ColumnKind.Numeric)
                problems.Add($"{at}: min/max are only for numeric columns");
            if (c.Min > c.Max) problems.Add($"{at}: min {c.Min} > max {c.Max}");
            if (c.Kind == ColumnKind.Timestamp && c.TimestampFormat is null)
                problems.Add($"{at}: a timestamp needs timestampFormat (Iso8601, UnixSeconds or Pattern)");
            if (c.Kind == ColumnKind.Timestamp && c.TimestampFormat == Schema.TimestampFormat.Pattern
                && TimestampPatterns.Problem(c.TimestampPattern) is { } patternProblem)
                problems.Add($"{at}: timestampPattern {patternProblem}");
            if (c.TimestampPattern is not null && c.TimestampFormat != Schema.TimestampFormat.Pattern)
                problems.Add($"{at}: timestampPattern is only for timestamps with timestampFormat Pattern");
            if (c.MaxTokens is not null && c.Kind != ColumnKind.MultiCategorical)
                problems.Add($"{at}: maxTokens is only for multi-categorical columns");
        }

        if (Key is not null)
        {
            var k = IndexOf(Key);
            if (k < 0) problems.Add($"key '{Key}' is not a column");
            else if (Columns[k].Kind != ColumnKind.Id) problems.Add($"key '{Key}' must be an Id column");
            else if (Columns[k].Nullable) problems.Add($"key '{Key}' cannot be nullable");
        }

        foreach (var (role, column) in Roles)
        {
            var i = IndexOf(column);
            if (i < 0) { problems.Add($"role '{role}' names '{column}', which is not a column"); continue; }
            var expected = InteractionRoles.ExpectedKind(role);
            if (expected is not null && Columns[i].Kind != expected)
                problems.Add($"role '{role}' needs a {expected} column but '{column}' is {Columns[i].Kind}");
        }

        if (Csv is not null)
        {
            problems.AddRange(Csv.Problems(this));
            if (Format == TableFormat.Parquet) problems.Add("csv options are given but the format is Parquet");
        }

        switch (Role)
        {
            case TableRole.Users or TableRole.Songs when Key is null:
                problems.Add($"a {Role} table needs a key column");
                break;
            case TableRole.Interactions:
                foreach (var role in new[] { InteractionRoles.User, InteractionRoles.Song })
                    if (!Roles.ContainsKey(role)) problems.Add($"an interactions table needs the role '{role}'");
                break;
        }

        if (problems.Count > 0)
            throw new SchemaException($"schema for table '{Table}' is invalid: " + string.Join("; ", problems));
        return this;
    }

    /// <summary>Reads and validates a schema file.</summary>
    public static TableSchema Load(string path)
    {
        TableSchema? schema;
        try
        {
            using var stream = System.IO.File.OpenRead(path);
            schema = JsonSerializer.Deserialize<TableSchema>(stream, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new SchemaException($"schema file '{path}' is not valid: {e.Message}", e);
        }

        if (schema is null) throw new SchemaException($"schema file '{path}' is empty");
        try
        {
            return schema.Validate();
        }
        catch (SchemaException e)
        {
            throw new SchemaException($"schema file '{path}': {e.Message}", e);
        }
    }

    public static TableSchema Parse(string json)
    {
        try
        {
            return (JsonSerializer.Deserialize<TableSchema>(json, JsonOptions) ?? throw new SchemaException("empty schema")).Validate();
        }
        catch (JsonException e)
        {
            throw new SchemaException($"schema is not valid: {e.Message}", e);
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public void Save(string path) => System.IO.File.WriteAllText(path, ToJson() + "\n");

    /// <summary>The data file named by this schema, resolved against the schema file's folder.</summary>
    public string ResolveDataPath(string schemaPath) =>
        File is null
            ? throw new SchemaException($"schema '{schemaPath}' names no data file")
            : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(schemaPath))!, File));

    /// <summary>The format of a data file: the schema's, else from the extension.</summary>
    /// <summary>The format of a data file: the schema's, else from the extension; a file with another extension is CSV
    /// when the schema gives csv options (e.g. <c>u.data</c>). Csv options for a Parquet file are refused.</summary>
    public TableFormat FormatOf(string dataPath)
    {
        var format = Format ?? Path.GetExtension(dataPath).ToLowerInvariant() switch
        {
            ".csv" => TableFormat.Csv,
            ".parquet" or ".pq" => TableFormat.Parquet,
            _ when Csv is not null => TableFormat.Csv,
            var ext => throw new SchemaException($"cannot tell the format of '{dataPath}' from '{ext}'; set \"format\" in the schema"),
        };
        if (format == TableFormat.Parquet && Csv is not null)
            throw new SchemaException($"table '{Table}': csv options are given but '{dataPath}' is a Parquet file");
        return format;
    }
}

/// <summary>A schema that is unreadable or inconsistent.</summary>
public sealed class SchemaException(string message, Exception? inner = null) : Federated.Core.InputRejectedException(message, inner);
