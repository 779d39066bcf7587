using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Federated.Core;

namespace Federated.Crypto.Psi;

/// <summary>
/// Drains the peer channel into a local queue, so neither party ever blocks on a send while the other blocks on
/// one (both send bulk data at the same time). Stops right after the peer's last PSI message, leaving later
/// messages of the job on the channel for the next step. The queue holds at most the peer's PSI data.
/// </summary>
internal sealed class MessagePump : IAsyncDisposable
{
    private readonly Channel<PeerMessage> _queue = Channel.CreateUnbounded<PeerMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stop;
    private readonly TimeSpan _timeout;
    private readonly string _peerName;
    private readonly Task _loop;

    /// <param name="peerName">How a peer abort names the peer ("external party").</param>
    public MessagePump(IPeerChannel channel, string lastMessageType, string peerName, TimeSpan timeout, CancellationToken ct)
    {
        _timeout = timeout;
        _peerName = peerName;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _loop = Task.Run(() => PumpAsync(channel, lastMessageType, _stop.Token), CancellationToken.None); // the loop itself watches the token
    }

    private async Task PumpAsync(IPeerChannel channel, string lastMessageType, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var message = await channel.ReceiveAsync(ct).ConfigureAwait(false);
                _queue.Writer.TryWrite(message);
                if (message.MessageType == lastMessageType || PeerAbort.IsAbort(message)) break;
            }
            _queue.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _queue.Writer.TryComplete(e);
        }
    }

    /// <summary>The next message; throws on timeout, on a peer abort (<see cref="PeerAbortedException"/>), or with the channel's own error.</summary>
    public async ValueTask<PeerMessage> ReadAsync(string waitingFor, CancellationToken ct)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timer.CancelAfter(_timeout);
        PeerMessage message;
        try
        {
            message = await _queue.Reader.ReadAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"no PSI message from the peer within {_timeout} while waiting for {waitingFor}");
        }
        catch (ChannelClosedException e)
        {
            if (e.InnerException is not null) ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw new ProtocolViolationException($"the peer's PSI messages ended while waiting for {waitingFor}");
        }
        PeerAbort.ThrowIfAbort(message, _peerName);
        return message;
    }

    public async ValueTask<PeerMessage> ExpectAsync(string type, CancellationToken ct)
    {
        var message = await ReadAsync(type, ct).ConfigureAwait(false);
        if (message.MessageType != type)
            throw new ProtocolViolationException($"expected message '{type}' but received '{message.MessageType}'");
        return message;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_loop.IsCompleted) await _stop.CancelAsync().ConfigureAwait(false);
        try { await _loop.ConfigureAwait(false); } catch { /* the loop reports through the queue */ }
        _stop.Dispose();
    }
}
