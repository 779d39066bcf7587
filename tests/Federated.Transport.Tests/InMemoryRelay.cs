using System.Collections.Concurrent;
using System.Threading.Channels;
using Federated.Transport.Relay;
using Federated.Transport.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Federated.Transport.Tests;

/// <summary>
/// A relay in the test process, built on the same link and session logic as the coordinator, reachable through
/// generated <see cref="V1.Relay.RelayClient"/> instances. It records what it relays and can misbehave on request
/// (tamper with deliveries, substitute handshake offers, cut delivery streams, deliver duplicates).
/// </summary>
internal sealed class InMemoryRelay(string jobId, string music, string external, RelayLimits limits)
{
    public JobRelaySession Session { get; } = new(jobId, music, external, limits);
    public ConcurrentQueue<RelayedMessage> Relayed { get; } = new();

    /// <summary>Applied to every message before it is delivered (a compromised relay).</summary>
    public Func<RelayedMessage, RelayedMessage>? TamperDelivery { get; set; }

    /// <summary>Applied to the peer offer returned to a party (a relay attempting a man-in-the-middle).</summary>
    public Func<byte[], byte[]>? TamperOffer { get; set; }

    /// <summary>When set, the next delivery stream to this party breaks after delivering this many messages.</summary>
    public ConcurrentDictionary<string, int> CutDeliveryAfter { get; } = new();

    /// <summary>When true, each message is delivered twice in a row (the receiver must drop the copy).</summary>
    public bool DeliverTwice { get; set; }

    public V1.Relay.RelayClient ClientFor(string partyId) => new Client(this, partyId);

    private async Task<ExchangeOfferReply> ExchangeAsync(string party, ExchangeOfferRequest request, CancellationToken ct)
    {
        var (generation, _) = Session.Post(new SessionOffer(party, request.Incarnation, request.Offer.ToByteArray(), request.ReceivedFromPeer, request.ConsumedFromPeer));
        try
        {
            var rendezvous = await Session.WaitForPeerAsync(party, generation, ct);
            var offer = TamperOffer is { } tamper ? tamper(rendezvous.Peer.Offer) : rendezvous.Peer.Offer;
            return new ExchangeOfferReply
            {
                Generation = generation, PeerOffer = ByteString.CopyFrom(offer), PeerReceived = rendezvous.Peer.ReceivedFromPeer,
                PeerConsumed = rendezvous.Peer.ConsumedFromPeer, PeerPartyId = rendezvous.Peer.PartyId,
            };
        }
        catch (SessionSupersededException e)
        {
            throw new RpcException(new Status(StatusCode.Aborted, e.Message));
        }
    }

    private async Task SendLoopAsync(string party, ChannelReader<RelayFrame> frames, ChannelWriter<SendProgress> progress, CancellationToken ct)
    {
        var assembler = new MessageAssembler(limits.MaxMessageBytes);
        await foreach (var frame in frames.ReadAllAsync(ct))
        {
            if (assembler.Add(frame) is not { } message)
                continue;
            var outcome = await Session.OutgoingOf(party).AcceptAsync(message, Relayed.Enqueue, ct);
            await progress.WriteAsync(new SendProgress
            {
                Sequence = message.Sequence,
                Outcome = outcome switch { AcceptOutcome.Accepted => SendOutcome.Accepted, AcceptOutcome.OldSequence => SendOutcome.OldSequence, _ => SendOutcome.StaleGeneration },
            }, ct);
        }
    }

    private async Task ReceiveLoopAsync(string party, ReceiveRequest request, ChannelWriter<RelayDelivery> output, CancellationToken ct)
    {
        var incoming = Session.IncomingOf(party);
        var outgoing = Session.OutgoingOf(party);
        var cursor = request.AfterSequence;
        var consumedSent = 0UL;
        var cutAfter = CutDeliveryAfter.TryRemove(party, out var n) ? n : int.MaxValue;
        var delivered = 0;
        while (!ct.IsCancellationRequested)
        {
            var wait = Session.Changed.Current;
            if (Session.Generation != request.Generation)
            {
                await output.WriteAsync(new RelayDelivery { RekeyGeneration = Session.Generation }, ct);
                return;
            }
            if (outgoing.Acknowledged > consumedSent)
            {
                consumedSent = outgoing.Acknowledged;
                await output.WriteAsync(new RelayDelivery { PeerConsumed = consumedSent }, ct);
            }
            if (incoming.NextAfter(cursor) is { } message)
            {
                if (delivered++ == cutAfter)
                    throw new RpcException(new Status(StatusCode.Unavailable, "connection reset (test)"));
                var sent = TamperDelivery is { } tamper ? tamper(message) : message;
                for (var copy = 0; copy < (DeliverTwice ? 2 : 1); copy++)
                    foreach (var frame in MessageChunker.Split(sent.Header, sent.SealedPayload, limits.ChunkBytes))
                        await output.WriteAsync(new RelayDelivery { Frame = frame }, ct);
                cursor = message.Sequence;
                continue;
            }
            await wait.WaitAsync(ct);
        }
    }

    private sealed class Client(InMemoryRelay relay, string party) : V1.Relay.RelayClient
    {
        public override AsyncUnaryCall<ExchangeOfferReply> ExchangeOfferAsync(ExchangeOfferRequest request, CallOptions options)
        {
            var linked = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
            if (options.Deadline is { } deadline && deadline != DateTime.MaxValue)
                linked.CancelAfter(deadline - DateTime.UtcNow);
            return Unary(relay.ExchangeAsync(party, request, linked.Token), linked);
        }

        public override AsyncUnaryCall<AcknowledgeReply> AcknowledgeAsync(AcknowledgeRequest request, CallOptions options)
        {
            relay.Session.IncomingOf(party).Acknowledge(request.ConsumedUpTo);
            return Unary(Task.FromResult(new AcknowledgeReply()), new CancellationTokenSource());
        }

        public override AsyncDuplexStreamingCall<RelayFrame, SendProgress> Send(CallOptions options)
        {
            var cancel = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
            var requests = Channel.CreateBounded<RelayFrame>(8);
            var responses = Channel.CreateUnbounded<SendProgress>();
            _ = Pump(() => relay.SendLoopAsync(party, requests.Reader, responses.Writer, cancel.Token), responses.Writer);
            return new AsyncDuplexStreamingCall<RelayFrame, SendProgress>(new Writer<RelayFrame>(requests.Writer), new Reader<SendProgress>(responses.Reader),
                Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => cancel.Cancel());
        }

        public override AsyncServerStreamingCall<RelayDelivery> Receive(ReceiveRequest request, CallOptions options)
        {
            var cancel = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
            var responses = Channel.CreateBounded<RelayDelivery>(8);
            _ = Pump(() => relay.ReceiveLoopAsync(party, request, responses.Writer, cancel.Token), responses.Writer);
            return new AsyncServerStreamingCall<RelayDelivery>(new Reader<RelayDelivery>(responses.Reader),
                Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => cancel.Cancel());
        }

        private static async Task Pump<T>(Func<Task> loop, ChannelWriter<T> output)
        {
            try
            {
                await loop();
                output.TryComplete();
            }
            catch (OperationCanceledException)
            {
                output.TryComplete(new RpcException(new Status(StatusCode.Cancelled, "cancelled")));
            }
            catch (Exception e)
            {
                output.TryComplete(e as RpcException ?? new RpcException(new Status(StatusCode.Internal, e.Message)));
            }
        }

        private static AsyncUnaryCall<T> Unary<T>(Task<T> task, CancellationTokenSource owner) =>
            new(task, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], owner.Dispose);
    }

    private sealed class Writer<T>(ChannelWriter<T> writer) : IClientStreamWriter<T>
    {
        public WriteOptions? WriteOptions { get; set; }
        public Task WriteAsync(T message) => writer.WriteAsync(message).AsTask();
        public Task WriteAsync(T message, CancellationToken cancellationToken) => writer.WriteAsync(message, cancellationToken).AsTask();
        public Task CompleteAsync() { writer.TryComplete(); return Task.CompletedTask; }
    }

    private sealed class Reader<T>(ChannelReader<T> reader) : IAsyncStreamReader<T>
    {
        public T Current { get; private set; } = default!;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            try
            {
                if (!await reader.WaitToReadAsync(cancellationToken))
                    return false;
            }
            catch (ChannelClosedException e) when (e.InnerException is RpcException rpc)
            {
                throw rpc;
            }
            catch (RpcException) { throw; }
            Current = await reader.ReadAsync(cancellationToken);
            return true;
        }
    }
}
