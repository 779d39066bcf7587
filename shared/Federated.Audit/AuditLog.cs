using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Federated.Audit;

/// <summary>Settings of an <see cref="AuditLog"/>.</summary>
public sealed record AuditLogOptions
{
    /// <summary>
    /// Sync the database on every append (SQLite <c>synchronous=FULL</c>). The default (<c>NORMAL</c> in WAL mode)
    /// never corrupts the log but may lose the last appends on power loss.
    /// </summary>
    public bool SyncEveryAppend { get; init; }

    /// <summary>Clock used for record times.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>
/// The coordinator's append-only, hash-chained audit log in SQLite. Each record's hash is
/// SHA-256(previous hash || canonical record), and an anchor row (record count and head hash, HMAC'd with a key kept
/// in a separate <c>&lt;db&gt;.anchor-key</c> file) is updated in the same transaction, so edits, insertions,
/// deletions and a truncated tail are all found by <see cref="AuditVerifier"/>. Appends are thread-safe.
/// </summary>
public sealed class AuditLog : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly byte[] _anchorKey;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private bool _disposed;

    private AuditLog(string path, SqliteConnection connection, byte[] anchorKey, TimeProvider time)
    {
        Path = path;
        _connection = connection;
        _anchorKey = anchorKey;
        _time = time;
    }

    /// <summary>Full path of the database file.</summary>
    public string Path { get; }

    /// <summary>Path of the anchor key file that belongs to a database path.</summary>
    public static string AnchorKeyPath(string sqlitePath) => AuditChain.AnchorKeyPath(sqlitePath);

    /// <summary>Opens (creating if needed) the log at <paramref name="sqlitePath"/> with default options.</summary>
    public static AuditLog Open(string sqlitePath) => Open(sqlitePath, new AuditLogOptions());

    /// <summary>
    /// Opens (creating if needed) the log: creates the schema, switches to WAL, creates the anchor key file for a
    /// new log, and checks that the last record matches the anchor.
    /// </summary>
    /// <exception cref="InvalidDataException">The database is not an audit log of this format, the anchor is
    /// missing or forged, or the last record does not match the anchor (run the verifier to locate the damage).</exception>
    /// <exception cref="FileNotFoundException">The log has records but its anchor key file is missing.</exception>
    public static AuditLog Open(string sqlitePath, AuditLogOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sqlitePath);
        ArgumentNullException.ThrowIfNull(options);
        var path = System.IO.Path.GetFullPath(sqlitePath);
        var directory = System.IO.Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL;");
            Execute(connection, options.SyncEveryAppend ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;");
            Execute(connection, "PRAGMA busy_timeout=10000;");

            byte[] key;
            using (var transaction = connection.BeginTransaction(deferred: false))
            {
                Execute(connection, AuditSchema.Create, transaction);
                var format = Scalar(connection, "SELECT value FROM audit_meta WHERE key = 'format'", transaction) as string;
                if (format is null)
                    Execute(connection, $"INSERT INTO audit_meta (key, value) VALUES ('format', '{AuditChain.FormatVersion}')", transaction);
                else if (format != AuditChain.FormatVersion)
                    throw new InvalidDataException($"'{path}' is an audit log of format '{format}', expected '{AuditChain.FormatVersion}'");

                var keyPath = AuditChain.AnchorKeyPath(path);
                var head = ReadHead(connection, transaction);
                var records = (long)Scalar(connection, "SELECT COUNT(*) FROM audit_record", transaction)!;
                if (head is null)
                {
                    if (records > 0)
                        throw new InvalidDataException(
                            $"audit log '{path}' has {records} records but no anchor row (audit_head was deleted); run verify");
                    key = File.Exists(keyPath) ? AuditChain.ReadAnchorKey(keyPath) : AuditChain.CreateAnchorKey(keyPath);
                    WriteHead(connection, transaction, key, 0, AuditChain.GenesisHash, insert: true);
                }
                else
                {
                    key = AuditChain.ReadAnchorKey(keyPath);
                    CheckHead(connection, transaction, key, head.Value, path);
                }
                transaction.Commit();
            }
            return new AuditLog(path, connection, key, options.Time);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Number of records in the log.</summary>
    public long Count
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return (long)Scalar(_connection, "SELECT record_count FROM audit_head WHERE id = 1")!;
            }
        }
    }

    /// <summary>
    /// Appends one record: validates the entry, then in one transaction reads and checks the anchor, inserts the
    /// record chained to the head, and moves the anchor.
    /// </summary>
    /// <exception cref="ArgumentException">A field is invalid (the message names it).</exception>
    /// <exception cref="InvalidDataException">The anchor no longer verifies (the file was tampered with).</exception>
    public AuditRecord Append(AuditEntry entry)
    {
        Validate(entry);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var transaction = _connection.BeginTransaction(deferred: false);
            var head = ReadHead(_connection, transaction)
                ?? throw new InvalidDataException($"audit log '{Path}' lost its anchor row (audit_head); run verify");
            if (!AuditChain.MacEquals(AuditChain.ComputeAnchorMac(_anchorKey, head.Count, head.Hash), head.Mac))
                throw new InvalidDataException($"audit log '{Path}': the anchor's MAC does not verify (anchor edited); run verify");

            var index = head.Count + 1;
            var time = AuditChain.FormatTime(_time.GetUtcNow());
            var hash = AuditChain.ComputeHash(head.Hash, index, time, entry);
            using (var insert = _connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = $"""
                    INSERT INTO audit_record ({AuditSchema.SelectColumns})
                    VALUES ($idx, $time, $kind, $job, $type, $sender, $receiver, $sequence, $bytes, $sha, $details, $previous, $hash)
                    """;
                insert.Parameters.AddWithValue("$idx", index);
                insert.Parameters.AddWithValue("$time", time);
                insert.Parameters.AddWithValue("$kind", entry.Kind);
                insert.Parameters.AddWithValue("$job", entry.JobId);
                insert.Parameters.AddWithValue("$type", (object?)entry.MessageType ?? DBNull.Value);
                insert.Parameters.AddWithValue("$sender", (object?)entry.Sender ?? DBNull.Value);
                insert.Parameters.AddWithValue("$receiver", (object?)entry.Receiver ?? DBNull.Value);
                insert.Parameters.AddWithValue("$sequence", entry.Sequence is { } s ? (long)s : DBNull.Value);
                insert.Parameters.AddWithValue("$bytes", (object?)entry.PayloadBytes ?? DBNull.Value);
                insert.Parameters.AddWithValue("$sha", (object?)entry.PayloadSha256 ?? DBNull.Value);
                insert.Parameters.AddWithValue("$details", (object?)entry.Details ?? DBNull.Value);
                insert.Parameters.AddWithValue("$previous", head.Hash);
                insert.Parameters.AddWithValue("$hash", hash);
                insert.ExecuteNonQuery();
            }
            WriteHead(_connection, transaction, _anchorKey, index, hash, insert: false);
            transaction.Commit();
            if (!AuditChain.TryParseTime(time, out var parsedTime))
                throw new InvalidOperationException($"the audit log wrote a time it cannot read back: '{time}'");
            return new AuditRecord(index, parsedTime, entry, head.Hash, hash);
        }
    }

    /// <summary>
    /// The chain head: how many records the log has and the last one's hash, job and stored time, read in one
    /// transaction with the anchor (what a party signs in an audit receipt).
    /// </summary>
    /// <exception cref="InvalidDataException">The anchor is missing or does not match the last record.</exception>
    public AuditHead ChainHead()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var transaction = _connection.BeginTransaction(deferred: true);
            var head = ReadHead(_connection, transaction)
                ?? throw new InvalidDataException($"audit log '{Path}' lost its anchor row (audit_head); run verify");
            if (head.Count == 0)
                return new AuditHead(0, AuditChain.GenesisHash, "", "");
            using var command = _connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT hash, job_id, time FROM audit_record WHERE idx = $idx";
            command.Parameters.AddWithValue("$idx", head.Count);
            using var reader = command.ExecuteReader();
            if (!reader.Read() || reader.GetString(0) != head.Hash)
                throw new InvalidDataException($"audit log '{Path}': record {head.Count} does not match the anchor's head; run verify");
            return new AuditHead(head.Count, head.Hash, reader.GetString(1), reader.GetString(2));
        }
    }

    /// <summary>Reads up to <paramref name="max"/> records from index <paramref name="fromIndex"/> on, in order.</summary>
    public IReadOnlyList<AuditRecord> Read(long fromIndex, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        var records = new List<AuditRecord>();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var command = _connection.CreateCommand();
            command.CommandText = $"SELECT {AuditSchema.SelectColumns} FROM audit_record WHERE idx >= $from ORDER BY idx LIMIT $max";
            command.Parameters.AddWithValue("$from", fromIndex);
            command.Parameters.AddWithValue("$max", max);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var row = AuditSchema.ReadRow(reader);
                if (!AuditChain.TryParseTime(row.Time, out var time))
                    throw new InvalidDataException($"audit log '{Path}': record {row.Index} has an unreadable time '{row.Time}'");
                records.Add(new AuditRecord(row.Index, time, row.Entry, row.PreviousHash, row.Hash));
            }
        }
        return records;
    }

    /// <summary>Closes the database and wipes the anchor key from memory.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _connection.Dispose();
            CryptographicOperations.ZeroMemory(_anchorKey);
        }
    }

    private static void Validate(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Kind is not (AuditEntry.RelayKind or AuditEntry.JobKind))
            throw new ArgumentException($"audit entry kind is '{entry.Kind}'; expected '{AuditEntry.RelayKind}' or '{AuditEntry.JobKind}'", nameof(entry));
        if (string.IsNullOrWhiteSpace(entry.JobId))
            throw new ArgumentException("audit entry job id is empty", nameof(entry));
        if (entry.Sequence is > long.MaxValue)
            throw new ArgumentException($"audit entry sequence {entry.Sequence} exceeds {long.MaxValue}", nameof(entry));
        if (entry.PayloadBytes is < 0)
            throw new ArgumentException($"audit entry payload size is {entry.PayloadBytes}; it must not be negative", nameof(entry));
        if (entry.PayloadSha256 is not null && !AuditChain.IsSha256Hex(entry.PayloadSha256))
            throw new ArgumentException(
                $"audit entry payload SHA-256 '{entry.PayloadSha256}' is not 64 lowercase hexadecimal characters", nameof(entry));
        if (entry.Kind == AuditEntry.RelayKind &&
            (entry.MessageType is null || entry.Sender is null || entry.Receiver is null || entry.Sequence is null
             || entry.PayloadBytes is null || entry.PayloadSha256 is null))
            throw new ArgumentException(
                "a relay audit entry needs message type, sender, receiver, sequence, payload size and payload SHA-256", nameof(entry));
        if (entry.Details is not null)
        {
            try
            {
                using var document = JsonDocument.Parse(entry.Details);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                    throw new ArgumentException(
                        $"audit entry details must be a JSON object, got a JSON {document.RootElement.ValueKind}", nameof(entry));
            }
            catch (JsonException e)
            {
                throw new ArgumentException(
                    $"audit entry details are not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", nameof(entry), e);
            }
        }
    }

    internal readonly record struct Head(long Count, string Hash, string Mac);

    private static Head? ReadHead(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT record_count, head_hash, mac FROM audit_head WHERE id = 1";
        using var reader = command.ExecuteReader();
        return reader.Read() ? new Head(reader.GetInt64(0), reader.GetString(1), reader.GetString(2)) : null;
    }

    private static void CheckHead(SqliteConnection connection, SqliteTransaction transaction, byte[] key, Head head, string path)
    {
        if (!AuditChain.MacEquals(AuditChain.ComputeAnchorMac(key, head.Count, head.Hash), head.Mac))
            throw new InvalidDataException($"audit log '{path}': the anchor's MAC does not verify (anchor edited or key file replaced); run verify");
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT idx, hash FROM audit_record ORDER BY idx DESC LIMIT 1";
        using var reader = command.ExecuteReader();
        var (lastIndex, lastHash) = reader.Read() ? (reader.GetInt64(0), reader.GetString(1)) : (0L, AuditChain.GenesisHash);
        if (lastIndex != head.Count || lastHash != head.Hash)
            throw new InvalidDataException(
                $"audit log '{path}': the last record is {lastIndex} but the anchor records {head.Count} records ending in another hash; run verify");
    }

    private static void WriteHead(SqliteConnection connection, SqliteTransaction transaction, byte[] key, long count, string hash, bool insert)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = insert
            ? "INSERT INTO audit_head (id, record_count, head_hash, mac) VALUES (1, $count, $hash, $mac)"
            : "UPDATE audit_head SET record_count = $count, head_hash = $hash, mac = $mac WHERE id = 1";
        command.Parameters.AddWithValue("$count", count);
        command.Parameters.AddWithValue("$hash", hash);
        command.Parameters.AddWithValue("$mac", AuditChain.ComputeAnchorMac(key, count, hash));
        if (command.ExecuteNonQuery() != 1)
            throw new InvalidDataException("audit anchor row could not be written");
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
