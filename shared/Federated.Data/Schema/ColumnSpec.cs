using System.Text.Json.Serialization;

namespace Federated.Data.Schema;

/// <summary>One column of a table schema: its name in the file, its kind and the kind's options.</summary>
public sealed record ColumnSpec
{
    /// <summary>Column name exactly as in the CSV header or Parquet schema.</summary>
    public required string Name { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public required ColumnKind Kind { get; init; }

    /// <summary>When true an empty cell (or Parquet null) is a missing value; otherwise it is a bad row.</summary>
    public bool Nullable { get; init; }

    /// <summary>Whether the preprocessing turns this column into model input. Defaults: Id columns never; others yes.</summary>
    public bool? Feature { get; init; }

    /// <summary>Categorical and multi-categorical: the declared categories (optional). Required when <see cref="Strict"/>.</summary>
    public IReadOnlyList<string>? Categories { get; init; }

    /// <summary>Categorical and multi-categorical: reject any value not in <see cref="Categories"/> at read time.</summary>
    public bool Strict { get; init; }

    /// <summary>Numeric: inclusive bounds; values outside are bad rows.</summary>
    public double? Min { get; init; }

    public double? Max { get; init; }

    /// <summary>Vector: the exact number of components.</summary>
    public int? Width { get; init; }

    /// <summary>Multi-categorical: the most tokens a cell may hold (optional).</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Timestamp: how CSV cells are written.</summary>
    public TimestampFormat? TimestampFormat { get; init; }

    /// <summary>Timestamp with <see cref="Schema.TimestampFormat.Pattern"/>: the .NET custom format of the cells, e.g.
    /// <c>dd-MMM-yyyy</c> for <c>01-Jan-1995</c> (invariant culture, so English month names). It must include the year.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TimestampPattern { get; init; }

    /// <summary>Free text for partners and auditors.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Description { get; init; }

    /// <summary>True when this column is model input (see <see cref="Feature"/>).</summary>
    [JsonIgnore]
    public bool IsFeature => Feature ?? Kind != ColumnKind.Id;
}
