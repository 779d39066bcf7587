namespace Federated.Core;

/// <summary>
/// One message between the two parties of a job. The payload is the plaintext the protocol role produced;
/// sealing (AEAD under the job's session key) and relaying happen below this interface.
/// </summary>
/// <param name="MessageType">Protocol message name, for example "psi.m-blinded" or "train.F1".</param>
/// <param name="Payload">Protocol bytes (protobuf or a role-specific encoding).</param>
/// <param name="Step">Protocol step (for example the training step); carried in the sealed and relayed header, so the
/// audit log can place a message without opening it. 0 where a protocol has no steps.</param>
public sealed record PeerMessage(string MessageType, ReadOnlyMemory<byte> Payload, long Step = 0);

/// <summary>
/// An ordered, reliable, authenticated channel to the other party of one job. Protocol roles (PSI, split
/// training) talk through this interface only, so the same role runs in-process in tests and across the
/// coordinator's relay in production.
/// </summary>
public interface IPeerChannel
{
    /// <summary>Sends one message; completes when the transport has accepted it (back-pressure applies).</summary>
    ValueTask SendAsync(PeerMessage message, CancellationToken cancellationToken);

    /// <summary>Receives the next message in order. Throws <see cref="OperationCanceledException"/> on cancel.</summary>
    ValueTask<PeerMessage> ReceiveAsync(CancellationToken cancellationToken);
}

/// <summary>Thrown when the peer sent something other than what the protocol expects at this point.</summary>
public sealed class ProtocolViolationException(string message) : Exception(message)
{
    /// <summary>Receives a message and checks its type, with an error naming both the expected and actual type.</summary>
    public static async ValueTask<PeerMessage> ExpectAsync(IPeerChannel channel, string expectedType, CancellationToken ct)
    {
        var message = await channel.ReceiveAsync(ct).ConfigureAwait(false);
        if (message.MessageType != expectedType)
            throw new ProtocolViolationException($"expected message '{expectedType}' but received '{message.MessageType}'");
        return message;
    }
}
