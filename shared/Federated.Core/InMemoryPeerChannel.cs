using System.Threading.Channels;

namespace Federated.Core;

/// <summary>
/// Two connected in-process channel ends, for running both protocol roles in one process (tests, the
/// single-process equivalence checks and benchmarks). Bounded, so a fast sender feels back-pressure.
/// </summary>
public sealed class InMemoryPeerChannel : IPeerChannel
{
    private readonly ChannelWriter<PeerMessage> _outbox;
    private readonly ChannelReader<PeerMessage> _inbox;
    private readonly Action<PeerMessage>? _onSend;

    private InMemoryPeerChannel(ChannelWriter<PeerMessage> outbox, ChannelReader<PeerMessage> inbox, Action<PeerMessage>? onSend)
    {
        _outbox = outbox;
        _inbox = inbox;
        _onSend = onSend;
    }

    /// <summary>Creates two connected ends. <paramref name="transcript"/>, when given, sees every message sent either way.</summary>
    public static (InMemoryPeerChannel A, InMemoryPeerChannel B) CreatePair(int capacity = 64, Action<string, PeerMessage>? transcript = null)
    {
        var options = new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = false };
        var aToB = Channel.CreateBounded<PeerMessage>(options);
        var bToA = Channel.CreateBounded<PeerMessage>(options);
        Action<PeerMessage>? fromA = transcript is null ? null : m => transcript("A->B", m);
        Action<PeerMessage>? fromB = transcript is null ? null : m => transcript("B->A", m);
        return (new InMemoryPeerChannel(aToB.Writer, bToA.Reader, fromA), new InMemoryPeerChannel(bToA.Writer, aToB.Reader, fromB));
    }

    public async ValueTask SendAsync(PeerMessage message, CancellationToken cancellationToken)
    {
        // Copy so that a caller reusing its buffer cannot change a message already sent.
        var copy = message with { Payload = message.Payload.ToArray() };
        _onSend?.Invoke(copy);
        await _outbox.WriteAsync(copy, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<PeerMessage> ReceiveAsync(CancellationToken cancellationToken) => _inbox.ReadAsync(cancellationToken);
}
