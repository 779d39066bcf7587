using Federated.Core.Jobs;

namespace Federated.Security;

/// <summary>
/// The header of one sealed message as the coordinator relays it. Every field is authenticated as associated data
/// of the AEAD, so the coordinator can read it but cannot change any field without the receiver's open failing.
/// </summary>
/// <param name="Attempt">The job attempt the message belongs to (the coordinator's job id).</param>
/// <param name="MessageType">Protocol message name, for example "train.F1".</param>
/// <param name="Sender">Sending party id.</param>
/// <param name="Receiver">Receiving party id.</param>
/// <param name="Sequence">Per (job, sender, receiver) sequence number; strictly increasing; also picks the nonce.</param>
/// <param name="Step">Protocol step (training step, PSI chunk, ...), or -1 where none applies.</param>
public sealed record SealedHeader(AttemptId Attempt, string MessageType, string Sender, string Receiver, ulong Sequence, long Step)
{
    private const string Domain = "federated.sealed-header.v1";

    /// <summary>
    /// Canonical, unambiguous encoding used as AEAD associated data: a domain string, then job, type, sender and
    /// receiver as length-prefixed UTF-8, then sequence and step as 8-byte big-endian integers.
    /// </summary>
    public byte[] ToAssociatedData()
    {
        if (Attempt.Value is null) throw new ArgumentException("the header names no job attempt", nameof(Attempt));
        ArgumentNullException.ThrowIfNull(MessageType, nameof(MessageType));
        ArgumentNullException.ThrowIfNull(Sender, nameof(Sender));
        ArgumentNullException.ThrowIfNull(Receiver, nameof(Receiver));
        return new CanonicalWriter()
            .Text(Domain).Text(Attempt.Value).Text(MessageType).Text(Sender).Text(Receiver)
            .UInt64(Sequence).Int64(Step)
            .ToArray();
    }
}
