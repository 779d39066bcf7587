// Prints figures for the security and audit libraries: handshake time, seal/open throughput for relay-sized
// payloads, audit append rate (default and fully synced) and verify rate. Run:
//   dotnet run -c Release --project tests/benchmarks/Federated.Security.Benchmarks
using System.Diagnostics;
using Federated.Audit;
using Federated.Security;

var job = new Federated.Core.Jobs.AttemptId("bench-job");
using var authority = CertificateFactory.CreateAuthority("Bench CA", TimeSpan.FromDays(1));
using var musicCertificate = CertificateFactory.IssueParty(authority, "music", PartyRole.Music, [], TimeSpan.FromDays(1));
using var externalCertificate = CertificateFactory.IssueParty(authority, "external", PartyRole.External, [], TimeSpan.FromDays(1));
var validator = new CertificateValidator(authority);

(SessionKey, SessionKey) Handshake()
{
    using var m = SessionHandshake.Start(musicCertificate, job, "music", "external");
    using var e = SessionHandshake.Start(externalCertificate, job, "external", "music");
    return (m.Complete(e.Offer, validator), e.Complete(m.Offer, validator));
}

for (var i = 0; i < 5; i++) { var (a, b) = Handshake(); a.Dispose(); b.Dispose(); } // warm-up
const int handshakes = 50;
var watch = Stopwatch.StartNew();
for (var i = 0; i < handshakes; i++) { var (a, b) = Handshake(); a.Dispose(); b.Dispose(); }
Console.WriteLine($"handshake (both sides, incl. chain validation): {watch.Elapsed.TotalMilliseconds / handshakes:F2} ms");

var (music, external) = Handshake();
ulong sequence = 0;
foreach (var mib in new[] { 1, 16 })
{
    var payload = new byte[mib << 20];
    Random.Shared.NextBytes(payload);
    var rounds = mib == 1 ? 64 : 8;
    double sealSeconds = 0, openSeconds = 0;
    for (var r = 0; r < rounds + 2; r++)
    {
        var header = new SealedHeader(job, "bench", "music", "external", ++sequence, r);
        watch.Restart();
        var sealedPayload = music.Seal(header, payload);
        var seal = watch.Elapsed.TotalSeconds;
        watch.Restart();
        external.Open(header, sealedPayload);
        var open = watch.Elapsed.TotalSeconds;
        if (r >= 2) { sealSeconds += seal; openSeconds += open; } // first two are warm-up
    }
    Console.WriteLine($"seal {mib,2} MiB: {rounds * mib / sealSeconds,7:F0} MiB/s   open {mib,2} MiB: {rounds * mib / openSeconds,7:F0} MiB/s");
}
music.Dispose();
external.Dispose();

var directory = Path.Combine(Path.GetTempPath(), "federated-audit-bench-" + Guid.NewGuid().ToString("N"));
try
{
    foreach (var synced in new[] { false, true })
    {
        var path = Path.Combine(directory, synced ? "full.db" : "normal.db");
        const int appends = 2000;
        using (var log = AuditLog.Open(path, new AuditLogOptions { SyncEveryAppend = synced }))
        {
            var sha = new string('a', 64);
            watch.Restart();
            for (var i = 1; i <= appends; i++)
                log.Append(AuditEntry.Relay(job.Value, "train.F1", "music", "external", (ulong)i, 1 << 20, sha));
            Console.WriteLine($"audit append ({(synced ? "synchronous=FULL" : "synchronous=NORMAL, default")}): {appends / watch.Elapsed.TotalSeconds:F0} records/s");
        }
        watch.Restart();
        var verification = AuditVerifier.Verify(path);
        if (!verification.IsValid) throw new InvalidOperationException(verification.Problem);
        Console.WriteLine($"audit verify: {verification.RecordsChecked / watch.Elapsed.TotalSeconds:F0} records/s ({verification.RecordsChecked} records)");
    }
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    Directory.Delete(directory, recursive: true);
}
