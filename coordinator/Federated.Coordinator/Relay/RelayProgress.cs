using System.Collections.Concurrent;
using Federated.Transport.V1;

namespace Federated.Coordinator.Relay;

/// <summary>Where a job's relay stands: the last header it accepted and its recent throughput (metadata only).</summary>
/// <param name="Phase">The protocol phase, the message type's prefix (<c>psi</c>, <c>train</c>, <c>eval</c>, ...).</param>
/// <param name="MessageType">The last accepted message's type.</param>
/// <param name="Step">Its step as the sender numbered it.</param>
/// <param name="Messages">Messages accepted in this coordinator process.</param>
/// <param name="Bytes">Their sealed bytes.</param>
/// <param name="MessagesPerSecond">Over the last <see cref="RelayProgress.Window"/>.</param>
/// <param name="BytesPerSecond">Over the last <see cref="RelayProgress.Window"/>.</param>
/// <param name="Last">When the last message was accepted.</param>
public sealed record JobRelayProgress(string Phase, string MessageType, long Step, long Messages, long Bytes,
    double MessagesPerSecond, double BytesPerSecond, DateTimeOffset Last);

/// <summary>The relay's live progress per job, from the headers of accepted messages (in memory, like the relay sessions).</summary>
public sealed class RelayProgress(TimeProvider time)
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private sealed class Track
    {
        public string MessageType = "";
        public long Step;
        public long Messages;
        public long Bytes;
        public DateTimeOffset Last;
        public readonly Queue<(DateTimeOffset Time, long Bytes)> Recent = new();
    }

    private readonly ConcurrentDictionary<string, Track> _jobs = new(StringComparer.Ordinal);

    public void Accepted(RelayHeader header, long size)
    {
        ArgumentNullException.ThrowIfNull(header);
        var track = _jobs.GetOrAdd(header.JobId, _ => new Track());
        var now = time.GetUtcNow();
        lock (track)
        {
            track.MessageType = header.MessageType;
            track.Step = header.Step;
            track.Messages++;
            track.Bytes += size;
            track.Last = now;
            track.Recent.Enqueue((now, size));
            Prune(track, now);
        }
    }

    public JobRelayProgress? Of(string jobId)
    {
        if (!_jobs.TryGetValue(jobId, out var track))
            return null;
        var now = time.GetUtcNow();
        lock (track)
        {
            Prune(track, now);
            var seconds = Window.TotalSeconds;
            var type = track.MessageType;
            var dot = type.IndexOf('.', StringComparison.Ordinal);
            return new JobRelayProgress(dot > 0 ? type[..dot] : type, type, track.Step, track.Messages, track.Bytes,
                track.Recent.Count / seconds, track.Recent.Sum(r => r.Bytes) / seconds, track.Last);
        }
    }

    private static void Prune(Track track, DateTimeOffset now)
    {
        while (track.Recent.Count > 0 && now - track.Recent.Peek().Time > Window)
            track.Recent.Dequeue();
    }
}
