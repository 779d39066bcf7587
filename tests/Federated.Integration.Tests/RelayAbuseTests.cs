using System.Diagnostics;
using System.Globalization;
using Federated.Launcher;
using Federated.Operator;
using Federated.Transport.V1;
using Google.Protobuf;
using Grpc.Core;
using Xunit.Abstractions;

namespace Federated.Integration.Tests;

/// <summary>
/// A misbehaving party (a test-side gRPC client with a certificate of the federation's CA) against the real coordinator
/// process: oversized and malformed messages, a stalled stream, a flood. Each attack gets a clear status, the
/// coordinator's memory stays bounded and the honest parties' jobs keep running.
/// </summary>
[Collection(RelayAbuseCollection.Name)]
public sealed class RelayAbuseTests(RelayAbuseFixture fixture, ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;

    private ProcessMemory CoordinatorMemory() => ProcessMemory.Of(fixture.Coordinator.ProcessId);

    private static RelayFrame Whole(RelayHeader header, byte[] payload) =>
        new() { Header = header, Sequence = header.Sequence, Data = ByteString.CopyFrom(payload), Last = true };

    private void Report(string attack, ProcessMemory before, ProcessMemory after, SendResult result) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{attack}: {result.Error?.StatusCode} after {result.Elapsed.TotalMilliseconds:F0} ms, {result.BytesWritten / (double)MiB:F1} MiB written; " +
            $"coordinator before {before}, after {after}; growth RSS {(after.RssBytes - before.RssBytes) / (double)MiB:F1} MiB, peak {(after.PeakRssBytes - before.PeakRssBytes) / (double)MiB:F1} MiB; " +
            $"\"{result.Error?.Status.Detail}\""));

    private async Task HonestPingCompletesAsync()
    {
        var started = Stopwatch.StartNew();
        var ping = await fixture.RunJobAsync("ping", ("rounds", "3"), ("size", "100"));
        Assert.Equal(JobState.Completed, ping.State);
        Assert.Equal(6UL, ping.Relay.MessagesRelayed);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"honest ping job between music and external: completed in {started.ElapsedMilliseconds} ms"));
    }

    [Fact]
    public async Task An_oversized_message_is_refused_at_its_header_or_at_its_first_byte_beyond_the_announced_size_and_the_coordinator_stays_bounded()
    {
        var rogue = await fixture.EnrolRogueAsync("external-oversize");
        try
        {
            const long attempted = 1024 * MiB;
            var before = CoordinatorMemory();

            // A header announcing 1 GiB, followed by 1 GiB of chunks.
            var announced = await RogueSender.SendAsync(rogue.Connection,
                RogueSender.Overflowing(rogue.Header(1, attempted), attempted, RelayAbuseFixture.ChunkBytes));
            var afterAnnounced = CoordinatorMemory();
            Report("header announcing 1 GiB", before, afterAnnounced, announced);
            Assert.Equal(StatusCode.ResourceExhausted, announced.Error?.StatusCode);
            Assert.Contains($"announces {attempted} bytes", announced.Error!.Status.Detail);
            Assert.Contains($"relay bound is {RelayAbuseFixture.MaxMessageBytes} (Relay:MaxMessageBytes)", announced.Error.Status.Detail);
            Assert.Empty(announced.Progress);

            // A header within the bound (4 MiB), followed by 1 GiB of chunks: refused at the fifth chunk.
            await Task.Delay(1100); // the party's byte bucket refills
            var overflow = await RogueSender.SendAsync(rogue.Connection,
                RogueSender.Overflowing(rogue.Header(1, RelayAbuseFixture.MaxMessageBytes), attempted, RelayAbuseFixture.ChunkBytes));
            var after = CoordinatorMemory();
            Report("4 MiB header, 1 GiB of chunks", afterAnnounced, after, overflow);
            Assert.Equal(StatusCode.ResourceExhausted, overflow.Error?.StatusCode);
            Assert.Contains($"more bytes than its header announces: {RelayAbuseFixture.MaxMessageBytes + RelayAbuseFixture.ChunkBytes} of {RelayAbuseFixture.MaxMessageBytes}",
                overflow.Error!.Status.Detail);
            Assert.Empty(overflow.Progress);

            // The attacker pushed a small part of the gigabyte, and the coordinator held far less than it.
            Assert.True(announced.BytesWritten + overflow.BytesWritten < 128 * MiB, $"{announced.BytesWritten + overflow.BytesWritten} bytes went out");
            Assert.True(after.RssBytes - before.RssBytes < 64 * MiB, $"coordinator RSS grew from {before} to {after}");
            Assert.True(after.PeakRssBytes - before.PeakRssBytes < 64 * MiB, $"coordinator peak RSS grew from {before} to {after}");
            Assert.True(announced.Elapsed < TimeSpan.FromSeconds(10) && overflow.Elapsed < TimeSpan.FromSeconds(10));

            var job = await fixture.Connect().Jobs.GetJobAsync(new GetJobRequest { JobId = rogue.JobId });
            Assert.Equal(2UL, job.Relay.LimitRefused);
            Assert.Equal(0UL, job.Relay.MessagesRelayed);
            await HonestPingCompletesAsync();
        }
        finally
        {
            await fixture.RetireAsync(rogue);
        }
    }

    [Fact]
    public async Task Malformed_frames_get_a_status_that_names_what_was_wrong_and_the_coordinator_keeps_serving()
    {
        var rogue = await fixture.EnrolRogueAsync("external-malformed");
        try
        {
            var payload = new byte[64];
            async Task<RpcException> Refused(Federated.Transport.Client.CoordinatorConnection connection, StatusCode code, string detail, params RelayFrame[] frames)
            {
                var result = await RogueSender.SendAsync(connection, frames);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{code}: {result.Error?.StatusCode} after {result.Elapsed.TotalMilliseconds:F0} ms: \"{result.Error?.Status.Detail}\""));
                Assert.NotNull(result.Error);
                Assert.Equal(code, result.Error.StatusCode);
                Assert.Contains(detail, result.Error.Status.Detail);
                return result.Error;
            }

            // Bytes that are no RelayFrame at all, on the real Send method.
            var raw = new Method<byte[], byte[]>(MethodType.DuplexStreaming, "federated.transport.v1.Relay", "Send",
                Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
            using (var call = rogue.Connection.Channel.CreateCallInvoker().AsyncDuplexStreamingCall(raw, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30))))
            {
                var started = Stopwatch.StartNew();
                await call.RequestStream.WriteAsync([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x34]);
                var garbage = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext());
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"garbage bytes: {garbage.StatusCode} after {started.ElapsedMilliseconds} ms: \"{garbage.Status.Detail}\""));
                Assert.Equal(StatusCode.InvalidArgument, garbage.StatusCode);
                Assert.Contains("not a valid RelayFrame", garbage.Status.Detail);
            }

            await Refused(rogue.Connection, StatusCode.InvalidArgument, "arrived without its header chunk",
                new RelayFrame { Sequence = 1, Offset = 0, Data = ByteString.CopyFrom(payload), Last = true });
            await Refused(rogue.Connection, StatusCode.InvalidArgument, "chunk of message 1 arrived inside message 2",
                new RelayFrame { Header = rogue.Header(2, 128), Sequence = 2, Data = ByteString.CopyFrom(payload) },
                new RelayFrame { Sequence = 1, Offset = 64, Data = ByteString.CopyFrom(payload), Last = true });
            await Refused(rogue.Connection, StatusCode.InvalidArgument, "next expected sequence is 1",
                Whole(rogue.Header(5, 64), payload));
            await Refused(rogue.Connection, StatusCode.InvalidArgument, "differs from its header's",
                new RelayFrame { Header = rogue.Header(3, 64), Sequence = 4, Data = ByteString.CopyFrom(payload), Last = true });

            var spoofed = rogue.Header(1, 64);
            spoofed.Sender = RunFolder.ExternalName;
            await Refused(rogue.Connection, StatusCode.PermissionDenied, $"party '{rogue.PartyId}' may not send as 'external'", Whole(spoofed, payload));
            var misaddressed = rogue.Header(1, 64);
            misaddressed.Receiver = RunFolder.ExternalName;
            await Refused(rogue.Connection, StatusCode.PermissionDenied, "may only send to 'music'", Whole(misaddressed, payload));
            using (var external = fixture.Connect(RunFolder.ExternalName))
            {
                var foreign = rogue.Header(1, 64);
                foreign.Sender = RunFolder.ExternalName;
                await Refused(external, StatusCode.PermissionDenied, $"party 'external' is not a party of job '{rogue.JobId}'", Whole(foreign, payload));
            }
            var unknown = rogue.Header(1, 64);
            unknown.JobId = "no-such-job";
            await Refused(rogue.Connection, StatusCode.NotFound, "job 'no-such-job' does not exist", Whole(unknown, payload));

            // A sequence that goes backwards over whole messages is a replay: dropped, not relayed twice.
            var replay = await RogueSender.SendAsync(rogue.Connection, [Whole(rogue.Header(1, 64), payload), Whole(rogue.Header(1, 64), payload)]);
            Assert.Null(replay.Error);
            Assert.Equal([SendOutcome.Accepted, SendOutcome.OldSequence], replay.Progress.Select(p => p.Outcome));

            Assert.False(fixture.Coordinator.HasExited);
            using var op = fixture.Connect();
            var job = await op.Jobs.GetJobAsync(new GetJobRequest { JobId = rogue.JobId });
            Assert.Equal(1UL, job.Relay.MessagesRelayed);
            Assert.Equal(1UL, job.Relay.OldSequenceDropped);
            await HonestPingCompletesAsync();
        }
        finally
        {
            await fixture.RetireAsync(rogue);
        }
    }

    [Fact]
    public async Task A_stream_stalled_mid_message_holds_no_more_than_its_party_s_bound_blocks_no_other_job_and_is_cut_off_after_the_timeout()
    {
        var rogue = await fixture.EnrolRogueAsync("external-stall");
        try
        {
            var before = CoordinatorMemory();
            var chunk = ByteString.CopyFrom(new byte[RelayAbuseFixture.ChunkBytes]);
            // Two streams each announce 4 MiB, send 2 MiB and go silent, with their request streams left open.
            var stalled = new List<(AsyncDuplexStreamingCall<RelayFrame, SendProgress> Call, Stopwatch Clock)>();
            for (var i = 0; i < 2; i++)
            {
                var call = rogue.Connection.Relay.Send();
                var clock = Stopwatch.StartNew();
                await call.RequestStream.WriteAsync(new RelayFrame { Header = rogue.Header(1, RelayAbuseFixture.MaxMessageBytes), Sequence = 1, Data = chunk });
                await call.RequestStream.WriteAsync(new RelayFrame { Sequence = 1, Offset = (ulong)RelayAbuseFixture.ChunkBytes, Data = chunk });
                stalled.Add((call, clock));
            }
            try
            {
                // The party's 8 MiB of incomplete messages are taken: a third message is refused at its header.
                await Task.Delay(500);
                var third = await RogueSender.SendAsync(rogue.Connection, [new RelayFrame { Header = rogue.Header(1, RelayAbuseFixture.ChunkBytes), Sequence = 1, Data = chunk, Last = true }]);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"third message while two are stalled: {third.Error?.StatusCode} after {third.Elapsed.TotalMilliseconds:F0} ms: \"{third.Error?.Status.Detail}\""));
                Assert.Equal(StatusCode.ResourceExhausted, third.Error?.StatusCode);
                Assert.Contains($"the bound is {RelayAbuseFixture.PartyInFlightBytes} (Relay:PartyInFlightBytes)", third.Error!.Status.Detail);

                // Another job between the honest hosts runs while both streams are stalled.
                await HonestPingCompletesAsync();
                Assert.All(stalled, s => Assert.True(s.Clock.Elapsed < TimeSpan.FromSeconds(RelayAbuseFixture.IncompleteMessageTimeoutSeconds),
                    $"the ping job took until {s.Clock.Elapsed} into the stall"));

                foreach (var (call, clock) in stalled)
                {
                    var error = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext());
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stalled stream: {error.StatusCode} after {clock.Elapsed.TotalSeconds:F1} s: \"{error.Status.Detail}\""));
                    Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
                    Assert.Contains($"still incomplete after {RelayAbuseFixture.IncompleteMessageTimeoutSeconds} s ({2 * RelayAbuseFixture.ChunkBytes} of {RelayAbuseFixture.MaxMessageBytes} bytes; Relay:IncompleteMessageTimeoutSeconds)",
                        error.Status.Detail);
                    Assert.InRange(clock.Elapsed.TotalSeconds, RelayAbuseFixture.IncompleteMessageTimeoutSeconds - 0.5, RelayAbuseFixture.IncompleteMessageTimeoutSeconds + 10);
                }
            }
            finally
            {
                foreach (var (call, _) in stalled)
                    call.Dispose();
            }

            // Their room is free again: a whole 4 MiB message is accepted.
            var payload = new byte[RelayAbuseFixture.MaxMessageBytes];
            var accepted = await RogueSender.SendAsync(rogue.Connection, Federated.Transport.Relay.MessageChunker.Split(rogue.Header(1, payload.Length), payload, RelayAbuseFixture.ChunkBytes));
            Assert.Null(accepted.Error);
            Assert.Equal(SendOutcome.Accepted, Assert.Single(accepted.Progress).Outcome);
            var after = CoordinatorMemory();
            output.WriteLine($"stalled streams: coordinator before {before}, after {after}");
            Assert.True(after.PeakRssBytes - before.PeakRssBytes < 64 * MiB, $"coordinator peak RSS grew from {before} to {after}");
        }
        finally
        {
            await fixture.RetireAsync(rogue);
        }
    }

    [Fact]
    public async Task A_flooding_party_is_held_to_its_quota_with_ResourceExhausted_counted_and_logged_while_the_honest_parties_go_on()
    {
        var rogue = await fixture.EnrolRogueAsync("external-flood");
        try
        {
            var marker = "FLOOD-PAYLOAD-MARKER-0123456789"u8.ToArray();
            var before = CoordinatorMemory();

            // As many small messages as the stream takes (up to 100,000).
            var flood = await RogueSender.SendAsync(rogue.Connection,
                Enumerable.Range(1, 100_000).Select(i => Whole(rogue.Header((ulong)i, marker.Length), marker)));
            Report("message flood", before, CoordinatorMemory(), flood);
            Assert.Equal(StatusCode.ResourceExhausted, flood.Error?.StatusCode);
            Assert.Contains($"party '{rogue.PartyId}' exceeded its relay quota of {RelayAbuseFixture.PartyMessagesPerSecond} messages per second (Relay:PartyMessagesPerSecond)",
                flood.Error!.Status.Detail);
            var acceptedMessages = flood.Progress.Count(p => p.Outcome == SendOutcome.Accepted);
            output.WriteLine($"message flood: {acceptedMessages} accepted in {flood.Elapsed.TotalMilliseconds:F0} ms");
            Assert.InRange(acceptedMessages, RelayAbuseFixture.PartyMessagesPerSecond / 2,
                RelayAbuseFixture.PartyMessagesPerSecond * (1 + flood.Elapsed.TotalSeconds) + 1);

            // 1 MiB messages as fast as they go (up to 1 GiB): the byte quota.
            await Task.Delay(1100);
            var big = new byte[RelayAbuseFixture.ChunkBytes];
            var first = (ulong)acceptedMessages + 1;
            var bytesFlood = await RogueSender.SendAsync(rogue.Connection,
                Enumerable.Range(0, 1024).Select(i => Whole(rogue.Header(first + (ulong)i, big.Length), big)));
            var after = CoordinatorMemory();
            Report("byte flood", before, after, bytesFlood);
            Assert.Equal(StatusCode.ResourceExhausted, bytesFlood.Error?.StatusCode);
            Assert.Contains($"exceeded its relay quota of {RelayAbuseFixture.PartyBytesPerSecond} bytes per second (Relay:PartyBytesPerSecond)", bytesFlood.Error!.Status.Detail);
            var acceptedBytes = bytesFlood.Progress.Count(p => p.Outcome == SendOutcome.Accepted) * (long)big.Length;
            Assert.InRange(acceptedBytes, RelayAbuseFixture.PartyBytesPerSecond / 2, RelayAbuseFixture.PartyBytesPerSecond * (1 + bytesFlood.Elapsed.TotalSeconds) + RelayAbuseFixture.ChunkBytes);

            // The honest parties are unaffected: the external party's heartbeat and a ping job between music and external.
            using (var external = fixture.Connect(RunFolder.ExternalName))
                await external.Registry.HeartbeatAsync(new HeartbeatRequest());
            await HonestPingCompletesAsync();

            using var op = fixture.Connect();
            var job = await op.Jobs.GetJobAsync(new GetJobRequest { JobId = rogue.JobId });
            Assert.Equal(2UL, job.Relay.LimitRefused);
            Assert.Equal((ulong)(acceptedMessages + acceptedBytes / big.Length), job.Relay.MessagesRelayed);

            await Task.Delay(300); // the coordinator's log is flushed
            var log = await ReadLogAsync(fixture.Coordinator.LogFile);
            Assert.Contains($"Refused the relay stream of {rogue.PartyId} (1 refusal(s) so far): party '{rogue.PartyId}' exceeded its relay quota of {RelayAbuseFixture.PartyMessagesPerSecond} messages per second", log);
            Assert.Contains($"Refused the relay stream of {rogue.PartyId} (2 refusal(s) so far)", log);
            Assert.DoesNotContain("FLOOD-PAYLOAD-MARKER", log);
            Assert.DoesNotContain(Convert.ToBase64String(marker)[..20], log);
        }
        finally
        {
            await fixture.RetireAsync(rogue);
        }
    }

    private static async Task<string> ReadLogAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}
