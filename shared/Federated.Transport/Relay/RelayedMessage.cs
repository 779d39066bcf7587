using System.Security.Cryptography;
using Federated.Transport.V1;

namespace Federated.Transport.Relay;

/// <summary>One complete relayed message: its clear header and its sealed payload (opaque to the coordinator).</summary>
public sealed class RelayedMessage
{
    public RelayedMessage(RelayHeader header, byte[] sealedPayload)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(sealedPayload);
        if ((ulong)sealedPayload.LongLength != header.PayloadSize)
            throw new ArgumentException($"payload has {sealedPayload.LongLength} bytes but the header announces {header.PayloadSize}", nameof(sealedPayload));
        Header = header;
        SealedPayload = sealedPayload;
    }

    public RelayHeader Header { get; }
    public byte[] SealedPayload { get; }
    public ulong Sequence => Header.Sequence;
    public ulong Generation => Header.Generation;
    public long Size => SealedPayload.LongLength;

    private string? _sha256;

    /// <summary>Lowercase hex SHA-256 of the sealed payload, as recorded in the audit log (computed once).</summary>
    public string PayloadSha256() => _sha256 ??= Convert.ToHexStringLower(SHA256.HashData(SealedPayload));
}
