using System.Text.Json.Serialization;

namespace Federated.Data.Schema;

/// <summary>What a column holds; decides how a cell is parsed, validated and encoded.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ColumnKind>))]
public enum ColumnKind
{
    /// <summary>An identifier (user or song key, or a reference to one). Non-empty text; never a model feature.</summary>
    Id,
    /// <summary>One category per row; vocabulary fitted on training rows, unseen values go to an out-of-vocabulary bucket.</summary>
    Categorical,
    /// <summary>A finite number; normalisation fitted on training rows.</summary>
    Numeric,
    /// <summary>Zero or more categories per row ('|'-separated in CSV, list&lt;string&gt; in Parquet).</summary>
    MultiCategorical,
    /// <summary>A fixed-width vector of finite floats (';'-separated in one CSV cell, list&lt;float&gt; in Parquet).</summary>
    Vector,
    /// <summary>A point in time, ISO-8601 UTC, Unix seconds or a declared pattern as the column's <see cref="ColumnSpec.TimestampFormat"/> says; read as Unix seconds.</summary>
    Timestamp,
    /// <summary>A boolean: 0/1 or true/false.</summary>
    Flag,
}

/// <summary>How a timestamp column is written in CSV (Parquet also accepts native timestamps).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TimestampFormat>))]
public enum TimestampFormat
{
    /// <summary>ISO-8601 with an explicit UTC designator or offset, e.g. 2026-01-31T12:00:00Z.</summary>
    Iso8601,
    /// <summary>Integer or fractional seconds since 1970-01-01T00:00:00Z.</summary>
    UnixSeconds,
    /// <summary>A .NET custom date/time format declared in <see cref="ColumnSpec.TimestampPattern"/> (e.g. dd-MMM-yyyy),
    /// invariant culture; UTC unless the pattern carries an offset.</summary>
    Pattern,
}

/// <summary>What a table is for; decides which roles it must name.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TableRole>))]
public enum TableRole
{
    /// <summary>One row per user: the key column plus user features.</summary>
    Users,
    /// <summary>One row per song: the key column plus metadata and descriptors.</summary>
    Songs,
    /// <summary>One row per user-song event: roles user, song and optionally time and labels.</summary>
    Interactions,
    /// <summary>Anything else (ground truth, side tables); only the key, if any, is checked.</summary>
    Other,
}

/// <summary>File format of a table.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TableFormat>))]
public enum TableFormat
{
    Csv,
    Parquet,
}
