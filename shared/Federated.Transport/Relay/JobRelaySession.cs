namespace Federated.Transport.Relay;

/// <summary>What one party posted for a session generation.</summary>
public sealed record SessionOffer(string PartyId, string Incarnation, byte[] Offer, ulong ReceivedFromPeer, ulong ConsumedFromPeer);

/// <summary>The peer's side of a completed generation, as returned to a party.</summary>
public sealed record SessionRendezvous(ulong Generation, SessionOffer Peer);

/// <summary>
/// The coordinator's relay state of one job between exactly two parties: the two directed links and the session
/// generation. A generation is complete when both parties posted a handshake offer for it; a party posting again
/// after that (it reconnected or restarted) starts the next generation, which resets both links. The coordinator
/// only passes the signed offers along; it cannot derive the session key from them.
/// </summary>
public sealed class JobRelaySession
{
    private readonly object _gate = new();
    private readonly Dictionary<string, SessionOffer> _offers = new(StringComparer.Ordinal);
    private ulong _generation = 1;
    private bool _complete;

    public JobRelaySession(string jobId, string partyA, string partyB, RelayLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (string.Equals(partyA, partyB, StringComparison.Ordinal))
            throw new ArgumentException($"a job needs two different parties, got '{partyA}' twice");
        JobId = jobId;
        PartyA = partyA;
        PartyB = partyB;
        Changed = new AsyncPulse();
        AtoB = new RelayLink(jobId, partyA, partyB, limits.LinkQueueMessages, limits.LinkQueueBytes, Changed);
        BtoA = new RelayLink(jobId, partyB, partyA, limits.LinkQueueMessages, limits.LinkQueueBytes, Changed);
    }

    public string JobId { get; }
    public string PartyA { get; }
    public string PartyB { get; }
    public RelayLink AtoB { get; }
    public RelayLink BtoA { get; }

    /// <summary>Pulsed on every change of either link or of the generation.</summary>
    public AsyncPulse Changed { get; }

    /// <summary>The current generation; it may be incomplete (waiting for an offer).</summary>
    public ulong Generation { get { lock (_gate) return _generation; } }

    public bool IsParty(string partyId) => partyId == PartyA || partyId == PartyB;

    public string PeerOf(string partyId) => partyId == PartyA ? PartyB
        : partyId == PartyB ? PartyA
        : throw new ArgumentException($"party '{partyId}' is not part of job {JobId}");

    public RelayLink OutgoingOf(string partyId) => partyId == PartyA ? AtoB : partyId == PartyB ? BtoA
        : throw new ArgumentException($"party '{partyId}' is not part of job {JobId}");

    public RelayLink IncomingOf(string partyId) => OutgoingOf(PeerOf(partyId));

    /// <summary>
    /// Posts a party's offer. Returns the generation the offer belongs to and whether that posting started a new
    /// generation (the caller records it in the audit log).
    /// </summary>
    public (ulong Generation, bool Started) Post(SessionOffer offer)
    {
        ArgumentNullException.ThrowIfNull(offer);
        PeerOf(offer.PartyId); // throws for a stranger
        lock (_gate)
        {
            var started = false;
            if (_complete)
            {
                _generation++;
                _offers.Clear();
                _complete = false;
                started = true;
            }
            _offers[offer.PartyId] = offer;
            if (_offers.Count == 2)
            {
                _complete = true;
                var a = _offers[PartyA];
                var b = _offers[PartyB];
                // A->B: B holds what it reported; likewise the other way.
                AtoB.Reset(_generation, b.ReceivedFromPeer, b.ConsumedFromPeer);
                BtoA.Reset(_generation, a.ReceivedFromPeer, a.ConsumedFromPeer);
            }
            Changed.Pulse();
            return (_generation, started);
        }
    }

    /// <summary>
    /// Waits until the generation <paramref name="generation"/> is complete and returns the peer's offer.
    /// Throws <see cref="SessionSupersededException"/> when a newer generation started first.
    /// </summary>
    public async Task<SessionRendezvous> WaitForPeerAsync(string partyId, ulong generation, CancellationToken cancellationToken)
    {
        var peer = PeerOf(partyId);
        while (true)
        {
            var wait = Changed.Current;
            lock (_gate)
            {
                if (_generation != generation)
                    throw new SessionSupersededException(JobId, generation, _generation);
                if (_complete)
                    return new SessionRendezvous(generation, _offers[peer]);
            }
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>A newer session generation started while a party waited for its peer's offer; handshake again.</summary>
public sealed class SessionSupersededException(string jobId, ulong waited, ulong current)
    : Exception($"job {jobId}: session generation {waited} was superseded by {current}; start the handshake again");
