using System.Collections.Concurrent;
using Federated.Transport.Relay;
using Federated.Transport.V1;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator.Relay;

/// <summary>Counters of one job's relay (shown by the CLI and checked by tests).</summary>
public sealed class RelayCounters
{
    public long MessagesRelayed;
    public long BytesRelayed;
    public long OldSequenceDropped;
    public long StaleGenerationDropped;
    public long Redelivered;
    public long LimitRefused;

    public RelayStats ToProto(ulong generation) => new()
    {
        MessagesRelayed = (ulong)Interlocked.Read(ref MessagesRelayed),
        BytesRelayed = (ulong)Interlocked.Read(ref BytesRelayed),
        OldSequenceDropped = (ulong)Interlocked.Read(ref OldSequenceDropped),
        StaleGenerationDropped = (ulong)Interlocked.Read(ref StaleGenerationDropped),
        Redelivered = (ulong)Interlocked.Read(ref Redelivered),
        LimitRefused = (ulong)Interlocked.Read(ref LimitRefused),
        SessionGeneration = generation,
    };
}

/// <summary>The relay sessions of all jobs (in memory; a job's session lives as long as the coordinator process).</summary>
public sealed class RelayHub(IOptions<RelayLimits> limits)
{
    private readonly ConcurrentDictionary<string, (JobRelaySession Session, RelayCounters Counters)> _sessions = new(StringComparer.Ordinal);

    public RelayLimits Limits => limits.Value;

    public (JobRelaySession Session, RelayCounters Counters) For(string jobId, string music, string external) =>
        _sessions.GetOrAdd(jobId, id => (new JobRelaySession(id, music, external, limits.Value), new RelayCounters()));

    /// <summary>Counters of a job; <paramref name="music"/> names the music party (the other is the external one).</summary>
    public RelayStats? Stats(string jobId, string music)
    {
        if (!_sessions.TryGetValue(jobId, out var s))
            return null;
        var stats = s.Counters.ToProto(s.Session.Generation);
        stats.ConsumedByMusic = s.Session.IncomingOf(music).Acknowledged;
        stats.ConsumedByExternal = s.Session.OutgoingOf(music).Acknowledged;
        return stats;
    }

    /// <summary>Both directions of every job's session (for the link queue metrics).</summary>
    public IEnumerable<RelayLink> Links() => _sessions.Values.SelectMany(s => new[] { s.Session.AtoB, s.Session.BtoA });

    /// <summary>Wakes every stream of a job (for example when it was stopped).</summary>
    public void Wake(string jobId)
    {
        if (_sessions.TryGetValue(jobId, out var s))
            s.Session.Changed.Pulse();
    }
}
