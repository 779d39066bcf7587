namespace Federated.Transport.Relay;

/// <summary>Outcome of offering a message to a link.</summary>
public enum AcceptOutcome
{
    /// <summary>Queued for the receiver.</summary>
    Accepted,
    /// <summary>The sequence number was already accepted in this generation: a replay or duplicate, dropped.</summary>
    OldSequence,
    /// <summary>Sent under a superseded session generation, dropped; the sender must handshake again.</summary>
    StaleGeneration,
}

/// <summary>
/// The coordinator's queue for one (job, sender, receiver) link. Accepts messages strictly in sequence order,
/// drops old sequence numbers, holds accepted messages until the receiver acknowledges them (so a reconnecting
/// receiver gets them again), and makes the sender wait while the queue is full (back-pressure).
/// Thread-safe; every change pulses the owning job's <see cref="AsyncPulse"/>.
/// </summary>
public sealed class RelayLink
{
    private readonly object _gate = new();
    private readonly LinkedList<RelayedMessage> _pending = new();
    private readonly int _maxMessages;
    private readonly long _maxBytes;
    private readonly AsyncPulse _changed;
    private long _pendingBytes;
    private ulong _generation;
    private ulong _lastAccepted;
    private ulong _acknowledged;
    private ulong _highestDelivered;

    public RelayLink(string jobId, string sender, string receiver, int maxMessages, long maxBytes, AsyncPulse changed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        JobId = jobId;
        Sender = sender;
        Receiver = receiver;
        _maxMessages = maxMessages;
        _maxBytes = maxBytes;
        _changed = changed;
    }

    public string JobId { get; }
    public string Sender { get; }
    public string Receiver { get; }

    public ulong Generation { get { lock (_gate) return _generation; } }
    public ulong LastAccepted { get { lock (_gate) return _lastAccepted; } }
    public ulong Acknowledged { get { lock (_gate) return _acknowledged; } }
    public int PendingCount { get { lock (_gate) return _pending.Count; } }
    public long PendingBytes { get { lock (_gate) return _pendingBytes; } }

    /// <summary>
    /// Offers the next message of the sender. Waits while the queue is full (one message always fits into an empty
    /// queue, whatever its size). The caller has checked that the message belongs to this link.
    /// </summary>
    /// <exception cref="RelayProtocolException">A sequence gap, or a generation the coordinator never issued.</exception>
    /// <param name="message">The message.</param>
    /// <param name="onAccepted">Runs under the link's lock just before the message becomes visible to the receiver
    /// (the coordinator appends its audit record here, so nothing is delivered unaudited).</param>
    /// <param name="cancellationToken">Ends the wait for room.</param>
    public async ValueTask<AcceptOutcome> AcceptAsync(RelayedMessage message, Action<RelayedMessage>? onAccepted, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (message.Generation < _generation)
                    return AcceptOutcome.StaleGeneration;
                if (message.Generation > _generation)
                    throw new RelayProtocolException(
                        $"job {JobId}: {Sender} sent message {message.Sequence} under generation {message.Generation}, but the current generation is {_generation}");
                if (message.Sequence <= _lastAccepted)
                    return AcceptOutcome.OldSequence;
                if (message.Sequence != _lastAccepted + 1)
                    throw new RelayProtocolException(
                        $"job {JobId}: {Sender} sent message {message.Sequence} but the next expected sequence is {_lastAccepted + 1}");

                var fits = _pending.Count == 0 || (_pending.Count < _maxMessages && _pendingBytes + message.Size <= _maxBytes);
                if (fits)
                {
                    onAccepted?.Invoke(message);
                    _pending.AddLast(message);
                    _pendingBytes += message.Size;
                    _lastAccepted = message.Sequence;
                    _changed.Pulse();
                    return AcceptOutcome.Accepted;
                }
                wait = _changed.Current;
            }
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Records a delivery to the receiver; returns false when that sequence was delivered before (a redelivery after
    /// the receiver reconnected).
    /// </summary>
    public bool MarkDelivered(ulong sequence)
    {
        lock (_gate)
        {
            if (sequence <= _highestDelivered)
                return false;
            _highestDelivered = sequence;
            return true;
        }
    }

    /// <summary>The first queued message after <paramref name="sequence"/>, or null when there is none yet.</summary>
    public RelayedMessage? NextAfter(ulong sequence)
    {
        lock (_gate)
        {
            foreach (var message in _pending)
                if (message.Sequence > sequence)
                    return message;
            return null;
        }
    }

    /// <summary>
    /// The receiver consumed everything up to <paramref name="upTo"/>: forget those messages and free their room.
    /// Returns true when the acknowledged position moved.
    /// </summary>
    public bool Acknowledge(ulong upTo)
    {
        lock (_gate)
        {
            if (upTo > _lastAccepted)
                throw new RelayProtocolException(
                    $"job {JobId}: {Receiver} acknowledged message {upTo} from {Sender}, but only {_lastAccepted} were accepted");
            if (upTo <= _acknowledged)
                return false;
            _acknowledged = upTo;
            while (_pending.First is { } first && first.Value.Sequence <= upTo)
            {
                _pendingBytes -= first.Value.Size;
                _pending.RemoveFirst();
            }
            _changed.Pulse();
            return true;
        }
    }

    /// <summary>
    /// Starts a new session generation: messages sealed under the old key are useless to the receiver, so the queue
    /// is cleared; the sender re-sends everything after what the receiver reported it holds.
    /// </summary>
    public void Reset(ulong generation, ulong receiverHolds, ulong receiverConsumed)
    {
        lock (_gate)
        {
            if (generation <= _generation && _generation != 0)
                throw new ArgumentOutOfRangeException(nameof(generation), generation, $"generation must grow beyond {_generation}");
            _generation = generation;
            _pending.Clear();
            _pendingBytes = 0;
            _lastAccepted = receiverHolds;
            _acknowledged = Math.Min(receiverConsumed, receiverHolds);
            _changed.Pulse();
        }
    }
}
