using Federated.Operator;
using System.Text.RegularExpressions;
using Federated.Audit;
using Federated.Launcher;
using Federated.Transport.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Federated.Integration.Tests;

[Collection(FederationCollection.Name)]
public sealed partial class ReplayAndRestartTests(FederationFixture fixture)
{
    [GeneratedRegex(@"received (\d+) of (\d+) distinct messages, (\d+) duplicates, (\d+) out of order, resumed (\d+) time")]
    private static partial Regex ReceiverTally();

    private static (int Distinct, int Count, int Duplicates, int OutOfOrder, int Resumes) Tally(JobInfo job)
    {
        var summary = job.Parties.Single(p => p.PartyId == "music").Summary;
        var match = ReceiverTally().Match(summary);
        Assert.True(match.Success, $"unexpected music summary: {summary}");
        int At(int i) => int.Parse(match.Groups[i].Value, System.Globalization.CultureInfo.InvariantCulture);
        return (At(1), At(2), At(3), At(4), At(5));
    }

    private static Task<JobInfo> WaitForRelayedAsync(Federated.Transport.Client.CoordinatorConnection op, string jobId, ulong atLeast) =>
        WaitUntilAsync(op, jobId, j => j.Relay.MessagesRelayed >= atLeast);

    private static async Task<JobInfo> WaitUntilAsync(Federated.Transport.Client.CoordinatorConnection op, string jobId, Func<JobInfo, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var job = await op.Jobs.GetJobAsync(new GetJobRequest { JobId = jobId });
            if (job.Relay is not null && condition(job))
                return job;
            Assert.True(job.State is JobState.Pending or JobState.Running, $"job ended early: {job.State} {job.Reason}");
            Assert.True(DateTime.UtcNow < deadline, $"condition not reached: {job.Relay}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_relayed_message_replayed_with_an_old_sequence_number_is_dropped_counted_and_audited()
    {
        using var op = fixture.Connect("operator");
        var job = await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("stream", ("count", "300"), ("delayMs", "5")));
        var running = await WaitForRelayedAsync(op, job.JobId, 20);

        // Replay sequence 3 from the external party (its own certificate, its own job, the current generation).
        using var external = fixture.Connect("external");
        using var call = external.Relay.Send();
        var header = new RelayHeader
        {
            JobId = job.JobId, MessageType = "stream.item", Sender = "external", Receiver = "music", Sequence = 3, Step = 0,
            Generation = running.Relay.SessionGeneration, PayloadSize = 64,
        };
        await call.RequestStream.WriteAsync(new RelayFrame { Header = header, Sequence = 3, Offset = 0, Data = ByteString.CopyFrom(new byte[64]), Last = true });
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(SendOutcome.OldSequence, call.ResponseStream.Current.Outcome);
        Assert.Equal(3UL, call.ResponseStream.Current.Sequence);
        await call.RequestStream.CompleteAsync();

        var finished = await fixture.WaitForJobAsync(op, job.JobId, TimeSpan.FromSeconds(90));
        Assert.Equal(JobState.Completed, finished.State);
        Assert.Equal(1UL, finished.Relay.OldSequenceDropped);
        var tally = Tally(finished);
        Assert.Equal((300, 300, 0, 0), (tally.Distinct, tally.Count, tally.Duplicates, tally.OutOfOrder));

        using var log = AuditLog.Open(fixture.AuditDatabase);
        var records = log.Read(1, int.MaxValue).Where(r => r.Entry.JobId == job.JobId).ToList();
        var dropped = Assert.Single(records, r => r.Entry.Details?.Contains("\"relay-dropped\"") == true);
        Assert.Contains("\"old-sequence\"", dropped.Entry.Details);
        Assert.Contains("\"sequence\":3", dropped.Entry.Details);
        // Exactly one relay record per accepted message: 300 items + the receiver's final tally.
        Assert.Equal(301, records.Count(r => r.Entry.Kind == AuditEntry.RelayKind));
    }

    [Fact]
    public async Task Killing_and_restarting_the_music_party_in_the_middle_of_a_stream_of_1000_messages_loses_none_and_duplicates_none()
    {
        using var op = fixture.Connect("operator");
        var job = await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("stream", ("count", "1000"), ("size", "512"), ("delayMs", "2")));
        var before = await WaitUntilAsync(op, job.JobId, j => j.Relay.ConsumedByMusic >= 200);
        Assert.True(before.Relay.ConsumedByMusic < 1000, "the stream finished before the crash could be staged");

        fixture.Federation.Kill(RunFolder.MusicName); // SIGKILL to the whole process tree: no cleanup runs
        await Task.Delay(500);
        await fixture.Federation.StartHostAsync(RunFolder.MusicName, CancellationToken.None);

        var finished = await fixture.WaitForJobAsync(op, job.JobId, TimeSpan.FromSeconds(120));
        Assert.True(finished.State == JobState.Completed, $"job {finished.State}: {finished.Reason}\n{fixture.LogTail("music")}");
        var tally = Tally(finished);
        Assert.Equal(1000, tally.Count);
        Assert.Equal(1000, tally.Distinct);   // none lost
        Assert.Equal(0, tally.Duplicates);    // none twice
        Assert.Equal(0, tally.OutOfOrder);
        Assert.Equal(1, tally.Resumes);       // the second process resumed from the first one's checkpoint
        Assert.Equal(2, finished.Parties.Single(p => p.PartyId == "music").Starts);
        Assert.True(finished.Relay.SessionGeneration >= 2, "the restart started a new session generation (fresh handshake)");
        Assert.Contains("receiver confirmed all, in order, once", finished.Parties.Single(p => p.PartyId == "external").Summary);
        Assert.True(AuditVerifier.Verify(fixture.AuditDatabase).IsValid);
    }

    [Fact]
    public async Task Killing_and_restarting_the_coordinator_in_the_middle_of_a_stream_loses_nothing_and_keeps_the_audit_chain_valid()
    {
        using (var op = fixture.Connect("operator"))
        {
            var job = await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("stream", ("count", "1000"), ("size", "256"), ("delayMs", "2")));
            var before = await WaitForRelayedAsync(op, job.JobId, 150);
            Assert.True(before.Relay.MessagesRelayed < 1000, "the stream finished before the crash could be staged");

            fixture.Federation.Kill(RunFolder.CoordinatorName); // registry, jobs and audit log are on disk; relay queues are not
            try { await Task.Delay(500); }
            finally { await fixture.Federation.StartHostAsync(RunFolder.CoordinatorName, CancellationToken.None); }

            using var again = fixture.Connect("operator");
            var finished = await fixture.WaitForJobAsync(again, job.JobId, TimeSpan.FromSeconds(120));
            Assert.True(finished.State == JobState.Completed, $"job {finished.State}: {finished.Reason}\n{fixture.LogTail("external")}");
            var tally = Tally(finished);
            Assert.Equal((1000, 1000, 0, 0), (tally.Distinct, tally.Count, tally.Duplicates, tally.OutOfOrder));
            Assert.Equal(0, tally.Resumes); // the parties kept running; only the relay in between restarted
        }
        var verification = AuditVerifier.Verify(fixture.AuditDatabase);
        Assert.True(verification.IsValid, verification.Problem);
        using var op2 = fixture.Connect("operator");
        await LocalFederationFixture.WaitForPartiesAsync(op2);
    }
}
