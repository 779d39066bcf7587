using Microsoft.Data.Sqlite;

namespace Federated.Audit;

/// <summary>
/// Read-only access to an audit log file for tools (the CLI's tail) that must not take the writer's role: opens the
/// database read-only, so it works beside a running coordinator and never creates or changes anything.
/// Reading does not verify; use <see cref="AuditVerifier"/> for that.
/// </summary>
public static class AuditReader
{
    /// <summary>Up to <paramref name="max"/> records from index <paramref name="fromIndex"/> on, in order.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">A record's time cannot be read.</exception>
    public static IReadOnlyList<AuditRecord> Read(string sqlitePath, long fromIndex, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        using var connection = OpenReadOnly(sqlitePath);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {AuditSchema.SelectColumns} FROM audit_record WHERE idx >= $from ORDER BY idx LIMIT $max";
        command.Parameters.AddWithValue("$from", fromIndex);
        command.Parameters.AddWithValue("$max", max);
        return ReadAll(command, sqlitePath);
    }

    /// <summary>The last <paramref name="count"/> records (fewer if the log is shorter), oldest first.</summary>
    public static IReadOnlyList<AuditRecord> Tail(string sqlitePath, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        using var connection = OpenReadOnly(sqlitePath);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM (SELECT {AuditSchema.SelectColumns} FROM audit_record ORDER BY idx DESC LIMIT $count) ORDER BY idx";
        command.Parameters.AddWithValue("$count", count);
        return ReadAll(command, sqlitePath);
    }

    /// <summary>Every record of one job, in index order (none for a job the log does not know).</summary>
    public static IReadOnlyList<AuditRecord> ReadJob(string sqlitePath, string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        using var connection = OpenReadOnly(sqlitePath);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {AuditSchema.SelectColumns} FROM audit_record WHERE job_id = $job ORDER BY idx";
        command.Parameters.AddWithValue("$job", jobId);
        return ReadAll(command, sqlitePath);
    }

    /// <summary>The jobs the log has records of, in the order of their first record.</summary>
    public static IReadOnlyList<string> JobIds(string sqlitePath)
    {
        using var connection = OpenReadOnly(sqlitePath);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT job_id FROM audit_record GROUP BY job_id ORDER BY MIN(idx)";
        var jobs = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
            jobs.Add(reader.GetString(0));
        return jobs;
    }

    private static SqliteConnection OpenReadOnly(string sqlitePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sqlitePath);
        if (!File.Exists(sqlitePath))
            throw new FileNotFoundException($"audit log '{sqlitePath}' does not exist", sqlitePath);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.GetFullPath(sqlitePath),
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    private static List<AuditRecord> ReadAll(SqliteCommand command, string sqlitePath)
    {
        var records = new List<AuditRecord>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var row = AuditSchema.ReadRow(reader);
            if (!AuditChain.TryParseTime(row.Time, out var time))
                throw new InvalidDataException($"audit log '{sqlitePath}': record {row.Index} has an unreadable time '{row.Time}'");
            records.Add(new AuditRecord(row.Index, time, row.Entry, row.PreviousHash, row.Hash));
        }
        return records;
    }
}
