using System.Text.Json;
using Federated.Core;
using Federated.Learning.Protocol.V1;
using Federated.Learning.Split;
using Google.Protobuf;

namespace Federated.Training.Jobs;

/// <summary>Thrown when the other party does not answer in time; names the party and what was awaited.</summary>
public sealed class PeerTimeoutException(string message) : TimeoutException(message);

/// <summary>
/// The job's channel to the other party with the job's own messages (hello, evaluation forward) and a timeout on
/// every wait whose error names the party that did not answer. Aborts follow Core's convention (<see cref="PeerAbort"/>):
/// a failing party sends its failure category, and a received abort becomes <see cref="PeerAbortedException"/>.
/// </summary>
internal sealed class PeerLink(IPeerChannel channel, string peerParty, TimeSpan timeout)
{
    public const string Hello = "job.hello";
    public const string EvalRequest = "eval.request";
    public const string EvalDone = "eval.done";

    public IPeerChannel Channel => channel;

    public ValueTask SendAsync(string type, byte[] payload, CancellationToken ct) => channel.SendAsync(new PeerMessage(type, payload), ct);

    public async Task<PeerMessage> ReceiveAsync(string expectedType, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        PeerMessage message;
        try
        {
            message = await channel.ReceiveAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new PeerTimeoutException($"the {peerParty} did not answer within {timeout.TotalSeconds:0} s (waiting for '{expectedType}')");
        }
        PeerAbort.ThrowIfAbort(message, peerParty);
        if (message.MessageType != expectedType)
            throw new ProtocolViolationException($"expected '{expectedType}' from the {peerParty}, received '{message.MessageType}'");
        return message;
    }

    public async Task SendSplitAsync(SplitTrainingMessage message, CancellationToken ct) =>
        await channel.SendAsync(SplitTrainingMessages.ToPeerMessage(message), ct).ConfigureAwait(false);

    public async Task<SplitTrainingMessage> ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase expected, CancellationToken ct)
    {
        var type = SplitTrainingMessages.PeerMessageType(expected);
        return SplitTrainingMessages.FromPeerMessage(await ReceiveAsync(type, ct).ConfigureAwait(false));
    }

    public async Task SendJsonAsync<T>(string type, T value, CancellationToken ct) =>
        await SendAsync(type, JsonSerializer.SerializeToUtf8Bytes(value), ct).ConfigureAwait(false);

    public async Task<T> ReceiveJsonAsync<T>(string type, CancellationToken ct)
    {
        var message = await ReceiveAsync(type, ct).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize<T>(message.Payload.Span) ?? throw new ProtocolViolationException($"'{type}' from the {peerParty} is empty");
        }
        catch (JsonException e)
        {
            throw new ProtocolViolationException($"'{type}' from the {peerParty} is not valid: {e.Message}");
        }
    }

    public async Task SendProtoAsync(string type, IMessage message, CancellationToken ct) =>
        await SendAsync(type, message.ToByteArray(), ct).ConfigureAwait(false);

    public async Task<T> ReceiveProtoAsync<T>(string type, MessageParser<T> parser, CancellationToken ct) where T : IMessage<T>
    {
        var message = await ReceiveAsync(type, ct).ConfigureAwait(false);
        try { return parser.ParseFrom(message.Payload.Span); }
        catch (InvalidProtocolBufferException e) { throw new ProtocolViolationException($"'{type}' from the {peerParty} is not valid: {e.Message}"); }
    }

    /// <summary>Tells the peer this party failed with <paramref name="failure"/> (its category only, never data), best effort.</summary>
    public Task TryAbortAsync(Exception failure) => PeerAbort.TrySendAsync(channel, failure);
}

/// <summary>The job hello: each party's agreement fingerprint, training rows and the checkpoints it can resume from.</summary>
internal sealed record JobHello(string Party, string Fingerprint, long AlignedRows, string AlignmentStateId, ulong[] Checkpoints);
