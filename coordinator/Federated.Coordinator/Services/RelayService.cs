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
/// The coordinator sees headers and sealed bytes only.
/// </summary>
[Authorize(Policy = FederatedPolicies.Party)]
public sealed class RelayService(JobStore jobs, RelayHub hub, AuditTrail audit, ILogger<RelayService> logger)
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
        var assembler = new MessageAssembler(hub.Limits.MaxMessageBytes);
        var ct = context.CancellationToken;
        try
        {
            await foreach (var frame in requestStream.ReadAllAsync(ct).ConfigureAwait(false))
            {
                if (assembler.Add(frame) is not { } message)
                    continue;
                var h = message.Header;
                if (h.Sender != party.PartyId)
                {
                    logger.LogWarning("Refused message from {PartyId} claiming to be {Sender} in job {JobId}", party.PartyId, h.Sender, h.JobId);
                    throw new RpcException(new Status(StatusCode.PermissionDenied, $"party '{party.PartyId}' may not send as '{h.Sender}'"));
                }
                var (job, session, counters) = Resolve(h.JobId, party);
                if (h.Receiver != job.PeerOf(party.PartyId))
                    throw new RpcException(new Status(StatusCode.PermissionDenied,
                        $"party '{party.PartyId}' may only send to '{job.PeerOf(party.PartyId)}' in job '{job.Attempt.Value}', not to '{h.Receiver}'"));

                message.PayloadSha256(); // hash outside the link's lock; the audit hook inside it reuses the value
                var outcome = await session.OutgoingOf(party.PartyId).AcceptAsync(message, audit.Relayed, ct).ConfigureAwait(false);
                switch (outcome)
                {
                    case AcceptOutcome.Accepted:
                        Interlocked.Increment(ref counters.MessagesRelayed);
                        Interlocked.Add(ref counters.BytesRelayed, message.Size);
                        CoordinatorMetrics.Relayed(h, message.Size);
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
        }
        catch (RelayProtocolException e)
        {
            logger.LogWarning("Relay protocol error from {PartyId}: {Error}", party.PartyId, e.Message);
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
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
