using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Federated.Launcher;
using Federated.Operator;
using Federated.Security;
using Federated.Transport.Client;
using Federated.Transport.Relay;
using Federated.Transport.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Federated.Integration.Tests;

/// <summary>
/// The federation of the relay abuse tests: small relay bounds so that an attack reaches them in a second, and a short
/// incomplete-message timeout. Each test enrols its own misbehaving party (a certificate of the federation's CA, so
/// its quota is its own) and a job between it and the real music party.
/// </summary>
public sealed class RelayAbuseFixture() : LocalFederationFixture("abuse")
{
    public const long MaxMessageBytes = 4L * 1024 * 1024;
    public const int ChunkBytes = 1024 * 1024;
    public const long PartyInFlightBytes = 8L * 1024 * 1024;
    public const int PartyMessagesPerSecond = 200;
    public const long PartyBytesPerSecond = 16L * 1024 * 1024;
    public const int IncompleteMessageTimeoutSeconds = 8;

    protected override LocalFederationOptions Configure(LocalFederationOptions options) => options with
    {
        ExtraArguments =
        [
            .. options.ExtraArguments,
            Setting(nameof(RelayLimits.MaxMessageBytes), MaxMessageBytes),
            Setting(nameof(RelayLimits.ChunkBytes), ChunkBytes),
            Setting(nameof(RelayLimits.PartyInFlightBytes), PartyInFlightBytes),
            Setting(nameof(RelayLimits.PartyMessagesPerSecond), PartyMessagesPerSecond),
            Setting(nameof(RelayLimits.PartyBytesPerSecond), PartyBytesPerSecond),
            Setting(nameof(RelayLimits.IncompleteMessageTimeoutSeconds), IncompleteMessageTimeoutSeconds),
        ],
    };

    private static string Setting(string name, long value) => string.Create(CultureInfo.InvariantCulture, $"--{RelayLimits.SectionName}:{name}={value}");

    public HostProcess Coordinator => Federation.Hosts["coordinator"];

    /// <summary>Enrols an external party <paramref name="partyId"/> and creates a ping job between it and the real music party.</summary>
    public async Task<Rogue> EnrolRogueAsync(string partyId)
    {
        using var authority = CertificateFiles.Load(Certificates, CertificateFiles.AuthorityName, withPrivateKey: true);
        var certificate = CertificateFactory.IssueParty(authority, partyId, PartyRole.External, [], TimeSpan.FromDays(1));
        using var op = Connect();
        await op.Registry.EnrollPartyAsync(new EnrollPartyRequest { CertificatePem = certificate.ExportCertificatePem() });
        var job = await op.Jobs.CreateJobAsync(new CreateJobRequest { Kind = "ping", MusicPartyId = RunFolder.MusicName, ExternalPartyId = partyId });
        var connection = CoordinatorConnection.Open(Federation.CoordinatorAddress, certificate, new CertificateValidator(CertificateFiles.LoadAuthority(Certificates)));
        return new Rogue(partyId, job.JobId, certificate, connection);
    }

    /// <summary>Stops a rogue's job and forgets its party.</summary>
    public async Task RetireAsync(Rogue rogue)
    {
        using var op = Connect();
        await op.Jobs.StopJobAsync(new StopJobRequest { JobId = rogue.JobId, Reason = "test over" });
        await op.Registry.RevokePartyAsync(new RevokePartyRequest { PartyId = rogue.PartyId });
        rogue.Dispose();
    }
}

/// <summary>Runs alone: the floods load the CPU on purpose, which would stretch the heartbeats of other federations.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RelayAbuseCollection : ICollectionFixture<RelayAbuseFixture>
{
    public const string Name = "relay-abuse";
}

/// <summary>A misbehaving party: its certificate, its connection to the real coordinator, and its job with the music party.</summary>
public sealed class Rogue(string partyId, string jobId, X509Certificate2 certificate, CoordinatorConnection connection) : IDisposable
{
    public string PartyId { get; } = partyId;
    public string JobId { get; } = jobId;
    public CoordinatorConnection Connection { get; } = connection;

    /// <summary>A message header from this party to the music party (link generation 0: no handshake took place).</summary>
    public RelayHeader Header(ulong sequence, long payloadSize) => new()
    {
        JobId = JobId, MessageType = "ping.request", Sender = PartyId, Receiver = RunFolder.MusicName,
        Sequence = sequence, PayloadSize = (ulong)payloadSize, Generation = 0,
    };

    public void Dispose()
    {
        Connection.Dispose();
        certificate.Dispose();
    }
}

/// <summary>The coordinator process's resident memory, from /proc/&lt;pid&gt;/status.</summary>
public readonly record struct ProcessMemory(long RssBytes, long PeakRssBytes)
{
    public static ProcessMemory Of(int processId)
    {
        long Field(string[] lines, string name) =>
            long.Parse(lines.Single(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        var status = File.ReadAllLines($"/proc/{processId}/status");
        return new ProcessMemory(Field(status, "VmRSS"), Field(status, "VmHWM"));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"VmRSS {RssBytes / 1048576.0:F1} MiB, VmHWM {PeakRssBytes / 1048576.0:F1} MiB");
}

/// <summary>What a misbehaving sender got back: the status that ended its stream, progress notes, bytes it pushed.</summary>
public sealed record SendResult(RpcException? Error, IReadOnlyList<SendProgress> Progress, long BytesWritten, TimeSpan Elapsed);

public static class RogueSender
{
    /// <summary>
    /// Writes <paramref name="frames"/> as fast as the stream takes them while reading the coordinator's answers; stops
    /// writing when the call ended. Returns once the coordinator ended the call (or the frames ran out and it answered).
    /// </summary>
    public static async Task<SendResult> SendAsync(CoordinatorConnection connection, IEnumerable<RelayFrame> frames, bool complete = true,
        TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(45));
        using var call = connection.Relay.Send(cancellationToken: cancel.Token);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var progress = new List<SendProgress>();
        var reader = Task.Run(async () =>
        {
            try
            {
                while (await call.ResponseStream.MoveNext(cancel.Token))
                    lock (progress)
                        progress.Add(call.ResponseStream.Current);
                return null;
            }
            catch (RpcException e) { return e; }
        });
        long written = 0;
        try
        {
            foreach (var frame in frames)
            {
                if (reader.IsCompleted)
                    break;
                await call.RequestStream.WriteAsync(frame, cancel.Token);
                written += frame.Data.Length;
            }
            if (complete && !reader.IsCompleted)
                await call.RequestStream.CompleteAsync();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or OperationCanceledException or IOException)
        {
            // the coordinator ended the call while frames were still going out
        }
        var error = await reader;
        lock (progress)
            return new SendResult(error, [.. progress], written, started.Elapsed);
    }

    /// <summary>Chunk frames of one message whose chunks go on past its header's size up to <paramref name="totalBytes"/>.</summary>
    public static IEnumerable<RelayFrame> Overflowing(RelayHeader header, long totalBytes, int chunkBytes)
    {
        var chunk = UnsafeByteOperations.UnsafeWrap(new byte[chunkBytes]);
        for (long offset = 0; offset < totalBytes; offset += chunkBytes)
            yield return new RelayFrame { Header = offset == 0 ? header : null, Sequence = header.Sequence, Offset = (ulong)offset, Data = chunk, Last = false };
    }
}
