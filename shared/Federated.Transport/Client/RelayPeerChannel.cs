using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Federated.Core;
using Federated.Security;
using Federated.Transport.Relay;
using Federated.Transport.V1;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Federated.Transport.Client;

/// <summary>Everything a party needs to open the relay channel of one job.</summary>
public sealed record RelayChannelSettings(
    string JobId,
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
/// </summary>
public sealed class RelayPeerChannel : IPeerChannel, IAsyncDisposable
{
    private readonly V1.Relay.RelayClient _client;
    private readonly RelayChannelSettings _settings;
    private readonly ILogger _logger;
    private readonly string _incarnation = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    private readonly CancellationTokenSource _stop = new();
    // Bounded by count here and by bytes (Relay:ReceiverBufferBytes) in AcceptIncomingAsync.
    private readonly Channel<(ulong Sequence, PeerMessage Message)> _inbox =
        Channel.CreateBounded<(ulong, PeerMessage)>(new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true });
    private long _inboxBytes;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly AsyncPulse _changed = new();
    private readonly object _gate = new();
    private readonly LinkedList<Outgoing> _retained = new();
    private long _retainedBytes;
    private ulong _nextSequence = 1;
    private ulong _received;     // highest sequence from the peer placed into the inbox
    private ulong _handedOut;    // highest sequence given to the handler
    private ulong _consumed;     // highest sequence the sender may forget
    private ulong _acknowledged; // highest consumed position the coordinator confirmed
    private ulong _sent, _duplicates, _sessions, _resent, _receivedCount;
    private Exception? _fatal;
    private Task? _loop;
    private int _disposed;

    private sealed record Outgoing(ulong Sequence, string MessageType, long Step, byte[] Plaintext);

    private RelayPeerChannel(V1.Relay.RelayClient client, RelayChannelSettings settings, ILogger logger)
    {
        _client = client;
        _settings = settings;
        _logger = logger;
        if (settings.DurableConsumption && settings.CheckpointStore is null)
            throw new ArgumentException("durable consumption needs a checkpoint store", nameof(settings));
        if (settings.Restored is { } restored)
            _received = _handedOut = _consumed = restored.ConsumedFromPeer;
    }

    /// <summary>Opens the channel and starts its session loop in the background.</summary>
    public static RelayPeerChannel Start(V1.Relay.RelayClient client, RelayChannelSettings settings, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Limits.Validate();
        var channel = new RelayPeerChannel(client, settings, logger);
        channel._loop = Task.Run(() => channel.RunAsync(channel._stop.Token));
        return channel;
    }

    public string JobId => _settings.JobId;

    /// <summary>Completes when the first session with the peer is established; faults if that fails for good.</summary>
    public Task Ready => _ready.Task;

    public RelayChannelStats Stats
    {
        get { lock (_gate) return new RelayChannelStats(_sent, _receivedCount, _duplicates, _sessions, _resent); }
    }

    public async ValueTask SendAsync(PeerMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Payload.Length + SessionKey.Overhead > _settings.Limits.MaxMessageBytes)
            throw new ArgumentException(
                $"message '{message.MessageType}' of {message.Payload.Length} bytes exceeds the relay bound of {_settings.Limits.MaxMessageBytes} bytes (Relay:MaxMessageBytes)");
        var plaintext = message.Payload.ToArray(); // own copy: the caller may reuse its buffer
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                ThrowIfFailed();
                if (_retained.Count == 0 || _retainedBytes + plaintext.Length <= _settings.Limits.SenderWindowBytes)
                {
                    _retained.AddLast(new Outgoing(_nextSequence++, message.MessageType, message.Step, plaintext));
                    _retainedBytes += plaintext.Length;
                    _sent++;
                    _changed.Pulse();
                    return;
                }
                wait = _changed.Current;
            }
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<PeerMessage> ReceiveAsync(CancellationToken cancellationToken)
    {
        lock (_gate) ThrowIfFailed();
        (ulong Sequence, PeerMessage Message) next;
        try
        {
            next = await _inbox.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            lock (_gate) ThrowIfFailed();
            throw new ObjectDisposedException(nameof(RelayPeerChannel), $"the relay channel of job {JobId} is closed");
        }
        lock (_gate)
        {
            _inboxBytes -= next.Message.Payload.Length;
            _handedOut = next.Sequence;
            _changed.Pulse();
            if (!_settings.DurableConsumption)
                MarkConsumed(next.Sequence);
        }
        return next.Message;
    }

    /// <summary>
    /// Saves the handler's state together with the relay position of the last message it received, atomically,
    /// then lets the peer forget the messages up to that position.
    /// </summary>
    public ValueTask SaveCheckpointAsync(ReadOnlyMemory<byte> handlerState, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var store = _settings.CheckpointStore ?? throw new InvalidOperationException($"job {JobId} has no checkpoint store");
        ulong position;
        lock (_gate) position = _handedOut;
        store.Save(JobId, new JobCheckpoint(position, handlerState.ToArray()));
        lock (_gate) MarkConsumed(position);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Ends the job's traffic: everything handed to the handler counts as consumed, and waits (bounded) until the
    /// peer consumed everything this party sent, so the last message is not lost when the process moves on.
    /// </summary>
    public async Task CompleteAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        lock (_gate) MarkConsumed(_handedOut);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                ThrowIfFailed();
                if (_retained.Count == 0 && _acknowledged >= _consumed)
                    return;
                wait = _changed.Current;
            }
            try
            {
                await wait.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                int left;
                lock (_gate) left = _retained.Count;
                throw new TimeoutException(
                    $"job {JobId}: {_settings.PeerPartyId} did not confirm {left} message(s) from {_settings.SelfPartyId} within {timeout.TotalSeconds:0} s");
            }
        }
    }

    private void MarkConsumed(ulong position)
    {
        if (position > _consumed)
        {
            _consumed = position;
            _changed.Pulse();
        }
    }

    private void ThrowIfFailed()
    {
        if (_fatal is not null)
            throw new RelayChannelFailedException($"relay channel of job {JobId} failed: {_fatal.Message}", _fatal);
    }

    private void Fail(Exception error)
    {
        lock (_gate)
        {
            _fatal ??= error;
            _changed.Pulse();
        }
        _inbox.Writer.TryComplete(error);
        _ready.TrySetException(error);
    }

    // ---- session loop -------------------------------------------------------------------------------------------

    private async Task RunAsync(CancellationToken stop)
    {
        var backoff = TimeSpan.FromMilliseconds(200);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await RunOneSessionAsync(stop).ConfigureAwait(false);
                backoff = TimeSpan.FromMilliseconds(200);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                break; // disposed: whatever the calls in flight threw is a consequence
            }
            catch (JobEndedException ended)
            {
                _logger.LogInformation("Relay session of job {JobId} closed: the job is {State}", JobId, ended.State);
                Fail(new RelayChannelFailedException(ended.Message, ended));
                return;
            }
            catch (Exception error) when (IsFatal(error))
            {
                _logger.LogError("Relay channel of job {JobId} ({Self} -> {Peer}) failed: {Error}",
                    JobId, _settings.SelfPartyId, _settings.PeerPartyId, error.Message);
                Fail(error);
                return;
            }
            catch (Exception error)
            {
                _logger.LogWarning("Relay session of job {JobId} interrupted ({Error}); reconnecting in {Delay} ms",
                    JobId, Describe(error), (int)backoff.TotalMilliseconds);
                try { await Task.Delay(backoff, stop).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 3000));
            }
        }
        _inbox.Writer.TryComplete();
        _ready.TrySetCanceled(stop);
    }

    private static string Describe(Exception error) => error switch
    {
        RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
        _ => error.Message,
    };

    private static bool IsFatal(Exception error) => error switch
    {
        SealingException or RelayProtocolException or RelayChannelFailedException => true,
        RpcException rpc => rpc.StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated
            or StatusCode.NotFound or StatusCode.InvalidArgument or StatusCode.FailedPrecondition
            or StatusCode.DeadlineExceeded or StatusCode.Unimplemented,
        _ => false,
    };

    private async Task RunOneSessionAsync(CancellationToken stop)
    {
        using var handshake = SessionHandshake.Start(_settings.Identity, JobId, _settings.SelfPartyId, _settings.PeerPartyId);
        ulong received, consumed;
        lock (_gate) (received, consumed) = (_received, _consumed);

        ExchangeOfferReply reply;
        try
        {
            reply = await _client.ExchangeOfferAsync(new ExchangeOfferRequest
            {
                JobId = JobId,
                Offer = ByteString.CopyFrom(handshake.Offer),
                ReceivedFromPeer = received,
                ConsumedFromPeer = consumed,
                Incarnation = _incarnation,
            }, deadline: DateTime.UtcNow + _settings.PeerJoinTimeout, cancellationToken: stop).ConfigureAwait(false);
        }
        catch (RpcException rpc) when (rpc.StatusCode == StatusCode.DeadlineExceeded)
        {
            throw new RelayChannelFailedException(
                $"job {JobId}: party '{_settings.PeerPartyId}' did not join the session within {_settings.PeerJoinTimeout.TotalSeconds:0} s", rpc);
        }
        catch (RpcException rpc) when (rpc.StatusCode == StatusCode.Aborted)
        {
            return; // a newer generation started while waiting: handshake again at once
        }
        if (reply.PeerPartyId != _settings.PeerPartyId)
            throw new RelayProtocolException($"job {JobId}: coordinator paired this party with '{reply.PeerPartyId}', expected '{_settings.PeerPartyId}'");

        using var key = handshake.Complete(reply.PeerOffer.Span, _settings.Validator);
        var generation = reply.Generation;
        lock (_gate)
        {
            while (_retained.First is { } first && first.Value.Sequence <= reply.PeerConsumed)
            {
                _retainedBytes -= first.Value.Plaintext.Length;
                _retained.RemoveFirst();
            }
            if (_retained.Count == 0 && _nextSequence <= reply.PeerReceived)
                _nextSequence = reply.PeerReceived + 1; // this party restarted: continue after what the peer holds
            _resent += (ulong)_retained.Count(o => o.Sequence > reply.PeerReceived);
            _sessions++;
            _changed.Pulse();
        }
        _logger.LogInformation(
            "Relay session {Generation} of job {JobId} established with {Peer} (peer holds {PeerReceived}, this party holds {Received})",
            generation, JobId, _settings.PeerPartyId, reply.PeerReceived, received);
        _ready.TrySetResult();

        using var session = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var tasks = new[]
        {
            SendPumpAsync(key, generation, reply.PeerReceived, session.Token),
            ReceivePumpAsync(key, generation, received, session.Token),
            AcknowledgePumpAsync(generation, session.Token),
        };
        var ended = await Task.WhenAny(tasks).ConfigureAwait(false);
        await session.CancelAsync().ConfigureAwait(false);
        try { await Task.WhenAll(tasks).ConfigureAwait(false); }
        catch (Exception) { /* the others end by cancellation; the first failure is rethrown below */ }
        await ended.ConfigureAwait(false);
    }

    private async Task SendPumpAsync(SessionKey key, ulong generation, ulong resendAfter, CancellationToken ct)
    {
        using var call = _client.Send(cancellationToken: ct);
        var progress = Task.Run(async () =>
        {
            await foreach (var p in call.ResponseStream.ReadAllAsync(ct).ConfigureAwait(false))
            {
                if (p.Outcome == SendOutcome.StaleGeneration)
                    throw new RekeyRequiredException($"coordinator moved job {JobId} past generation {generation}");
                if (p.Outcome == SendOutcome.OldSequence)
                    _logger.LogWarning("Coordinator dropped message {Sequence} of job {JobId} as an old sequence", p.Sequence, JobId);
            }
        }, ct);

        var cursor = resendAfter;
        while (true)
        {
            Outgoing? next = null;
            Task wait;
            lock (_gate)
            {
                wait = _changed.Current;
                foreach (var o in _retained)
                    if (o.Sequence > cursor) { next = o; break; }
            }
            if (next is null)
            {
                var woke = await Task.WhenAny(wait, progress).WaitAsync(ct).ConfigureAwait(false);
                if (woke == progress) { await progress.ConfigureAwait(false); return; }
                continue;
            }

            var header = new SealedHeader(JobId, next.MessageType, _settings.SelfPartyId, _settings.PeerPartyId, next.Sequence, next.Step);
            var sealedPayload = key.Seal(header, next.Plaintext);
            var relayHeader = new RelayHeader
            {
                JobId = JobId,
                MessageType = next.MessageType,
                Sender = _settings.SelfPartyId,
                Receiver = _settings.PeerPartyId,
                Sequence = next.Sequence,
                Step = next.Step,
                PayloadSize = (ulong)sealedPayload.Length,
                Generation = generation,
            };
            foreach (var frame in MessageChunker.Split(relayHeader, sealedPayload, _settings.Limits.ChunkBytes))
                await call.RequestStream.WriteAsync(frame, ct).ConfigureAwait(false);
            cursor = next.Sequence;
        }
    }

    private async Task ReceivePumpAsync(SessionKey key, ulong generation, ulong after, CancellationToken ct)
    {
        using var call = _client.Receive(new ReceiveRequest { JobId = JobId, Generation = generation, AfterSequence = after }, cancellationToken: ct);
        var assembler = new MessageAssembler(_settings.Limits.MaxMessageBytes);
        await foreach (var delivery in call.ResponseStream.ReadAllAsync(ct).ConfigureAwait(false))
        {
            switch (delivery.KindCase)
            {
                case RelayDelivery.KindOneofCase.JobEnded:
                    throw new JobEndedException(JobId, delivery.JobEnded);
                case RelayDelivery.KindOneofCase.RekeyGeneration:
                    throw new RekeyRequiredException($"coordinator started generation {delivery.RekeyGeneration} of job {JobId}");
                case RelayDelivery.KindOneofCase.PeerConsumed:
                    lock (_gate)
                    {
                        while (_retained.First is { } first && first.Value.Sequence <= delivery.PeerConsumed)
                        {
                            _retainedBytes -= first.Value.Plaintext.Length;
                            _retained.RemoveFirst();
                        }
                        _changed.Pulse();
                    }
                    break;
                case RelayDelivery.KindOneofCase.Frame:
                    if (assembler.Add(delivery.Frame) is { } message)
                        await AcceptIncomingAsync(key, generation, message, ct).ConfigureAwait(false);
                    break;
            }
        }
        throw new RekeyRequiredException($"coordinator closed the delivery stream of job {JobId}");
    }

    private async Task AcceptIncomingAsync(SessionKey key, ulong generation, RelayedMessage message, CancellationToken ct)
    {
        var h = message.Header;
        if (h.JobId != JobId || h.Sender != _settings.PeerPartyId || h.Receiver != _settings.SelfPartyId)
            throw new RelayProtocolException(
                $"job {JobId}: delivery addressed {h.Sender} -> {h.Receiver} for job {h.JobId}; expected {_settings.PeerPartyId} -> {_settings.SelfPartyId}");
        if (h.Generation != generation)
            throw new RekeyRequiredException($"delivery of generation {h.Generation} inside generation {generation}");
        lock (_gate)
        {
            if (h.Sequence <= _received)
            {
                _duplicates++;
                _logger.LogDebug("Dropped duplicate message {Sequence} of job {JobId}", h.Sequence, JobId);
                return;
            }
            if (h.Sequence != _received + 1)
                throw new RelayProtocolException($"job {JobId}: message {h.Sequence} from {h.Sender} arrived, expected {_received + 1}");
        }
        // Opening checks the whole header as associated data: a header altered in transit fails here.
        var plaintext = key.Open(new SealedHeader(h.JobId, h.MessageType, h.Sender, h.Receiver, h.Sequence, h.Step), message.SealedPayload);
        while (true)
        {
            // Pause the delivery stream (HTTP/2 flow control reaches the coordinator) while the handler lags behind.
            Task wait;
            lock (_gate)
            {
                if (_inboxBytes == 0 || _inboxBytes + plaintext.Length <= _settings.Limits.ReceiverBufferBytes)
                {
                    _inboxBytes += plaintext.Length;
                    break;
                }
                wait = _changed.Current;
            }
            await wait.WaitAsync(ct).ConfigureAwait(false);
        }
        await _inbox.Writer.WriteAsync((h.Sequence, new PeerMessage(h.MessageType, plaintext, h.Step)), ct).ConfigureAwait(false);
        lock (_gate)
        {
            _received = h.Sequence;
            _receivedCount++;
        }
    }

    private async Task AcknowledgePumpAsync(ulong generation, CancellationToken ct)
    {
        while (true)
        {
            Task wait;
            ulong toAcknowledge;
            lock (_gate)
            {
                wait = _changed.Current;
                toAcknowledge = _consumed > _acknowledged ? _consumed : 0;
            }
            if (toAcknowledge == 0)
            {
                await wait.WaitAsync(ct).ConfigureAwait(false);
                continue;
            }
            await _client.AcknowledgeAsync(new AcknowledgeRequest { JobId = JobId, Generation = generation, ConsumedUpTo = toAcknowledge },
                cancellationToken: ct).ConfigureAwait(false);
            lock (_gate)
            {
                if (toAcknowledge > _acknowledged) _acknowledged = toAcknowledge;
                _changed.Pulse();
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

/// <summary>The coordinator reported the job as over; the session ends without reconnecting.</summary>
internal sealed class JobEndedException(string jobId, string state) : Exception($"job {jobId} is {state} at the coordinator")
{
    public string State { get; } = state;
}

/// <summary>The coordinator started a new session generation; the session loop handshakes again.</summary>
internal sealed class RekeyRequiredException(string message) : Exception(message);

/// <summary>The relay channel of a job failed for good (invalid peer, tampered payload, refused by the coordinator).</summary>
public sealed class RelayChannelFailedException(string message, Exception? inner = null) : Exception(message, inner);
