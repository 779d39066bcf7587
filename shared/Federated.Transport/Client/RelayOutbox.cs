namespace Federated.Transport.Client;

/// <summary>
/// The sending side of a relay channel: numbers outgoing messages 1, 2, 3, ... and keeps each (as plaintext) until the
/// peer reports it consumed, within the sender window (Relay:SenderWindowBytes); a new session re-sends, under the
/// new key, what the peer does not yet hold.
/// </summary>
internal sealed class RelayOutbox(RelayChannelState state, long windowBytes)
{
    private readonly LinkedList<Outgoing> _retained = new();
    private long _retainedBytes;
    private ulong _nextSequence = 1;
    private ulong _sent, _resent;

    public sealed record Outgoing(ulong Sequence, string MessageType, long Step, byte[] Plaintext);

    public ulong Sent
    {
        get { lock (state.Gate) return _sent; }
    }

    public ulong Resent
    {
        get { lock (state.Gate) return _resent; }
    }

    /// <summary>Messages sent but not yet consumed by the peer.</summary>
    public int Count
    {
        get { lock (state.Gate) return _retained.Count; }
    }

    /// <summary>Adds a message once the window has room for it (a message alone always fits), or throws the channel's failure.</summary>
    public async ValueTask EnqueueAsync(string messageType, long step, byte[] plaintext, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (state.Gate)
            {
                state.ThrowIfFailed();
                if (_retained.Count == 0 || _retainedBytes + plaintext.Length <= windowBytes)
                {
                    _retained.AddLast(new Outgoing(_nextSequence++, messageType, step, plaintext));
                    _retainedBytes += plaintext.Length;
                    _sent++;
                    state.Changed.Pulse();
                    return;
                }
                wait = state.Changed.Current;
            }
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The first retained message after <paramref name="cursor"/>, or null; <paramref name="wait"/> completes on the next change.</summary>
    public Outgoing? NextAfter(ulong cursor, out Task wait)
    {
        lock (state.Gate)
        {
            wait = state.Changed.Current;
            foreach (var o in _retained)
                if (o.Sequence > cursor)
                    return o;
            return null;
        }
    }

    /// <summary>The peer consumed everything up to <paramref name="consumed"/>: forget it and wake senders waiting for window.</summary>
    public void Forget(ulong consumed)
    {
        lock (state.Gate)
        {
            Trim(consumed);
            state.Changed.Pulse();
        }
    }

    /// <summary>
    /// A new session: forget what the peer consumed, continue numbering after what it holds when this party restarted
    /// with nothing retained, and count what will be re-sent.
    /// </summary>
    public void Resume(ulong peerReceived, ulong peerConsumed)
    {
        lock (state.Gate)
        {
            Trim(peerConsumed);
            if (_retained.Count == 0 && _nextSequence <= peerReceived)
                _nextSequence = peerReceived + 1; // this party restarted: continue after what the peer holds
            _resent += (ulong)_retained.Count(o => o.Sequence > peerReceived);
            state.Changed.Pulse();
        }
    }

    private void Trim(ulong consumed)
    {
        while (_retained.First is { } first && first.Value.Sequence <= consumed)
        {
            _retainedBytes -= first.Value.Plaintext.Length;
            _retained.RemoveFirst();
        }
    }
}
