using System.Text.Json;

namespace Federated.Core;

/// <summary>Thrown when the peer stopped the job and told us so with a <see cref="PeerAbort"/> message.</summary>
public sealed class PeerAbortedException(string message, FailureCategory peerCategory) : Exception(message)
{
    /// <summary>The peer's own failure category, as it reported it.</summary>
    public FailureCategory PeerCategory { get; } = peerCategory;
}

/// <summary>
/// The one abort convention of every protocol over <see cref="IPeerChannel"/>: a party that fails sends
/// <see cref="MessageType"/> with its failure category and a peer-safe reason (never local details), best effort;
/// the receiving role turns it into <see cref="PeerAbortedException"/> wherever it waits for a message.
/// </summary>
public static class PeerAbort
{
    public const string MessageType = "peer.abort";

    private sealed record Body(FailureCategory Category, string Reason);

    public static PeerMessage Create(FailureCategory category) =>
        new(MessageType, JsonSerializer.SerializeToUtf8Bytes(new Body(category, Failures.PeerSafeReason(category))));

    public static bool IsAbort(PeerMessage message) => message.MessageType == MessageType;

    /// <summary>Throws <see cref="PeerAbortedException"/> when <paramref name="message"/> is an abort; names the peer.</summary>
    public static void ThrowIfAbort(PeerMessage message, string peerName)
    {
        if (!IsAbort(message)) return;
        Body? body = null;
        try { body = JsonSerializer.Deserialize<Body>(message.Payload.Span); }
        catch (JsonException) { /* an unreadable abort is still an abort */ }
        var category = body is not null && Enum.IsDefined(body.Category) ? body.Category : FailureCategory.Internal;
        throw new PeerAbortedException($"the {peerName} aborted the job: {body?.Reason ?? "(no readable reason)"}", category);
    }

    /// <summary>Sends an abort for <paramref name="failure"/>, giving up after <paramref name="timeout"/> (default 5 s); never throws.</summary>
    public static async Task TrySendAsync(IPeerChannel channel, Exception failure, TimeSpan? timeout = null)
    {
        if (failure is PeerAbortedException or OperationCanceledException) return; // the peer already knows, or we were told to stop
        try
        {
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
            await channel.SendAsync(Create(Failures.Classify(failure)), cts.Token).ConfigureAwait(false);
        }
        catch (Exception) { /* the channel itself may be what failed; the local error is what matters */ }
    }

    /// <summary>Receives the next message, turning a peer abort into <see cref="PeerAbortedException"/>.</summary>
    public static async ValueTask<PeerMessage> ReceiveAsync(IPeerChannel channel, string peerName, CancellationToken ct)
    {
        var message = await channel.ReceiveAsync(ct).ConfigureAwait(false);
        ThrowIfAbort(message, peerName);
        return message;
    }
}
