using Microsoft.Data.Sqlite;

namespace Federated.Audit;

/// <summary>
/// Checks an audit log file without changing it: every record's hash, every link to the previous record, that
/// indexes run 1..n without gaps, and that the HMAC'd anchor (record count and head hash) matches the last record,
/// which is what reveals a truncated tail. Stops at the first problem and names the record.
/// </summary>
public static class AuditVerifier
{
    /// <summary>Verifies the log at <paramref name="sqlitePath"/> with the anchor key file next to it.</summary>
    public static AuditVerification Verify(string sqlitePath) => Verify(sqlitePath, AuditChain.AnchorKeyPath(sqlitePath));

    /// <summary>
    /// Verifies the log at <paramref name="sqlitePath"/> with the anchor key at <paramref name="anchorKeyPath"/>.
    /// Opens the database read-only; never throws for a damaged or missing file (the result says what is wrong).
    /// </summary>
    public static AuditVerification Verify(string sqlitePath, string anchorKeyPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sqlitePath);
        ArgumentException.ThrowIfNullOrWhiteSpace(anchorKeyPath);
        if (!File.Exists(sqlitePath))
            return new AuditVerification(false, 0, null, $"audit log '{sqlitePath}' does not exist");
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = Path.GetFullPath(sqlitePath),
                Mode = SqliteOpenMode.ReadOnly,
                Pooling = false,
            }.ToString());
            connection.Open();
            using var transaction = connection.BeginTransaction(deferred: true); // one consistent snapshot
            return VerifyChain(connection, transaction, anchorKeyPath);
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return new AuditVerification(false, 0, null, $"audit log '{sqlitePath}' could not be read: {e.Message}");
        }
    }

    private static AuditVerification VerifyChain(SqliteConnection connection, SqliteTransaction transaction, string anchorKeyPath)
    {
        using (var format = connection.CreateCommand())
        {
            format.Transaction = transaction;
            format.CommandText = "SELECT value FROM audit_meta WHERE key = 'format'";
            if (format.ExecuteScalar() as string != AuditChain.FormatVersion)
                return Bad(0, null, $"not an audit log of format '{AuditChain.FormatVersion}' (audit_meta.format missing or different)");
        }

        long expectedIndex = 1, checkedRecords = 0;
        var previousHash = AuditChain.GenesisHash;
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"SELECT {AuditSchema.SelectColumns} FROM audit_record ORDER BY idx";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                long index;
                try { index = reader.GetInt64(0); }
                catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException)
                {
                    return Bad(checkedRecords, expectedIndex, $"the record after record {expectedIndex - 1} has an unreadable index: {e.Message}");
                }
                if (index != expectedIndex)
                    return Bad(checkedRecords, expectedIndex, index > expectedIndex
                        ? $"record {expectedIndex} is missing (the next stored record is {index}): deleted"
                        : $"record {index} appears where record {expectedIndex} was expected");

                (long Index, string Time, AuditEntry Entry, string PreviousHash, string Hash) row;
                string recomputed;
                try
                {
                    row = AuditSchema.ReadRow(reader);
                    if (!AuditChain.TryParseTime(row.Time, out _))
                        return Bad(checkedRecords, index, $"record {index} has an unreadable time '{row.Time}': edited");
                    if (!AuditChain.IsSha256Hex(row.PreviousHash))
                        return Bad(checkedRecords, index, $"record {index} has a malformed previous hash: edited");
                    recomputed = AuditChain.ComputeHash(row.PreviousHash, row.Index, row.Time, row.Entry);
                }
                catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException)
                {
                    return Bad(checkedRecords, index, $"record {index} has a field of the wrong type ({e.Message}): edited");
                }

                if (recomputed != row.Hash)
                    return Bad(checkedRecords, index,
                        $"record {index} (job '{row.Entry.JobId}', {row.Entry.Kind}{Describe(row.Entry)}) does not match its stored hash: edited, or inserted/renumbered");
                if (row.PreviousHash != previousHash)
                    return Bad(checkedRecords, index,
                        index == 1
                            ? "record 1 does not start the chain (its previous hash is not the genesis hash): records before it were deleted or it was inserted"
                            : $"record {index} does not link to record {index - 1} (its previous hash differs from record {index - 1}'s hash): a record was inserted, deleted or rewritten between them");
                previousHash = row.Hash;
                checkedRecords++;
                expectedIndex++;
            }
        }

        var lastIndex = expectedIndex - 1;
        var headHash = lastIndex == 0 ? null : previousHash;
        long count;
        string anchorHash, mac;
        using (var head = connection.CreateCommand())
        {
            head.Transaction = transaction;
            head.CommandText = "SELECT record_count, head_hash, mac FROM audit_head WHERE id = 1";
            using var reader = head.ExecuteReader();
            if (!reader.Read())
                return Bad(checkedRecords, null, "the anchor row (audit_head) is missing: deleted", headHash);
            count = reader.GetInt64(0);
            anchorHash = reader.GetString(1);
            mac = reader.GetString(2);
        }

        byte[] key;
        try { key = AuditChain.ReadAnchorKey(anchorKeyPath); }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return Bad(checkedRecords, null, $"the anchor cannot be checked, so a truncated tail would go unseen: {e.Message}", headHash);
        }
        if (!AuditChain.MacEquals(AuditChain.ComputeAnchorMac(key, count, anchorHash), mac))
            return Bad(checkedRecords, null, "the anchor's MAC does not verify: the anchor row was edited or the key file belongs to another log", headHash);
        if (count > lastIndex)
            return Bad(checkedRecords, lastIndex + 1,
                $"the log ends at record {lastIndex} but its anchor records {count} records: records {lastIndex + 1}..{count} were deleted (tail truncated)", headHash);
        if (count < lastIndex)
            return Bad(checkedRecords, count + 1,
                $"the anchor records {count} records but the log has {lastIndex}: records {count + 1}..{lastIndex} were appended outside the audit log", headHash);
        if (anchorHash != (lastIndex == 0 ? AuditChain.GenesisHash : previousHash))
            return Bad(checkedRecords, lastIndex, $"record {lastIndex}'s hash differs from the anchor's head hash: the last record was replaced", headHash);
        return new AuditVerification(true, checkedRecords, null, null, headHash);
    }

    private static string Describe(AuditEntry entry)
        => entry.MessageType is null ? "" : $" {entry.MessageType} #{entry.Sequence} {entry.Sender}->{entry.Receiver}";

    private static AuditVerification Bad(long checkedRecords, long? index, string problem, string? headHash = null)
        => new(false, checkedRecords, index, problem, headHash);
}
