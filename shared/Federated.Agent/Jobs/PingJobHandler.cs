using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using Federated.Core;
using Federated.Agent;
using Federated.Security;

namespace Federated.Agent.Jobs;

/// <summary>
/// "ping": the external party sends sealed pings with a random nonce, the music party answers each with a pong
/// that echoes the nonce; the external party checks every echo. Parameters: rounds (default 3), size (payload bytes,
/// default 64). Proves the sealed round trip through the relay and measures its latency.
/// </summary>
public sealed class PingJobHandler : IJobHandler
{
    public const string PingType = "ping.request";
    public const string PongType = "ping.response";

    public string Kind => "ping";

    public async Task RunAsync(JobContext context, IPeerChannel peer, CancellationToken cancellationToken)
    {
        var rounds = context.GetInt("rounds", 3, 1, 100_000);
        var size = context.GetInt("size", 64, 16, 256 * 1024 * 1024);
        if (context.SelfRole == PartyRole.External)
        {
            var payload = new byte[size];
            var timings = new List<double>(rounds);
            for (var round = 0; round < rounds; round++)
            {
                RandomNumberGenerator.Fill(payload.AsSpan(0, 16));
                BinaryPrimitives.WriteInt32BigEndian(payload.AsSpan(16 - 4), round);
                var started = Stopwatch.GetTimestamp();
                await peer.SendAsync(new PeerMessage(PingType, payload), cancellationToken).ConfigureAwait(false);
                var pong = await ProtocolViolationException.ExpectAsync(peer, PongType, cancellationToken).ConfigureAwait(false);
                timings.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (pong.Payload.Length != size || !pong.Payload.Span[..16].SequenceEqual(payload.AsSpan(0, 16)))
                    throw new ProtocolViolationException($"pong {round} does not echo the nonce of ping {round}");
            }
            timings.Sort();
            context.Summary = $"{rounds} sealed ping-pong round trip(s) of {size} bytes verified; median {timings[timings.Count / 2]:0.0} ms";
        }
        else
        {
            for (var round = 0; round < rounds; round++)
            {
                var ping = await ProtocolViolationException.ExpectAsync(peer, PingType, cancellationToken).ConfigureAwait(false);
                await peer.SendAsync(new PeerMessage(PongType, ping.Payload), cancellationToken).ConfigureAwait(false);
            }
            context.Summary = $"answered {rounds} sealed ping(s)";
        }
    }
}
