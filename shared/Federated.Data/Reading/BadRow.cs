using Federated.Data.Rows;

namespace Federated.Data.Reading;

/// <summary>What to do with a row that breaks the schema.</summary>
public enum BadRowPolicy
{
    /// <summary>Stop the read with a <see cref="BadRowException"/> at the first bad row (the default).</summary>
    FailFast,
    /// <summary>Write the bad row to a side file, count it in the report, and go on.</summary>
    Quarantine,
}

/// <summary>
/// One rejected row: where it is, which column (null for row-level problems), why, and the value-free kind.
/// <see cref="Reason"/> may quote the offending cell or key, so it stays with the data's owner (its logs, its
/// quarantine file); reports that leave the party carry only <see cref="Kind"/>, column and counts.
/// </summary>
public sealed record BadRow(RowLocation Location, string? Column, string Reason, BadRowKind Kind)
{
    public override string ToString() =>
        Column is null ? $"{Location}: {Reason}" : $"{Location}, column '{Column}': {Reason}";
}

/// <summary>Thrown under <see cref="BadRowPolicy.FailFast"/>; the message names file, line or row, column and reason.</summary>
public sealed class BadRowException(BadRow row) : Federated.Core.InputRejectedException("bad row: " + row)
{
    public BadRow Row { get; } = row;
}

/// <summary>A data file that cannot be read at all against its schema (missing columns, wrong types, unreadable).</summary>
public sealed class DataFileException(string message, Exception? inner = null) : Federated.Core.InputRejectedException(message, inner);

/// <summary>Value-free classification of a bad row.</summary>
public enum BadRowKind
{
    /// <summary>CSV structure: unterminated quote, stray quote.</summary>
    Malformed,
    ColumnCount,
    MissingKey,
    DuplicateKey,
    MissingValue,
    NotANumber,
    /// <summary>NaN or infinity (or a null vector component).</summary>
    NotFinite,
    OutOfRange,
    VectorWidth,
    UnknownCategory,
    EmptyToken,
    TooManyTokens,
    BadFlag,
    BadTimestamp,
}
