namespace Federated.Transport.Relay;

/// <summary>
/// Size bounds of the relay, shared by the coordinator and the party-side client (bound from the "Relay"
/// configuration section on every host). The defaults carry batches of CKKS ciphertexts: one message may be tens of
/// MiB; it travels as chunks of <see cref="ChunkBytes"/>, so no single gRPC message comes near the 4 MiB default cap.
/// </summary>
public sealed class RelayLimits
{
    public const string SectionName = "Relay";

    /// <summary>Largest sealed payload of one message, in bytes (default 64 MiB).</summary>
    public long MaxMessageBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Bytes per chunk frame (default 1 MiB).</summary>
    public int ChunkBytes { get; set; } = 1024 * 1024;

    /// <summary>Coordinator: messages queued per (job, sender, receiver) link before the sender has to wait.</summary>
    public int LinkQueueMessages { get; set; } = 4096;

    /// <summary>Coordinator: bytes queued per link before the sender has to wait (default 256 MiB).</summary>
    public long LinkQueueBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Party: bytes of sent-but-unconsumed messages kept for redelivery before SendAsync waits.</summary>
    public long SenderWindowBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Party: bytes of received messages buffered for the handler before the relay stream is paused.</summary>
    public long ReceiverBufferBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Coordinator: seconds a message may stay incomplete on a party's send stream, from its header chunk to its last
    /// (default 120). A stream that stalls mid-message is then refused, and what it had sent is freed.
    /// </summary>
    public int IncompleteMessageTimeoutSeconds { get; set; } = 120;

    /// <summary>
    /// Coordinator: bytes one party may have announced in incomplete messages at once, over all its send streams
    /// (default 256 MiB). A header beyond it is refused before any of its bytes are buffered.
    /// </summary>
    public long PartyInFlightBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Coordinator: messages per second one party may start on the relay (token bucket of one second; default 20000).</summary>
    public int PartyMessagesPerSecond { get; set; } = 20_000;

    /// <summary>Coordinator: payload bytes per second one party may send on the relay (token bucket of one second; default 4 GiB).</summary>
    public long PartyBytesPerSecond { get; set; } = 4L * 1024 * 1024 * 1024;

    /// <summary>gRPC message cap for chunk frames: one chunk plus room for the header.</summary>
    public int GrpcMessageBytes => ChunkBytes + 64 * 1024;

    /// <summary>Throws with the offending setting named when the bounds are inconsistent.</summary>
    public void Validate()
    {
        if (ChunkBytes < 1024 || ChunkBytes > 16 * 1024 * 1024)
            throw new ArgumentOutOfRangeException(nameof(ChunkBytes), ChunkBytes, "Relay:ChunkBytes must be between 1 KiB and 16 MiB");
        if (MaxMessageBytes < ChunkBytes)
            throw new ArgumentOutOfRangeException(nameof(MaxMessageBytes), MaxMessageBytes, "Relay:MaxMessageBytes must be at least Relay:ChunkBytes");
        if (LinkQueueMessages < 1)
            throw new ArgumentOutOfRangeException(nameof(LinkQueueMessages), LinkQueueMessages, "Relay:LinkQueueMessages must be positive");
        if (LinkQueueBytes < 1 || SenderWindowBytes < 1 || ReceiverBufferBytes < 1)
            throw new ArgumentOutOfRangeException(nameof(LinkQueueBytes), "Relay:LinkQueueBytes, Relay:SenderWindowBytes and Relay:ReceiverBufferBytes must be positive");
        if (IncompleteMessageTimeoutSeconds < 1 || IncompleteMessageTimeoutSeconds > 3600)
            throw new ArgumentOutOfRangeException(nameof(IncompleteMessageTimeoutSeconds), IncompleteMessageTimeoutSeconds,
                "Relay:IncompleteMessageTimeoutSeconds must be between 1 and 3600");
        if (PartyInFlightBytes < MaxMessageBytes)
            throw new ArgumentOutOfRangeException(nameof(PartyInFlightBytes), PartyInFlightBytes, "Relay:PartyInFlightBytes must be at least Relay:MaxMessageBytes");
        if (PartyMessagesPerSecond < 1)
            throw new ArgumentOutOfRangeException(nameof(PartyMessagesPerSecond), PartyMessagesPerSecond, "Relay:PartyMessagesPerSecond must be positive");
        if (PartyBytesPerSecond < ChunkBytes)
            throw new ArgumentOutOfRangeException(nameof(PartyBytesPerSecond), PartyBytesPerSecond, "Relay:PartyBytesPerSecond must be at least Relay:ChunkBytes");
    }
}
