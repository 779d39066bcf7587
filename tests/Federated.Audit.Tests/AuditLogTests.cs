using Microsoft.Data.Sqlite;

namespace Federated.Audit.Tests;

public sealed class AuditLogTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "federated-audit-" + Guid.NewGuid().ToString("N"));
    private string DbPath => Path.Combine(_directory, "audit.db");

    private static string Sha(int i) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)));

    private static AuditEntry Relay(int i) =>
        AuditEntry.Relay("job-1", "train.F1", i % 2 == 0 ? "music" : "external", i % 2 == 0 ? "external" : "music",
            (ulong)i, 1000 + i, Sha(i));

    /// <summary>Writes a log of <paramref name="count"/> records (job events around relay records) and closes it.</summary>
    private void WriteLog(int count)
    {
        using var log = AuditLog.Open(DbPath);
        log.Append(AuditEntry.Job("job-1", """{"event":"started"}"""));
        for (var i = 2; i < count; i++) log.Append(Relay(i));
        log.Append(AuditEntry.Job("job-1", """{"event":"finished","messages":18}"""));
    }

    private void Sql(string sql, params (string Name, object Value)[] parameters)
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        command.ExecuteNonQuery();
    }

    private (string Time, string PreviousHash, string Hash) Row(long index)
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT time, previous_hash, hash FROM audit_record WHERE idx = $i";
        command.Parameters.AddWithValue("$i", index);
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        return (reader.GetString(0), reader.GetString(1), reader.GetString(2));
    }

    [Fact]
    public void A_valid_log_verifies_and_reads_back_what_was_appended()
    {
        using (var log = AuditLog.Open(DbPath))
        {
            var first = log.Append(AuditEntry.Job("job-1", """{"event":"started"}"""));
            var second = log.Append(Relay(2));
            Assert.Equal(1, first.Index);
            Assert.Equal(new string('0', 64), first.PreviousHash);
            Assert.Equal(first.Hash, second.PreviousHash);
            Assert.NotEqual(first.Hash, second.Hash);
            Assert.Equal(2, log.Count);

            var read = log.Read(1, 10);
            Assert.Equal([first, second], read);
            Assert.Equal(Relay(2), read[1].Entry);
            Assert.Single(log.Read(2, 10));
            Assert.Empty(log.Read(3, 10));
        }

        var verification = AuditVerifier.Verify(DbPath);
        Assert.True(verification.IsValid, verification.Problem);
        Assert.Equal(2, verification.RecordsChecked);
        Assert.Null(verification.FirstBadIndex);
        Assert.Matches("^[0-9a-f]{64}$", verification.HeadHash!);
    }

    [Fact]
    public void The_read_only_reader_sees_what_the_open_writer_appended_without_changing_the_file()
    {
        using var log = AuditLog.Open(DbPath);
        var appended = Enumerable.Range(1, 12).Select(i => log.Append(Relay(i))).ToList();

        Assert.Equal(appended.Skip(9), AuditReader.Tail(DbPath, 3));
        Assert.Equal(appended.Skip(4).Take(2), AuditReader.Read(DbPath, 5, 2));
        Assert.Equal(appended, AuditReader.Tail(DbPath, 100));
        Assert.Throws<FileNotFoundException>(() => AuditReader.Tail(Path.Combine(_directory, "nope.db"), 1));
        Assert.False(File.Exists(Path.Combine(_directory, "nope.db")));
    }

    [Fact]
    public void An_empty_log_verifies()
    {
        AuditLog.Open(DbPath).Dispose();
        var verification = AuditVerifier.Verify(DbPath);
        Assert.True(verification.IsValid, verification.Problem);
        Assert.Equal(0, verification.RecordsChecked);
    }

    [Fact]
    public void Reopening_continues_the_chain()
    {
        WriteLog(5);
        using (var log = AuditLog.Open(DbPath))
        {
            var next = log.Append(Relay(6));
            Assert.Equal(6, next.Index);
            Assert.Equal(Row(5).Hash, next.PreviousHash);
        }
        Assert.True(AuditVerifier.Verify(DbPath).IsValid);
    }

    [Fact]
    public void An_edited_record_is_found_and_named()
    {
        WriteLog(20);
        Sql("UPDATE audit_record SET payload_bytes = 1 WHERE idx = 7");

        var verification = AuditVerifier.Verify(DbPath);

        Assert.False(verification.IsValid);
        Assert.Equal(7, verification.FirstBadIndex);
        Assert.Equal(6, verification.RecordsChecked);
        Assert.Contains("record 7", verification.Problem);
        Assert.Contains("does not match its stored hash", verification.Problem);
    }

    [Fact]
    public void An_edited_record_with_a_recomputed_hash_breaks_the_link_to_the_next()
    {
        WriteLog(20);
        var row = Row(7);
        var forged = Relay(7) with { PayloadBytes = 1 };
        var forgedHash = AuditChain.ComputeHash(row.PreviousHash, 7, row.Time, forged);
        Sql("UPDATE audit_record SET payload_bytes = 1, hash = $h WHERE idx = 7", ("$h", forgedHash));

        var verification = AuditVerifier.Verify(DbPath);

        Assert.False(verification.IsValid);
        Assert.Equal(8, verification.FirstBadIndex);
        Assert.Contains("record 8 does not link to record 7", verification.Problem);
    }

    [Fact]
    public void A_record_inserted_in_the_middle_is_found()
    {
        WriteLog(20);
        // Make room at index 10 (shift 10..20 up by one) and insert a well-formed record chained to record 9.
        Sql("UPDATE audit_record SET idx = -idx WHERE idx >= 10");
        Sql("UPDATE audit_record SET idx = 1 - idx WHERE idx < 0");
        var previous = Row(9);
        var inserted = Relay(99);
        var time = previous.Time;
        var hash = AuditChain.ComputeHash(previous.Hash, 10, time, inserted);
        Sql($"""
            INSERT INTO audit_record (idx, time, kind, job_id, message_type, sender, receiver, sequence, payload_bytes, payload_sha256, details, previous_hash, hash)
            VALUES (10, $t, 'relay', 'job-1', 'train.F1', 'external', 'music', 99, 1099, $sha, NULL, $p, $h)
            """, ("$t", time), ("$sha", Sha(99)), ("$p", previous.Hash), ("$h", hash));

        var verification = AuditVerifier.Verify(DbPath);

        Assert.False(verification.IsValid);
        Assert.Equal(11, verification.FirstBadIndex); // the inserted record itself is well formed; its successor is not
        Assert.Contains("record 11", verification.Problem);
    }

    [Fact]
    public void A_record_appended_outside_the_log_is_found()
    {
        WriteLog(20);
        var last = Row(20);
        var extra = Relay(21);
        Sql($"""
            INSERT INTO audit_record (idx, time, kind, job_id, message_type, sender, receiver, sequence, payload_bytes, payload_sha256, details, previous_hash, hash)
            VALUES (21, $t, 'relay', 'job-1', 'train.F1', 'external', 'music', 21, 1021, $sha, NULL, $p, $h)
            """, ("$t", last.Time), ("$sha", Sha(21)), ("$p", last.Hash), ("$h", AuditChain.ComputeHash(last.Hash, 21, last.Time, extra)));

        var verification = AuditVerifier.Verify(DbPath);

        Assert.False(verification.IsValid);
        Assert.Equal(21, verification.FirstBadIndex);
        Assert.Contains("appended outside the audit log", verification.Problem);
    }

    [Fact]
    public void A_deleted_record_is_found_and_named()
    {
        WriteLog(20);
        Sql("DELETE FROM audit_record WHERE idx = 12");

        var verification = AuditVerifier.Verify(DbPath);

        Assert.False(verification.IsValid);
        Assert.Equal(12, verification.FirstBadIndex);
        Assert.Contains("record 12 is missing", verification.Problem);
    }

    [Fact]
    public void A_deleted_record_hidden_by_renumbering_is_found()
    {
        WriteLog(20);
        Sql("DELETE FROM audit_record WHERE idx = 12");
        Sql("UPDATE audit_record SET idx = idx - 1 WHERE idx > 12");

        var verification = AuditVerifier.Verify(DbPath);

        Assert.False(verification.IsValid);
        Assert.Equal(12, verification.FirstBadIndex);
    }

    [Fact]
    public void A_truncated_tail_is_found_by_the_anchor()
    {
        WriteLog(20);
        Sql("DELETE FROM audit_record WHERE idx > 15");

        var verification = AuditVerifier.Verify(DbPath);

        Assert.False(verification.IsValid);
        Assert.Equal(16, verification.FirstBadIndex);
        Assert.Equal(15, verification.RecordsChecked);
        Assert.Contains("records 16..20 were deleted (tail truncated)", verification.Problem);
    }

    [Fact]
    public void A_truncated_tail_with_a_rewritten_anchor_fails_the_anchor_mac()
    {
        WriteLog(20);
        var newHead = Row(15).Hash;
        Sql("DELETE FROM audit_record WHERE idx > 15");
        Sql("UPDATE audit_head SET record_count = 15, head_hash = $h", ("$h", newHead));

        var verification = AuditVerifier.Verify(DbPath);

        Assert.False(verification.IsValid);
        Assert.Contains("anchor's MAC does not verify", verification.Problem);
    }

    [Fact]
    public void Without_the_anchor_key_the_log_does_not_verify()
    {
        WriteLog(5);
        File.Delete(AuditLog.AnchorKeyPath(DbPath));

        var verification = AuditVerifier.Verify(DbPath);

        Assert.False(verification.IsValid);
        Assert.Contains("anchor-key", verification.Problem);
        Assert.Equal(5, verification.RecordsChecked);
    }

    [Fact]
    public void Opening_a_log_whose_tail_was_truncated_refuses_to_append()
    {
        WriteLog(10);
        Sql("DELETE FROM audit_record WHERE idx > 8");

        var error = Assert.Throws<InvalidDataException>(() => AuditLog.Open(DbPath));
        Assert.Contains("anchor records 10 records", error.Message);
    }

    [Fact]
    public void Verify_does_not_change_the_file_and_reports_a_missing_one()
    {
        WriteLog(5);
        var before = File.ReadAllBytes(DbPath);
        Assert.True(AuditVerifier.Verify(DbPath).IsValid);
        Assert.Equal(before, File.ReadAllBytes(DbPath));

        var missing = AuditVerifier.Verify(Path.Combine(_directory, "nope.db"));
        Assert.False(missing.IsValid);
        Assert.Contains("does not exist", missing.Problem);
    }

    [Fact]
    public void Concurrent_appends_from_several_threads_keep_a_valid_chain()
    {
        const int threads = 8, perThread = 40;
        using (var log = AuditLog.Open(DbPath))
        {
            var records = new System.Collections.Concurrent.ConcurrentBag<AuditRecord>();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                for (var i = 0; i < perThread; i++) records.Add(log.Append(Relay(t * 1000 + i)));
            });
            Assert.Equal(threads * perThread, log.Count);
            Assert.Equal(Enumerable.Range(1, threads * perThread).Select(i => (long)i), records.Select(r => r.Index).Order());
        }

        var verification = AuditVerifier.Verify(DbPath);
        Assert.True(verification.IsValid, verification.Problem);
        Assert.Equal(threads * perThread, verification.RecordsChecked);
    }

    [Fact]
    public void Invalid_entries_are_refused_with_the_field_named()
    {
        using var log = AuditLog.Open(DbPath);
        Assert.Contains("kind is 'payload'", Assert.Throws<ArgumentException>(() =>
            log.Append(new AuditEntry("payload", "job-1", null, null, null, null, null, null, null))).Message);
        Assert.Contains("SHA-256", Assert.Throws<ArgumentException>(() =>
            log.Append(AuditEntry.Relay("job-1", "t", "music", "external", 1, 10, "ABC"))).Message);
        Assert.Contains("not valid JSON", Assert.Throws<ArgumentException>(() =>
            log.Append(AuditEntry.Job("job-1", "{event: started"))).Message);
        Assert.Contains("JSON object", Assert.Throws<ArgumentException>(() =>
            log.Append(AuditEntry.Job("job-1", "[1,2]"))).Message);
        Assert.Contains("relay audit entry needs", Assert.Throws<ArgumentException>(() =>
            log.Append(new AuditEntry("relay", "job-1", "t", null, null, null, null, null, null))).Message);
        Assert.Equal(0, log.Count);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }
}
