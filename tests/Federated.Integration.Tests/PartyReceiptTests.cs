using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using Federated.Agent;
using Federated.Audit;
using Federated.Security;
using Federated.Transport.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Federated.Integration.Tests;

/// <summary>
/// The parties' chain-head receipts through the real processes: each party agent signs the coordinator's audit
/// chain head at its job milestones into an owner-only file in its state folder, and <c>fedctl audit verify
/// --receipts</c> (run as its own process) accepts the coordinator's log, but refuses a copy of it that a dishonest
/// coordinator rewrote with a fresh anchor key, which plain <c>audit verify</c> accepts.
/// </summary>
[Collection(FederationCollection.Name)]
public sealed partial class PartyReceiptTests(FederationFixture fixture)
{
    [Fact]
    public async Task Both_parties_keep_signed_receipts_that_fedctl_checks_against_the_log_and_a_rewritten_copy_fails_them()
    {
        // Two jobs: the rewrite below changes the second, so the first one's receipts still agree with it.
        var earlier = await fixture.RunJobAsync("ping", ("rounds", "1"), ("size", "32"));
        Assert.Equal(JobState.Completed, earlier.State);
        using var op = fixture.Connect("operator");
        var created = await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("ping", ("rounds", "2"), ("size", "64")));
        var job = await fixture.WaitForJobAsync(op, created.JobId, TimeSpan.FromSeconds(60));
        Assert.Equal(JobState.Completed, job.State);

        // Each party's "completed" receipt follows its completion report, so wait for both to be on disk.
        var files = new[] { "music", "external" }.Select(p => Path.Combine(fixture.Folder.PartyState(p), AuditReceiptFile.FileName)).ToArray();
        var receipts = await WaitForReceiptsAsync(files, job.JobId, TimeSpan.FromSeconds(30));
        Assert.Contains(receipts, r => r.Receipt.JobId == earlier.JobId);
        foreach (var file in files)
        {
            if (OperatingSystem.IsWindows()) break;
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(file)!));
        }
        var validator = new CertificateValidator(CertificateFiles.LoadAuthority(fixture.Certificates));
        foreach (var party in new[] { "music", "external" })
        {
            var mine = receipts.Where(r => r.Receipt.Party == party && r.Receipt.JobId == job.JobId).Select(r => r.Receipt).ToList();
            Assert.Equal(["started", "completed"], mine.Select(r => r.Milestone));
            Assert.True(mine[0].Index < mine[1].Index, "the log grew between the milestones");
            Assert.All(mine, r => Assert.True(AuditReceipts.Verify(r, validator).IsValid));
            // the head a party signed is the log's record at that index, of this job
            var record = AuditReader.Read(fixture.AuditDatabase, mine[1].Index, 1).Single();
            Assert.Equal((record.Hash, job.JobId), (mine[1].Hash, mine[1].HeadJobId));
        }
        var total = receipts.Count;

        var honest = await FedctlAsync("audit", "verify", "--db", fixture.AuditDatabase, "--receipts", files[0], files[1],
            "--ca", CertificateFiles.CertificatePath(fixture.Certificates, CertificateFiles.AuthorityName));
        Assert.True(honest.Exit == 0, honest.Output);
        Assert.Contains($"receipts agree: {total} receipts checked (external {receipts.Count(r => r.Receipt.Party == "external")}, music {receipts.Count(r => r.Receipt.Party == "music")})", honest.Output);

        // The dishonest coordinator: a copy of the log with this job's "created" record changed, the other records and
        // their times exactly as they were, and a fresh anchor key, so that the chain and its anchor verify.
        var original = AuditReader.Read(fixture.AuditDatabase, 1, int.MaxValue);
        var changed = original.First(r => r.Entry.JobId == job.JobId).Index;
        var copy = Path.Combine(fixture.RunDirectory, "rewritten", "audit.db");
        using (var rewrite = AuditLog.Open(copy, new AuditLogOptions { Time = new ReplayClock(original.Select(r => r.Time)) }))
            foreach (var r in original)
                rewrite.Append(r.Index == changed ? r.Entry with { Details = """{"event":"created","kind":"ping","operator":"someone else"}""" } : r.Entry);
        Assert.Equal(original[(int)changed - 2].Hash, AuditReader.Read(copy, changed - 1, 1).Single().Hash);

        var plain = await FedctlAsync("audit", "verify", "--db", copy);
        Assert.True(plain.Exit == 0, "plain verify accepts the rewritten copy: " + plain.Output);
        Assert.Contains($"audit log valid: {original.Count} records checked", plain.Output);

        var checkedCopy = await FedctlAsync("audit", "verify", "--db", copy, "--receipts", files[0], files[1], "--certs", fixture.Certificates);
        Assert.True(checkedCopy.Exit == 2, checkedCopy.Output);
        // the first receipt that disagrees: music's first receipt at or after the changed record, this job's "started"
        var musicReceipts = receipts.Where(r => r.Receipt.Party == "music").ToList();
        var firstBad = musicReceipts.First(r => r.Receipt.Index >= changed);
        Assert.True(musicReceipts.IndexOf(firstBad) >= 2, "the earlier job's receipts come first and agree");
        Assert.Equal((job.JobId, "started"), (firstBad.Receipt.JobId, firstBad.Receipt.Milestone));
        Assert.Contains($"receipts DISAGREE with the audit log at record {firstBad.Receipt.Index}", checkedCopy.Output);
        Assert.Contains($"receipt {firstBad.Source} (music's 'started' receipt of job {job.JobId} (record {firstBad.Receipt.Index})", checkedCopy.Output);
        Assert.Contains($"{musicReceipts.IndexOf(firstBad)} of {total} receipts agreed before it", checkedCopy.Output);
    }

    [Fact]
    public async Task A_coordinator_that_gives_no_head_costs_a_warning_and_no_receipt_and_a_shrinking_or_changed_head_is_warned_about()
    {
        var folder = Path.Combine(fixture.RunDirectory, "receipt-book-" + Guid.NewGuid().ToString("N")[..8]);
        using var authority = CertificateFiles.Load(fixture.Certificates, CertificateFiles.AuthorityName, withPrivateKey: true);
        using var music = CertificateFactory.IssueParty(authority, "music", PartyRole.Music, [], TimeSpan.FromHours(1));
        var logger = new ListLogger();
        var book = new AuditReceiptBook(Path.Combine(folder, AuditReceiptFile.FileName), music, logger);

        // An older coordinator without the method: the job goes on; a warning without any value, no file.
        var none = await book.TakeAsync(new Jobs.JobsClient(new RefusingInvoker(StatusCode.Unimplemented)), "job-x", "started", CancellationToken.None);
        Assert.Null(none);
        Assert.False(File.Exists(book.Path));
        Assert.Contains(logger.Warnings, w => w.Contains("No audit receipt for job job-x at 'started': the coordinator did not give its audit chain head (Unimplemented", StringComparison.Ordinal));

        string Hash(char c) => new(c, 64);
        Assert.NotNull(book.Record("job-x", "started", 10, Hash('a'), "job-x", "t10"));
        Assert.Empty(logger.Warnings.Skip(1));
        Assert.NotNull(book.Record("job-x", "completed", 7, Hash('b'), "job-x", "t7"));
        Assert.Contains(logger.Warnings, w => w.Contains("went back from record 10 to 7", StringComparison.Ordinal));
        Assert.NotNull(book.Record("job-y", "started", 10, Hash('c'), "job-y", "t10"));
        Assert.Contains(logger.Warnings, w => w.Contains("another hash for record 10 than before", StringComparison.Ordinal));
        Assert.Equal([10L, 7L, 10L], AuditReceiptFile.Read(book.Path).Select(e => e.Receipt.Index));

        // A restarted agent remembers the highest head its file holds.
        var reopened = new AuditReceiptBook(book.Path, music, logger);
        reopened.Record("job-z", "started", 9, Hash('d'), "job-z", "t9");
        Assert.Contains(logger.Warnings, w => w.Contains("went back from record 10 to 9", StringComparison.Ordinal));
    }

    /// <summary>A channel on which every unary call fails with one status (a coordinator that does not answer).</summary>
    private sealed class RefusingInvoker(StatusCode code) : CallInvoker
    {
        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
            => new(Task.FromException<TResponse>(new RpcException(new Status(code, "not served here"))), Task.FromResult(new Metadata()),
                () => new Status(code, "not served here"), () => [], () => { });

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
            => throw new RpcException(new Status(code, "not served here"));

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
            => throw new RpcException(new Status(code, "not served here"));

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
            => throw new RpcException(new Status(code, "not served here"));

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
            => throw new RpcException(new Status(code, "not served here"));
    }

    private sealed class ListLogger : ILogger
    {
        private readonly List<string> _warnings = [];
        public IReadOnlyList<string> Warnings { get { lock (_warnings) return [.. _warnings]; } }
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
                lock (_warnings) _warnings.Add(formatter(state, exception));
        }
    }

    private static async Task<IReadOnlyList<AuditReceiptEntry>> WaitForReceiptsAsync(string[] files, string jobId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (files.All(File.Exists))
            {
                var receipts = AuditReceiptFile.Collect(files);
                if (receipts.Count(r => r.Receipt.JobId == jobId && r.Receipt.Milestone == "completed") == 2)
                    return receipts;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no 'completed' receipts of job {jobId} from both parties in {string.Join(", ", files)}");
            await Task.Delay(100);
        }
    }

    /// <summary>Hands out the given times one per call: the rewritten log repeats the original's record times.</summary>
    private sealed class ReplayClock(IEnumerable<DateTimeOffset> times) : TimeProvider
    {
        private readonly Queue<DateTimeOffset> _times = new(times);
        public override DateTimeOffset GetUtcNow() => _times.Dequeue();
    }

    /// <summary>Runs fedctl as its own process; the output with Spectre's line wrapping undone.</summary>
    private static async Task<(int Exit, string Output)> FedctlAsync(params string[] arguments)
    {
        var fedctl = typeof(PartyReceiptTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ToolDll:fedctl").Value!;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(fedctl);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, Wrapped().Replace(await output + await error, " "));
    }

    [GeneratedRegex(@"[ \t]*\r?\n[ \t]*")]
    private static partial Regex Wrapped();
}
