using System.Security.Cryptography.X509Certificates;
using Federated.Security;

namespace Federated.Audit.Tests;

/// <summary>
/// The parties' signed chain-head receipts against real logs written with <see cref="AuditLog"/>: they verify over
/// the log they were taken from, and catch a dishonest coordinator that rewrites or shortens its log together with a
/// fresh anchor key (which the plain chain verification accepts), or that alters a receipt to match its rewrite.
/// </summary>
public sealed class AuditReceiptTests : IDisposable
{
    private static readonly X509Certificate2 Authority = CertificateFactory.CreateAuthority("Receipts Test CA", TimeSpan.FromDays(1));
    private static readonly X509Certificate2 Music = CertificateFactory.IssueParty(Authority, "music", PartyRole.Music, [], TimeSpan.FromHours(12));
    private static readonly X509Certificate2 External = CertificateFactory.IssueParty(Authority, "external", PartyRole.External, [], TimeSpan.FromHours(12));
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "federated-receipts-" + Guid.NewGuid().ToString("N"));
    private readonly CertificateValidator _validator = new(Authority);

    private string Db(string name) => Path.Combine(_directory, name, "audit.db");

    /// <summary>One record time per append, 1 ms apart from <see cref="Start"/>, so a rebuilt log can repeat the times.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        private long _ticks = Start.UtcTicks;
        public override DateTimeOffset GetUtcNow() => new(Interlocked.Add(ref _ticks, TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }

    private static AuditEntry Entry(int i, long bytesOf8 = 1008) => i % 5 == 1
        ? AuditEntry.Job("job-1", $$"""{"event":"step","n":{{i}}}""")
        : AuditEntry.Relay("job-1", "train.F1", i % 2 == 0 ? "music" : "external", i % 2 == 0 ? "external" : "music", (ulong)i,
            i == 8 ? bytesOf8 : 1000 + i, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i))));

    /// <summary>
    /// Writes records 1..<paramref name="count"/> (record 8's size is <paramref name="bytesOf8"/>) with the stepping
    /// clock; at each index in <paramref name="receiptsAt"/> the party given signs the head.
    /// </summary>
    private List<AuditReceipt> WriteLog(string db, int count, long bytesOf8 = 1008, params (int Index, X509Certificate2 Party)[] receiptsAt)
    {
        var receipts = new List<AuditReceipt>();
        using var log = AuditLog.Open(db, new AuditLogOptions { Time = new SteppingClock() });
        for (var i = 1; i <= count; i++)
        {
            log.Append(Entry(i, bytesOf8));
            foreach (var (_, party) in receiptsAt.Where(r => r.Index == i))
            {
                var head = log.ChainHead();
                receipts.Add(AuditReceipts.Sign(party, "job-1", "started", head.Index, head.Hash, head.JobId, head.Time, Start.AddMinutes(i)));
            }
        }
        return receipts;
    }

    private static List<AuditReceiptEntry> Entries(IEnumerable<AuditReceipt> receipts)
        => receipts.Select((r, i) => new AuditReceiptEntry("receipts.jsonl", i + 1, r)).ToList();

    private static string StoredHash(string db, long index) => AuditReader.Read(db, index, 1).Single().Hash;

    [Fact]
    public void Receipts_over_the_log_they_were_taken_from_verify_and_are_counted_per_party()
    {
        var db = Db("honest");
        var receipts = WriteLog(db, 20, receiptsAt: [(5, Music), (12, External), (20, Music)]);
        var folder = Path.Combine(_directory, "collected");
        foreach (var r in receipts)
            AuditReceiptFile.Append(Path.Combine(folder, r.Party, AuditReceiptFile.FileName), r);

        var collected = AuditReceiptFile.Collect([folder]);
        Assert.Equal(3, collected.Count);
        var result = AuditReceiptVerifier.Verify(db, collected, _validator);

        Assert.True(result.IsValid, result.Problem);
        Assert.Equal(3, result.ReceiptsChecked);
        Assert.Equal(2, result.ReceiptsByParty["music"]);
        Assert.Equal(1, result.ReceiptsByParty["external"]);
        Assert.Equal(20, result.Chain.RecordsChecked);
        // the receipt holds exactly the head the log had then: record 12's stored hash, job and time
        var external = collected.Single(e => e.Receipt.Party == "external").Receipt;
        var record12 = AuditReader.Read(db, 12, 1).Single();
        Assert.Equal((12L, record12.Hash, "job-1"), (external.Index, external.Hash, external.HeadJobId));
        Assert.Equal(Start.AddMilliseconds(12), DateTimeOffset.Parse(external.HeadTime, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void The_head_of_an_empty_log_is_the_genesis_and_a_receipt_of_it_verifies()
    {
        var db = Db("empty");
        using (var log = AuditLog.Open(db))
        {
            var head = log.ChainHead();
            Assert.Equal(new AuditHead(0, new string('0', 64), "", ""), head);
            var receipt = AuditReceipts.Sign(Music, "job-0", "started", head.Index, head.Hash, head.JobId, head.Time, Start);
            var appended = log.Append(Entry(1));
            Assert.Equal(new AuditHead(1, appended.Hash, "job-1", log.ChainHead().Time), log.ChainHead());
            Assert.True(AuditReceiptVerifier.Verify(db, Entries([receipt]), _validator).IsValid);
        }
    }

    [Fact]
    public void A_log_rewritten_with_a_fresh_anchor_key_passes_plain_verification_but_the_receipts_name_the_receipt_and_the_record()
    {
        var honest = Db("honest");
        var receipts = WriteLog(honest, 20, receiptsAt: [(5, Music), (10, External), (15, Music)]);

        // The dishonest coordinator: the same records and times, record 8's size changed, a new database and anchor key.
        var rewritten = Db("rewritten");
        WriteLog(rewritten, 20, bytesOf8: 999_999);
        Assert.NotEqual(File.ReadAllBytes(AuditLog.AnchorKeyPath(honest)), File.ReadAllBytes(AuditLog.AnchorKeyPath(rewritten)));

        // Without receipts the rewrite goes unseen: the chain and its anchor verify.
        var plain = AuditVerifier.Verify(rewritten);
        Assert.True(plain.IsValid, plain.Problem);
        Assert.Equal(StoredHash(honest, 7), StoredHash(rewritten, 7));
        Assert.NotEqual(StoredHash(honest, 8), StoredHash(rewritten, 8));

        var entries = Entries(receipts);
        Assert.True(AuditReceiptVerifier.Verify(honest, entries, _validator).IsValid);
        var result = AuditReceiptVerifier.Verify(rewritten, entries, _validator);

        Assert.False(result.IsValid);
        Assert.Equal(1, result.ReceiptsChecked); // music's receipt of record 5 still agrees: records 1..7 are unchanged
        Assert.Same(entries[1], result.FirstBadReceipt);
        Assert.Equal(10, result.RecordIndex);
        Assert.Contains("receipt receipts.jsonl:2", result.Problem);
        Assert.Contains("external's 'started' receipt of job job-1 (record 10)", result.Problem);
        Assert.Contains("disagrees with the log at record 10", result.Problem);
    }

    [Fact]
    public void A_receipt_altered_to_match_a_rewritten_log_fails_its_signature()
    {
        var honest = Db("honest");
        var receipts = WriteLog(honest, 12, receiptsAt: [(10, External)]);
        var rewritten = Db("rewritten");
        WriteLog(rewritten, 12, bytesOf8: 1);

        // The coordinator also edits the receipt's hash to the rewritten log's record 10: the log check alone now agrees.
        var forged = receipts[0] with { Hash = StoredHash(rewritten, 10) };
        Assert.Equal(StoredHash(rewritten, 10), forged.Hash);
        Assert.True(AuditReceipts.Verify(receipts[0], _validator).IsValid);

        var result = AuditReceiptVerifier.Verify(rewritten, Entries([forged]), _validator);
        Assert.False(result.IsValid);
        Assert.Equal(10, result.RecordIndex);
        Assert.Contains("is not genuine", result.Problem);
        Assert.Contains("signature does not verify", result.Problem);
    }

    [Fact]
    public void A_receipt_signed_outside_the_federation_or_under_another_party_name_is_refused()
    {
        var db = Db("honest");
        var receipts = WriteLog(db, 6, receiptsAt: [(6, Music)]);
        var otherAuthority = CertificateFactory.CreateAuthority("Coordinator's own CA", TimeSpan.FromDays(1));
        var impostor = CertificateFactory.IssueParty(otherAuthority, "music", PartyRole.Music, [], TimeSpan.FromHours(1));
        var head = receipts[0];

        var outside = AuditReceipts.Sign(impostor, "job-1", "started", head.Index, head.Hash, head.HeadJobId, head.HeadTime, Start);
        var outsideCheck = AuditReceipts.Verify(outside, _validator);
        Assert.False(outsideCheck.IsValid);
        Assert.Contains("not accepted by the federation's CA", outsideCheck.Problem);

        var renamed = receipts[0] with { Party = "external" };
        var renamedCheck = AuditReceipts.Verify(renamed, _validator);
        Assert.False(renamedCheck.IsValid);
        Assert.Contains("says party 'external' but its certificate is party 'music'", renamedCheck.Problem);

        var coordinator = CertificateFactory.IssueParty(Authority, "coordinator", PartyRole.Coordinator, [], TimeSpan.FromHours(1));
        var byCoordinator = AuditReceipts.Sign(coordinator, "job-1", "started", head.Index, head.Hash, head.HeadJobId, head.HeadTime, Start);
        Assert.Contains("only the music and external parties sign receipts", AuditReceipts.Verify(byCoordinator, _validator).Problem);
    }

    [Fact]
    public void A_log_truncated_below_a_receipts_index_fails_even_with_a_fresh_anchor()
    {
        var honest = Db("honest");
        var receipts = WriteLog(honest, 20, receiptsAt: [(4, Music), (15, External)]);
        var truncated = Db("truncated");
        WriteLog(truncated, 12); // records 1..12 exactly as they were, then nothing: a consistent, shorter log
        Assert.True(AuditVerifier.Verify(truncated).IsValid);
        Assert.Equal(StoredHash(honest, 12), StoredHash(truncated, 12));

        var result = AuditReceiptVerifier.Verify(truncated, Entries(receipts), _validator);
        Assert.False(result.IsValid);
        Assert.Equal(1, result.ReceiptsChecked);
        Assert.Equal(15, result.RecordIndex);
        Assert.Contains("holds record 15, but the log has only 12 records", result.Problem);
        Assert.Contains("records 13..15 were deleted", result.Problem);
    }

    [Fact]
    public void A_log_whose_chain_does_not_verify_is_reported_before_any_receipt()
    {
        var db = Db("honest");
        var receipts = WriteLog(db, 8, receiptsAt: [(8, Music)]);
        File.Delete(AuditLog.AnchorKeyPath(db));
        var result = AuditReceiptVerifier.Verify(db, Entries(receipts), _validator);
        Assert.False(result.IsValid);
        Assert.Null(result.FirstBadReceipt);
        Assert.Contains("the audit log itself does not verify", result.Problem);
    }

    [Fact]
    public void The_receipts_file_is_owner_only_and_a_bad_line_is_named_by_file_and_line()
    {
        var db = Db("honest");
        var receipts = WriteLog(db, 3, receiptsAt: [(2, Music), (3, Music)]);
        var folder = Path.Combine(_directory, "state");
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, AuditReceiptFile.FileName);
        File.WriteAllText(file, "");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(folder, (UnixFileMode)0b111_101_101);
            File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100);
        }
        foreach (var r in receipts)
            AuditReceiptFile.Append(file, r);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        }
        var read = AuditReceiptFile.Read(file);
        Assert.Equal(receipts, read.Select(e => e.Receipt));
        Assert.Equal([1, 2], read.Select(e => e.Line));

        File.AppendAllText(file, "{\"format\":\"federated.audit-receipt.v1\",\"index\":\"three\"}\n");
        var error = Assert.Throws<InvalidDataException>(() => AuditReceiptFile.Read(file));
        Assert.Contains($"'{file}' line 3", error.Message);
        Assert.Throws<FileNotFoundException>(() => AuditReceiptFile.Collect([Path.Combine(_directory, "nowhere")]));
    }

    [Fact]
    public void An_append_cut_short_is_dropped_by_the_next_append_instead_of_spoiling_its_line()
    {
        var receipts = WriteLog(Db("honest"), 4, receiptsAt: [(2, Music), (4, Music)]);
        var file = Path.Combine(_directory, "state", AuditReceiptFile.FileName);
        AuditReceiptFile.Append(file, receipts[0]);
        File.AppendAllText(file, "{\"format\":\"federated.audit-receipt.v1\",\"party\":\"mu"); // the party stopped mid-write
        Assert.Throws<InvalidDataException>(() => AuditReceiptFile.Read(file));

        AuditReceiptFile.Append(file, receipts[1]);
        Assert.Equal(receipts, AuditReceiptFile.Read(file).Select(e => e.Receipt));
        Assert.EndsWith("\n", File.ReadAllText(file), StringComparison.Ordinal);
    }

    [Fact]
    public void Signing_refuses_a_malformed_head_and_names_the_field()
    {
        Assert.Contains("hash 'xyz' is not 64 lowercase hexadecimal characters",
            Assert.Throws<ArgumentException>(() => AuditReceipts.Sign(Music, "job-1", "started", 3, "xyz", "job-1", "t", Start)).Message);
        Assert.Contains("record index -1 is negative",
            Assert.Throws<ArgumentException>(() => AuditReceipts.Sign(Music, "job-1", "started", -1, new string('a', 64), "job-1", "t", Start)).Message);
        Assert.Contains("milestone 'Started!'",
            Assert.Throws<ArgumentException>(() => AuditReceipts.Sign(Music, "job-1", "Started!", 1, new string('a', 64), "job-1", "t", Start)).Message);
        using var publicOnly = X509CertificateLoader.LoadCertificate(Music.RawData);
        Assert.Contains("no ECDSA private key",
            Assert.Throws<ArgumentException>(() => AuditReceipts.Sign(publicOnly, "job-1", "started", 1, new string('a', 64), "job-1", "t", Start)).Message);
    }

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }
}
