using System.Collections.Concurrent;
using System.Diagnostics;
using Federated.Transport.Relay;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator.Relay;

/// <summary>
/// Per-party bounds of the relay at the coordinator: a token bucket of messages and one of payload bytes per party
/// (<see cref="RelayLimits.PartyMessagesPerSecond"/>, <see cref="RelayLimits.PartyBytesPerSecond"/>), and the bytes a
/// party may have announced in incomplete messages at once (<see cref="RelayLimits.PartyInFlightBytes"/>). The
/// methods return null when the frame is within bounds and otherwise the refusal, naming the limit and the value.
/// </summary>
public sealed class RelayGuard(IOptions<RelayLimits> limits)
{
    private readonly ConcurrentDictionary<string, PartyAllowance> _parties = new(StringComparer.Ordinal);

    private PartyAllowance For(string partyId) => _parties.GetOrAdd(partyId, _ => new PartyAllowance(limits.Value));

    /// <summary>Charges the header chunk of a new message: one message, its chunk's bytes, and its announced size in flight.</summary>
    public string? StartMessage(string partyId, long announcedBytes, long chunkBytes)
    {
        var party = For(partyId);
        var l = limits.Value;
        if (!party.Messages.TryTake(1))
            return $"party '{partyId}' exceeded its relay quota of {l.PartyMessagesPerSecond} messages per second (Relay:PartyMessagesPerSecond)";
        if (!party.Bytes.TryTake(chunkBytes))
            return BytesRefusal(partyId, l);
        var inFlight = Interlocked.Add(ref party.InFlightBytes, announcedBytes);
        if (inFlight > l.PartyInFlightBytes)
        {
            Interlocked.Add(ref party.InFlightBytes, -announcedBytes);
            return $"party '{partyId}' would have {inFlight} bytes in incomplete messages; the bound is {l.PartyInFlightBytes} (Relay:PartyInFlightBytes)";
        }
        return null;
    }

    /// <summary>Charges a further chunk of a message.</summary>
    public string? Continue(string partyId, long chunkBytes) =>
        For(partyId).Bytes.TryTake(chunkBytes) ? null : BytesRefusal(partyId, limits.Value);

    /// <summary>Returns a message's announced size once it is complete or its stream ended.</summary>
    public void EndMessage(string partyId, long announcedBytes) => Interlocked.Add(ref For(partyId).InFlightBytes, -announcedBytes);

    /// <summary>Counts a refusal of the party (any limit) and returns the party's total so far.</summary>
    public long CountRefusal(string partyId) => Interlocked.Increment(ref For(partyId).Refusals);

    /// <summary>Bytes the party has announced in incomplete messages now.</summary>
    public long InFlightOf(string partyId) => Interlocked.Read(ref For(partyId).InFlightBytes);

    private static string BytesRefusal(string partyId, RelayLimits l) =>
        $"party '{partyId}' exceeded its relay quota of {l.PartyBytesPerSecond} bytes per second (Relay:PartyBytesPerSecond)";

    private sealed class PartyAllowance(RelayLimits limits)
    {
        public readonly TokenBucket Messages = new(limits.PartyMessagesPerSecond);
        public readonly TokenBucket Bytes = new(limits.PartyBytesPerSecond);
        public long InFlightBytes;
        public long Refusals;
    }
}

/// <summary>A token bucket that refills at <c>rate</c> tokens per second and holds at most one second of them.</summary>
public sealed class TokenBucket
{
    private readonly object _gate = new();
    private readonly double _rate;
    private double _tokens;
    private long _stamp;

    public TokenBucket(double ratePerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratePerSecond);
        _rate = ratePerSecond;
        _tokens = ratePerSecond;
        _stamp = Stopwatch.GetTimestamp();
    }

    /// <summary>Takes <paramref name="amount"/> tokens when that many are there; otherwise takes none and returns false.</summary>
    public bool TryTake(double amount)
    {
        lock (_gate)
        {
            var now = Stopwatch.GetTimestamp();
            _tokens = Math.Min(_rate, _tokens + Stopwatch.GetElapsedTime(_stamp, now).TotalSeconds * _rate);
            _stamp = now;
            if (_tokens < amount)
                return false;
            _tokens -= amount;
            return true;
        }
    }
}
