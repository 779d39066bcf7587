using Federated.Transport.V1;
using Google.Protobuf;

namespace Federated.Transport.Relay;

/// <summary>Splits a message into chunk frames: the first carries the header, the last is flagged.</summary>
public static class MessageChunker
{
    public static IEnumerable<RelayFrame> Split(RelayHeader header, ReadOnlyMemory<byte> sealedPayload, int chunkBytes)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkBytes, 1);
        if ((ulong)sealedPayload.Length != header.PayloadSize)
            throw new ArgumentException($"payload has {sealedPayload.Length} bytes but the header announces {header.PayloadSize}", nameof(sealedPayload));

        var offset = 0;
        do
        {
            var length = Math.Min(chunkBytes, sealedPayload.Length - offset);
            yield return new RelayFrame
            {
                Header = offset == 0 ? header : null,
                Sequence = header.Sequence,
                Offset = (ulong)offset,
                Data = UnsafeByteOperations.UnsafeWrap(sealedPayload.Slice(offset, length)),
                Last = offset + length == sealedPayload.Length,
            };
            offset += length;
        }
        while (offset < sealedPayload.Length);
    }
}
