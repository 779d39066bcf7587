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
    }
}
