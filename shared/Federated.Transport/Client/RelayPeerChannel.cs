using System.Security.Cryptography.X509Certificates;
using Federated.Core;
using Federated.Security;
using Federated.Transport.Relay;
using Microsoft.Extensions.Logging;

using Federated.Core.Jobs;

namespace Federated.Transport.Client;

/// <summary>Everything a party needs to open the relay channel of one job.</summary>
public sealed record RelayChannelSettings(
    AttemptId Attempt,
    string SelfPartyId,
    string PeerPartyId,
    X509Certificate2 Identity,
    CertificateValidator Validator,
    RelayLimits Limits)
{
    /// <summary>How long to wait for the peer to post its handshake offer (it may be restarting).</summary>
    public TimeSpan PeerJoinTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// True for resumable handlers: a message counts as consumed (and the sender may forget it) only when the
    /// handler saved a checkpoint after it. False: a message counts as consumed when it is handed to the handler.
    /// </summary>
    public bool DurableConsumption { get; init; }

    /// <summary>The checkpoint restored after a restart, if any: the relay resumes right after it.</summary>
    public JobCheckpoint? Restored { get; init; }

    /// <summary>Where <see cref="RelayPeerChannel.SaveCheckpointAsync"/> writes; required with durable consumption.</summary>
    public IJobCheckpointStore? CheckpointStore { get; init; }
}

/// <summary>Counters of one channel, for job summaries and tests.</summary>
public sealed record RelayChannelStats(ulong Sent, ulong Received, ulong DuplicatesDropped, ulong Sessions, ulong Resent);

/// <summary>
/// The relay client of one job: an ordered, reliable, end-to-end sealed <see cref="IPeerChannel"/> to the peer
/// party, through the coordinator.
/// <para>
/// Each session generation starts with a signed handshake exchanged through the coordinator; every payload is then
/// sealed with the header (job, type, sender, receiver, sequence, step) as associated data. Sent messages are kept
/// until the peer reports them consumed; when either side reconnects or restarts, both handshake again and the
/// sender re-sends, under the new key, everything after what the receiver holds. The receiver drops anything at
/// or below what it already holds. A tampered payload or an invalid peer certificate fails the channel.
/// </para>
/// <para>
/// The parts: <see cref="RelayOutbox"/> (numbering, the sender window, what to re-send), <see cref="RelayInbox"/>
/// (ordering, the receive buffer, consumed and acknowledged positions), <see cref="RelaySession"/> (one generation:
/// handshake and pumps) and <see cref="RelayReconnectLoop"/> (sessions one after another, backoff, fatal errors).
/// </para>
/// </summary>
public sealed class RelayPeerChannel : IPeerChannel, IAsyncDisposable
{
    private readonly RelayChannelSettings _settings;
    private readonly CancellationTokenSource _stop = new();
    private readonly RelayChannelState _state;
    private readonly RelayOutbox _outbox;
    private readonly RelayInbox _inbox;
    private readonly RelayReconnectLoop _sessions;
    private Task? _loop;
    private int _disposed;

    private RelayPeerChannel(V1.Relay.RelayClient client, RelayChannelSettings settings, ILogger logger)
    {
        _settings = settings;
        if (settings.DurableConsumption && settings.CheckpointStore is null)
            throw new ArgumentException("durable consumption needs a checkpoint store", nameof(settings));
        _state = new RelayChannelState(settings.Attempt.Value);
        _outbox = new RelayOutbox(_state, settings.Limits.SenderWindowBytes);
        _inbox = new RelayInbox(_state, settings.Attempt.Value, settings.Limits.ReceiverBufferBytes, settings.DurableConsumption,
            settings.Restored?.ConsumedFromPeer ?? 0, logger);
        _sessions = new RelayReconnectLoop(client, settings, _state, _outbox, _inbox, logger);
    }

    /// <summary>Opens the channel and starts its session loop in the background.</summary>
    public static RelayPeerChannel Start(V1.Relay.RelayClient client, RelayChannelSettings settings, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Limits.Validate();
        var channel = new RelayPeerChannel(client, settings, logger);
        channel._loop = Task.Run(() => channel._sessions.RunAsync(channel._stop.Token));
        return channel;
    }

    public AttemptId Attempt => _settings.Attempt;

    /// <summary>Completes when the first session with the peer is established; faults if that fails for good.</summary>
    public Task Ready => _state.Ready;

    public RelayChannelStats Stats
    {
        get
        {
            lock (_state.Gate)
                return new RelayChannelStats(_outbox.Sent, _inbox.ReceivedCount, _inbox.Duplicates, _state.Sessions, _outbox.Resent);
        }
    }

    public ValueTask SendAsync(PeerMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Payload.Length + SessionKey.Overhead > _settings.Limits.MaxMessageBytes)
            throw new ArgumentException(
                $"message '{message.MessageType}' of {message.Payload.Length} bytes exceeds the relay bound of {_settings.Limits.MaxMessageBytes} bytes (Relay:MaxMessageBytes)");
        var plaintext = message.Payload.ToArray(); // own copy: the caller may reuse its buffer
        return _outbox.EnqueueAsync(message.MessageType, message.Step, plaintext, cancellationToken);
    }

    public ValueTask<PeerMessage> ReceiveAsync(CancellationToken cancellationToken) => _inbox.ReceiveAsync(cancellationToken);

    /// <summary>
    /// Saves the handler's state together with the relay position of the last message it received, atomically,
    /// then lets the peer forget the messages up to that position.
    /// </summary>
    public ValueTask SaveCheckpointAsync(ReadOnlyMemory<byte> handlerState, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var store = _settings.CheckpointStore ?? throw new InvalidOperationException($"job {Attempt} has no checkpoint store");
        var position = _inbox.HandedOut;
        store.Save(Attempt.Value, new JobCheckpoint(position, handlerState.ToArray()));
        _inbox.MarkConsumed(position);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Ends the job's traffic: everything handed to the handler counts as consumed, and waits (bounded) until the
    /// peer consumed everything this party sent, so the last message is not lost when the process moves on.
    /// </summary>
    public async Task CompleteAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        _inbox.ConsumeHandedOut();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            Task wait;
            lock (_state.Gate)
            {
                _state.ThrowIfFailed();
                if (_outbox.Count == 0 && _inbox.FullyAcknowledged)
                    return;
                wait = _state.Changed.Current;
            }
            try
            {
                await wait.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"job {Attempt}: {_settings.PeerPartyId} did not confirm {_outbox.Count} message(s) from {_settings.SelfPartyId} within {timeout.TotalSeconds:0} s");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try { await _loop.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        _stop.Dispose();
    }
}

/// <summary>The relay channel of a job failed for good (invalid peer, tampered payload, refused by the coordinator).</summary>
public sealed class RelayChannelFailedException(string message, Exception? inner = null) : Exception(message, inner);
