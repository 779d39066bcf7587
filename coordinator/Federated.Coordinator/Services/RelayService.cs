using Federated.Core.Jobs;
using Federated.Coordinator.Jobs;
using Federated.Coordinator.Relay;
using Federated.Hosting.Access;
using Federated.Transport.Relay;
using Federated.Transport.V1;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace Federated.Coordinator.Services;

/// <summary>
/// The relay. A party may only relay within its own jobs, only as itself, only to its job's peer. Messages are
/// accepted in sequence order per link (old sequence numbers are dropped, counted and audited), audited before
/// they become visible, held until the receiver acknowledges them, and redelivered to a reconnecting receiver.
/// The coordinator sees headers and sealed bytes only. A send stream is refused (and what it had sent freed) when a
/// message breaks a size bound, stays incomplete too long, or its party exceeds its quota (<see cref="RelayGuard"/>).
/// </summary>
[Authorize(Policy = FederatedPolicies.Party)]
public sealed class RelayService(JobStore jobs, RelayHub hub, RelayGuard guard, AuditTrail audit, RelayProgress progress, ILogger<RelayService> logger)
    : Transport.V1.Relay.RelayBase
{
    private (JobRecord Job, JobRelaySession Session, RelayCounters Counters) Resolve(string jobId, FederatedCaller party)
    {
        var job = jobs.Find(RequestIds.Attempt(jobId)) ?? throw new RpcException(new Status(StatusCode.NotFound, $"job '{jobId}' does not exist"));
        if (!job.Involves(party.PartyId))
        {
            logger.LogWarning("Refused relay access of {PartyId} to job {JobId}, which is not its job", party.PartyId, jobId);
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"party '{party.PartyId}' is not a party of job '{jobId}'"));
        }
        if (job.IsFinished)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"job '{jobId}' is {job.State}: {job.Reason}"));
        var (session, counters) = hub.For(job.Attempt.Value, job.MusicPartyId, job.ExternalPartyId);
        return (job, session, counters);
    }

    public override async Task<ExchangeOfferReply> ExchangeOffer(ExchangeOfferRequest request, ServerCallContext context)
    {
        var party = context.Caller();
        var (job, session, _) = Resolve(request.JobId, party);
        if (request.Offer.IsEmpty || request.Offer.Length > 64 * 1024)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"handshake offer of {request.Offer.Length} bytes is empty or too large"));

        var (generation, started) = session.Post(new SessionOffer(party.PartyId, request.Incarnation, request.Offer.ToByteArray(),
            request.ReceivedFromPeer, request.ConsumedFromPeer));
        audit.JobEvent(job.Attempt.Value, "session-offer", new Dictionary<string, object?>
        {
            ["party"] = party.PartyId, ["generation"] = generation, ["newGeneration"] = started,
            ["received"] = request.ReceivedFromPeer, ["consumed"] = request.ConsumedFromPeer,
        });
        if (started)
            logger.LogInformation("Job {JobId}: {PartyId} rejoined; relay session generation {Generation} started", job.Attempt.Value, party.PartyId, generation);

        try
        {
            var rendezvous = await session.WaitForPeerAsync(party.PartyId, generation, context.CancellationToken).ConfigureAwait(false);
            return new ExchangeOfferReply
            {
                Generation = rendezvous.Generation,
                PeerOffer = ByteString.CopyFrom(rendezvous.Peer.Offer),
                PeerReceived = rendezvous.Peer.ReceivedFromPeer,
                PeerConsumed = rendezvous.Peer.ConsumedFromPeer,
                PeerPartyId = rendezvous.Peer.PartyId,
            };
        }
        catch (SessionSupersededException e)
        {
            throw new RpcException(new Status(StatusCode.Aborted, e.Message));
        }
    }

    public override async Task Send(IAsyncStreamReader<RelayFrame> requestStream, IServerStreamWriter<SendProgress> responseStream, ServerCallContext context)
    {
        var party = context.Caller();
        var limits = hub.Limits;
        var assembler = new MessageAssembler(limits.MaxMessageBytes);
        var ct = context.CancellationToken;
        (JobRecord Job, JobRelaySession Session, RelayCounters Counters)? target = null;
        CancellationTokenSource? messageTimeout = null;
        long announced = 0;
        try
        {
            while (true)
            {
                if (!await NextFrameAsync(requestStream, messageTimeout?.Token ?? ct, ct).ConfigureAwait(false))
                {
                    if (messageTimeout is { IsCancellationRequested: true } && assembler.Current is { } open)
                        throw Refuse(StatusCode.DeadlineExceeded, party, target?.Counters,
                            $"message {open.Sequence} of job {open.JobId} is still incomplete after {limits.IncompleteMessageTimeoutSeconds} s " +
                            $"({assembler.Received} of {open.PayloadSize} bytes; Relay:IncompleteMessageTimeoutSeconds)");
                    return;
                }
                var frame = requestStream.Current;
                if (frame.Header is { } header && !assembler.InProgress)
                {
                    // Everything a header decides is checked before any byte of its message is buffered.
                    target = Authorize(header, party);
                    if (header.PayloadSize > (ulong)limits.MaxMessageBytes)
                        throw Refuse(StatusCode.ResourceExhausted, party, target.Value.Counters,
                            $"message {header.Sequence} of job {header.JobId} announces {header.PayloadSize} bytes; the relay bound is {limits.MaxMessageBytes} (Relay:MaxMessageBytes)");
                    if (guard.StartMessage(party.PartyId, (long)header.PayloadSize, frame.Data.Length) is { } refused)
                        throw Refuse(StatusCode.ResourceExhausted, party, target.Value.Counters, refused);
                    announced = (long)header.PayloadSize;
                    messageTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    messageTimeout.CancelAfter(TimeSpan.FromSeconds(limits.IncompleteMessageTimeoutSeconds));
                }
                else if (assembler.InProgress && guard.Continue(party.PartyId, frame.Data.Length) is { } refused)
                {
                    throw Refuse(StatusCode.ResourceExhausted, party, target?.Counters, refused);
                }

                if (assembler.Add(frame) is not { } message)
                    continue;
                guard.EndMessage(party.PartyId, announced);
                announced = 0;
                messageTimeout!.Dispose();
                messageTimeout = null;
                await RelayAsync(message, party, target!.Value, responseStream, ct).ConfigureAwait(false);
            }
        }
        catch (RelayLimitException e)
        {
            throw Refuse(StatusCode.ResourceExhausted, party, target?.Counters, e.Message);
        }
        catch (RelayProtocolException e)
        {
            logger.LogWarning("Relay protocol error from {PartyId}: {Error}", party.PartyId, e.Message);
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        finally
        {
            if (announced > 0)
                guard.EndMessage(party.PartyId, announced);
            messageTimeout?.Dispose();
        }
    }

    /// <summary>
    /// Reads the next frame. Returns false at the end of the stream and when an incomplete message's time ran out
    /// (<paramref name="frameToken"/> cancelled but not the call); a frame that does not parse is refused.
    /// </summary>
    private static async Task<bool> NextFrameAsync(IAsyncStreamReader<RelayFrame> requestStream, CancellationToken frameToken, CancellationToken callToken)
    {
        try
        {
            return await requestStream.MoveNext(frameToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!callToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e) when ((e as InvalidProtocolBufferException ?? e.InnerException as InvalidProtocolBufferException) is { } parse)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"a relay frame is not a valid RelayFrame: {parse.Message}"));
        }
    }

    /// <summary>Checks a message header: the sender is the caller, the job is the caller's, the receiver its peer.</summary>
    private (JobRecord Job, JobRelaySession Session, RelayCounters Counters) Authorize(RelayHeader h, FederatedCaller party)
    {
        if (h.Sender != party.PartyId)
        {
            logger.LogWarning("Refused message from {PartyId} claiming to be {Sender} in job {JobId}", party.PartyId, h.Sender, h.JobId);
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"party '{party.PartyId}' may not send as '{h.Sender}'"));
        }
        var resolved = Resolve(h.JobId, party);
        if (h.Receiver != resolved.Job.PeerOf(party.PartyId))
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"party '{party.PartyId}' may only send to '{resolved.Job.PeerOf(party.PartyId)}' in job '{resolved.Job.Attempt.Value}', not to '{h.Receiver}'"));
        return resolved;
    }

    /// <summary>Logs (without payload), counts and builds the refusal of a stream that broke a relay limit.</summary>
    private RpcException Refuse(StatusCode code, FederatedCaller party, RelayCounters? counters, string reason)
    {
        var total = guard.CountRefusal(party.PartyId);
        CoordinatorMetrics.RelayStreamsRefused.Inc();
        if (counters is not null)
            Interlocked.Increment(ref counters.LimitRefused);
        logger.LogWarning("Refused the relay stream of {PartyId} ({Refusals} refusal(s) so far): {Reason}", party.PartyId, total, reason);
        return new RpcException(new Status(code, reason));
    }

    private async Task RelayAsync(RelayedMessage message, FederatedCaller party, (JobRecord Job, JobRelaySession Session, RelayCounters Counters) target,
        IServerStreamWriter<SendProgress> responseStream, CancellationToken ct)
    {
        var h = message.Header;
        var (_, session, counters) = target;
        message.PayloadSha256(); // hash outside the link's lock; the audit hook inside it reuses the value
        var outcome = await session.OutgoingOf(party.PartyId).AcceptAsync(message, audit.Relayed, ct).ConfigureAwait(false);
        switch (outcome)
        {
            case AcceptOutcome.Accepted:
                Interlocked.Increment(ref counters.MessagesRelayed);
                Interlocked.Add(ref counters.BytesRelayed, message.Size);
                CoordinatorMetrics.Relayed(h, message.Size);
                progress.Accepted(h, message.Size);
                break;
            case AcceptOutcome.OldSequence:
                Interlocked.Increment(ref counters.OldSequenceDropped);
                CoordinatorMetrics.RelayDropped.WithLabels("old_sequence").Inc();
                logger.LogWarning("Dropped message {Sequence} of job {JobId} from {Sender}: sequence already accepted (last {Last}); replay or duplicate",
                    h.Sequence, h.JobId, h.Sender, session.OutgoingOf(party.PartyId).LastAccepted);
                audit.JobEvent(h.JobId, "relay-dropped", new Dictionary<string, object?>
                {
                    ["reason"] = "old-sequence", ["sender"] = h.Sender, ["receiver"] = h.Receiver, ["sequence"] = h.Sequence,
                    ["messageType"] = h.MessageType, ["payloadSha256"] = message.PayloadSha256(),
                });
                break;
            case AcceptOutcome.StaleGeneration:
                Interlocked.Increment(ref counters.StaleGenerationDropped);
                CoordinatorMetrics.RelayDropped.WithLabels("stale_generation").Inc();
                break;
        }
        await responseStream.WriteAsync(new SendProgress
        {
            Sequence = h.Sequence,
            Outcome = outcome switch
            {
                AcceptOutcome.Accepted => SendOutcome.Accepted,
                AcceptOutcome.OldSequence => SendOutcome.OldSequence,
                _ => SendOutcome.StaleGeneration,
            },
        }, ct).ConfigureAwait(false);
    }

    public override async Task Receive(ReceiveRequest request, IServerStreamWriter<RelayDelivery> responseStream, ServerCallContext context)
    {
        var party = context.Caller();
        var (job, session, counters) = Resolve(request.JobId, party);
        var incoming = session.IncomingOf(party.PartyId);
        var outgoing = session.OutgoingOf(party.PartyId);
        var cursor = request.AfterSequence;
        var consumedSent = 0UL;
        var chunk = hub.Limits.ChunkBytes;
        var ct = context.CancellationToken;
        while (!ct.IsCancellationRequested)
        {
            var wait = session.Changed.Current;
            if (jobs.Find(job.Attempt) is { IsFinished: true } ended)
            {
                await responseStream.WriteAsync(new RelayDelivery { JobEnded = ended.State.ToString() }, ct).ConfigureAwait(false);
                return;
            }
            var generation = session.Generation;
            if (generation != request.Generation)
            {
                await responseStream.WriteAsync(new RelayDelivery { RekeyGeneration = generation }, ct).ConfigureAwait(false);
                return;
            }
            var consumed = outgoing.Acknowledged;
            if (consumed > consumedSent)
            {
                await responseStream.WriteAsync(new RelayDelivery { PeerConsumed = consumed }, ct).ConfigureAwait(false);
                consumedSent = consumed;
            }
            if (incoming.NextAfter(cursor) is { Generation: var g } message && g == request.Generation)
            {
                if (!incoming.MarkDelivered(message.Sequence))
                    Interlocked.Increment(ref counters.Redelivered);
                foreach (var frame in MessageChunker.Split(message.Header, message.SealedPayload, chunk))
                    await responseStream.WriteAsync(new RelayDelivery { Frame = frame }, ct).ConfigureAwait(false);
                cursor = message.Sequence;
                continue;
            }
            try { await wait.WaitAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    public override Task<AcknowledgeReply> Acknowledge(AcknowledgeRequest request, ServerCallContext context)
    {
        var party = context.Caller();
        var (_, session, _) = Resolve(request.JobId, party);
        try
        {
            session.IncomingOf(party.PartyId).Acknowledge(request.ConsumedUpTo);
        }
        catch (RelayProtocolException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        return Task.FromResult(new AcknowledgeReply());
    }
}
