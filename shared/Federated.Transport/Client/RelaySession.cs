using Federated.Core;
using Federated.Security;
using Federated.Transport.Relay;
using Federated.Transport.V1;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

using Federated.Core.Jobs;

namespace Federated.Transport.Client;

/// <summary>
/// One session generation of a relay channel over the coordinator: the signed handshake through ExchangeOffer,
/// then three pumps under the session key until one of them ends: sending (sealing the outbox from what the peer
/// holds on), receiving (opening deliveries into the inbox, forgetting what the peer consumed) and acknowledging
/// (telling the coordinator what this party consumed). Any end of a pump ends the session; the reconnect loop
/// decides what follows.
/// </summary>
internal sealed class RelaySession(V1.Relay.RelayClient client, RelayChannelSettings settings, string incarnation,
    RelayChannelState state, RelayOutbox outbox, RelayInbox inbox, ILogger logger)
{
    private string JobId => settings.Attempt.Value;

    public async Task RunAsync(CancellationToken stop)
    {
        using var handshake = SessionHandshake.Start(settings.Identity, settings.Attempt, settings.SelfPartyId, settings.PeerPartyId);
        var (received, consumed) = inbox.Position;

        ExchangeOfferReply reply;
        try
        {
            reply = await client.ExchangeOfferAsync(new ExchangeOfferRequest
            {
                JobId = JobId,
                Offer = ByteString.CopyFrom(handshake.Offer),
                ReceivedFromPeer = received,
                ConsumedFromPeer = consumed,
                Incarnation = incarnation,
            }, deadline: DateTime.UtcNow + settings.PeerJoinTimeout, cancellationToken: stop).ConfigureAwait(false);
        }
        catch (RpcException rpc) when (rpc.StatusCode == StatusCode.DeadlineExceeded)
        {
            throw new RelayChannelFailedException(
                $"job {JobId}: party '{settings.PeerPartyId}' did not join the session within {settings.PeerJoinTimeout.TotalSeconds:0} s", rpc);
        }
        catch (RpcException rpc) when (rpc.StatusCode == StatusCode.Aborted)
        {
            return; // a newer generation started while waiting: handshake again at once
        }
        if (reply.PeerPartyId != settings.PeerPartyId)
            throw new RelayProtocolException($"job {JobId}: coordinator paired this party with '{reply.PeerPartyId}', expected '{settings.PeerPartyId}'");

        using var key = handshake.Complete(reply.PeerOffer.Span, settings.Validator);
        var generation = reply.Generation;
        outbox.Resume(reply.PeerReceived, reply.PeerConsumed);
        logger.LogInformation(
            "Relay session {Generation} of job {JobId} established with {Peer} (peer holds {PeerReceived}, this party holds {Received})",
            generation, JobId, settings.PeerPartyId, reply.PeerReceived, received);
        state.Established();

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
        using var call = client.Send(cancellationToken: ct);
        var progress = Task.Run(async () =>
        {
            await foreach (var p in call.ResponseStream.ReadAllAsync(ct).ConfigureAwait(false))
            {
                if (p.Outcome == SendOutcome.StaleGeneration)
                    throw new RekeyRequiredException($"coordinator moved job {JobId} past generation {generation}");
                if (p.Outcome == SendOutcome.OldSequence)
                    logger.LogWarning("Coordinator dropped message {Sequence} of job {JobId} as an old sequence", p.Sequence, JobId);
            }
        }, ct);

        var cursor = resendAfter;
        while (true)
        {
            if (outbox.NextAfter(cursor, out var wait) is not { } next)
            {
                var woke = await Task.WhenAny(wait, progress).WaitAsync(ct).ConfigureAwait(false);
                if (woke == progress) { await progress.ConfigureAwait(false); return; }
                continue;
            }

            var header = new SealedHeader(settings.Attempt, next.MessageType, settings.SelfPartyId, settings.PeerPartyId, next.Sequence, next.Step);
            var sealedPayload = key.Seal(header, next.Plaintext);
            var relayHeader = new RelayHeader
            {
                JobId = JobId,
                MessageType = next.MessageType,
                Sender = settings.SelfPartyId,
                Receiver = settings.PeerPartyId,
                Sequence = next.Sequence,
                Step = next.Step,
                PayloadSize = (ulong)sealedPayload.Length,
                Generation = generation,
            };
            foreach (var frame in MessageChunker.Split(relayHeader, sealedPayload, settings.Limits.ChunkBytes))
                await call.RequestStream.WriteAsync(frame, ct).ConfigureAwait(false);
            cursor = next.Sequence;
        }
    }

    private async Task ReceivePumpAsync(SessionKey key, ulong generation, ulong after, CancellationToken ct)
    {
        using var call = client.Receive(new ReceiveRequest { JobId = JobId, Generation = generation, AfterSequence = after }, cancellationToken: ct);
        var assembler = new MessageAssembler(settings.Limits.MaxMessageBytes);
        await foreach (var delivery in call.ResponseStream.ReadAllAsync(ct).ConfigureAwait(false))
        {
            switch (delivery.KindCase)
            {
                case RelayDelivery.KindOneofCase.JobEnded:
                    throw new JobEndedException(JobId, delivery.JobEnded);
                case RelayDelivery.KindOneofCase.RekeyGeneration:
                    throw new RekeyRequiredException($"coordinator started generation {delivery.RekeyGeneration} of job {JobId}");
                case RelayDelivery.KindOneofCase.PeerConsumed:
                    outbox.Forget(delivery.PeerConsumed);
                    break;
                case RelayDelivery.KindOneofCase.Frame:
                    if (assembler.Add(delivery.Frame) is { } message)
                        await AcceptAsync(key, generation, message, ct).ConfigureAwait(false);
                    break;
            }
        }
        throw new RekeyRequiredException($"coordinator closed the delivery stream of job {JobId}");
    }

    private async Task AcceptAsync(SessionKey key, ulong generation, RelayedMessage message, CancellationToken ct)
    {
        var h = message.Header;
        if (h.JobId != JobId || h.Sender != settings.PeerPartyId || h.Receiver != settings.SelfPartyId)
            throw new RelayProtocolException(
                $"job {JobId}: delivery addressed {h.Sender} -> {h.Receiver} for job {h.JobId}; expected {settings.PeerPartyId} -> {settings.SelfPartyId}");
        if (h.Generation != generation)
            throw new RekeyRequiredException($"delivery of generation {h.Generation} inside generation {generation}");
        if (!inbox.Admit(h.Sequence, h.Sender))
            return;
        // Opening checks the whole header as associated data: a header altered in transit fails here.
        var plaintext = key.Open(new SealedHeader(new AttemptId(h.JobId), h.MessageType, h.Sender, h.Receiver, h.Sequence, h.Step), message.SealedPayload);
        await inbox.DeliverAsync(h.Sequence, new PeerMessage(h.MessageType, plaintext, h.Step), ct).ConfigureAwait(false);
    }

    private async Task AcknowledgePumpAsync(ulong generation, CancellationToken ct)
    {
        while (true)
        {
            var toAcknowledge = inbox.PendingAcknowledgement(out var wait);
            if (toAcknowledge == 0)
            {
                await wait.WaitAsync(ct).ConfigureAwait(false);
                continue;
            }
            await client.AcknowledgeAsync(new AcknowledgeRequest { JobId = JobId, Generation = generation, ConsumedUpTo = toAcknowledge },
                cancellationToken: ct).ConfigureAwait(false);
            inbox.Acknowledged(toAcknowledge);
        }
    }
}

/// <summary>The coordinator reported the job as over; the session ends without reconnecting.</summary>
internal sealed class JobEndedException(string jobId, string state) : Exception($"job {jobId} is {state} at the coordinator")
{
    public string State { get; } = state;
}

/// <summary>The coordinator started a new session generation; the session loop handshakes again.</summary>
internal sealed class RekeyRequiredException(string message) : Exception(message);
