using System.Threading.Channels;
using Federated.Core;
using Federated.Transport.Relay;
using Microsoft.Extensions.Logging;

namespace Federated.Transport.Client;

/// <summary>
/// The receiving side of a relay channel: the peer's messages in sequence order (duplicates dropped, a gap is a
/// protocol error), buffered for the handler within Relay:ReceiverBufferBytes, and the positions that drive
/// acknowledgement: received (in the buffer), handed out (given to the handler), consumed (the sender may forget it)
/// and acknowledged (the coordinator confirmed the consumed position).
/// </summary>
internal sealed class RelayInbox
{
    private readonly RelayChannelState _state;
    private readonly string _jobId;
    private readonly long _bufferBytes;
    private readonly bool _durableConsumption;
    private readonly ILogger _logger;
    // Bounded by count here and by bytes (Relay:ReceiverBufferBytes) in DeliverAsync.
    private readonly Channel<(ulong Sequence, PeerMessage Message)> _buffer =
        Channel.CreateBounded<(ulong, PeerMessage)>(new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true });
    private long _bufferedBytes;
    private ulong _received;     // highest sequence from the peer placed into the buffer
    private ulong _handedOut;    // highest sequence given to the handler
    private ulong _consumed;     // highest sequence the sender may forget
    private ulong _acknowledged; // highest consumed position the coordinator confirmed
    private ulong _duplicates, _receivedCount;

    /// <param name="resumeAfter">The position of the restored checkpoint (0 without one): everything up to it is consumed.</param>
    public RelayInbox(RelayChannelState state, string jobId, long bufferBytes, bool durableConsumption, ulong resumeAfter, ILogger logger)
    {
        _state = state;
        _jobId = jobId;
        _bufferBytes = bufferBytes;
        _durableConsumption = durableConsumption;
        _logger = logger;
        _received = _handedOut = _consumed = resumeAfter;
    }

    public ulong ReceivedCount
    {
        get { lock (_state.Gate) return _receivedCount; }
    }

    public ulong Duplicates
    {
        get { lock (_state.Gate) return _duplicates; }
    }

    /// <summary>What this party holds and has consumed, as offered at a handshake.</summary>
    public (ulong Received, ulong Consumed) Position
    {
        get { lock (_state.Gate) return (_received, _consumed); }
    }

    public ulong HandedOut
    {
        get { lock (_state.Gate) return _handedOut; }
    }

    /// <summary>The coordinator confirmed everything consumed so far.</summary>
    public bool FullyAcknowledged
    {
        get { lock (_state.Gate) return _acknowledged >= _consumed; }
    }

    /// <summary>The next message for the handler; throws the channel's failure, or ObjectDisposedException once the channel is closed.</summary>
    public async ValueTask<PeerMessage> ReceiveAsync(CancellationToken cancellationToken)
    {
        lock (_state.Gate) _state.ThrowIfFailed();
        (ulong Sequence, PeerMessage Message) next;
        try
        {
            next = await _buffer.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            lock (_state.Gate) _state.ThrowIfFailed();
            throw new ObjectDisposedException(nameof(RelayPeerChannel), $"the relay channel of job {_jobId} is closed");
        }
        lock (_state.Gate)
        {
            _bufferedBytes -= next.Message.Payload.Length;
            _handedOut = next.Sequence;
            _state.Changed.Pulse();
            if (!_durableConsumption)
                MarkConsumed(next.Sequence);
        }
        return next.Message;
    }

    /// <summary>
    /// Whether the message with <paramref name="sequence"/> is the next one: false for a duplicate (at or below what
    /// this party holds; counted and dropped), a <see cref="RelayProtocolException"/> for a gap.
    /// </summary>
    public bool Admit(ulong sequence, string sender)
    {
        lock (_state.Gate)
        {
            if (sequence <= _received)
            {
                _duplicates++;
                _logger.LogDebug("Dropped duplicate message {Sequence} of job {JobId}", sequence, _jobId);
                return false;
            }
            if (sequence != _received + 1)
                throw new RelayProtocolException($"job {_jobId}: message {sequence} from {sender} arrived, expected {_received + 1}");
            return true;
        }
    }

    /// <summary>Buffers an admitted message for the handler, first waiting while the buffer's byte budget is spent.</summary>
    public async Task DeliverAsync(ulong sequence, PeerMessage message, CancellationToken ct)
    {
        while (true)
        {
            // Pause the delivery stream (HTTP/2 flow control reaches the coordinator) while the handler lags behind.
            Task wait;
            lock (_state.Gate)
            {
                if (_bufferedBytes == 0 || _bufferedBytes + message.Payload.Length <= _bufferBytes)
                {
                    _bufferedBytes += message.Payload.Length;
                    break;
                }
                wait = _state.Changed.Current;
            }
            await wait.WaitAsync(ct).ConfigureAwait(false);
        }
        await _buffer.Writer.WriteAsync((sequence, message), ct).ConfigureAwait(false);
        lock (_state.Gate)
        {
            _received = sequence;
            _receivedCount++;
        }
    }

    /// <summary>Lets the sender forget everything up to <paramref name="position"/> (never moves back).</summary>
    public void MarkConsumed(ulong position)
    {
        lock (_state.Gate)
        {
            if (position > _consumed)
            {
                _consumed = position;
                _state.Changed.Pulse();
            }
        }
    }

    /// <summary>Everything handed to the handler counts as consumed.</summary>
    public void ConsumeHandedOut()
    {
        lock (_state.Gate) MarkConsumed(_handedOut);
    }

    /// <summary>The consumed position the coordinator has not confirmed yet, or 0; <paramref name="wait"/> completes on the next change.</summary>
    public ulong PendingAcknowledgement(out Task wait)
    {
        lock (_state.Gate)
        {
            wait = _state.Changed.Current;
            return _consumed > _acknowledged ? _consumed : 0;
        }
    }

    public void Acknowledged(ulong position)
    {
        lock (_state.Gate)
        {
            if (position > _acknowledged) _acknowledged = position;
            _state.Changed.Pulse();
        }
    }

    /// <summary>No more messages: the handler's next receive throws <paramref name="error"/> (through the channel's failure) or ObjectDisposedException.</summary>
    public void Close(Exception? error = null) => _buffer.Writer.TryComplete(error);
}
