using Federated.Transport.V1;

namespace Federated.Transport.Relay;

/// <summary>
/// Reassembles chunk frames of one stream into messages. Frames of one message must arrive contiguously and in
/// order; a message larger than the configured bound is refused before its bytes are buffered. The buffer grows with
/// the bytes that actually arrived, so a header that announces a large message costs nothing until its chunks come.
/// </summary>
public sealed class MessageAssembler(long maxMessageBytes)
{
    private const int InitialBuffer = 64 * 1024;

    private RelayHeader? _header;
    private byte[]? _buffer;
    private long _filled;

    /// <summary>True while a message is partly received.</summary>
    public bool InProgress => _header is not null;

    /// <summary>The header of the message partly received, or null.</summary>
    public RelayHeader? Current => _header;

    /// <summary>Bytes of the current message received so far.</summary>
    public long Received => _filled;

    /// <summary>Adds one frame; returns the message when this frame completed it.</summary>
    /// <exception cref="RelayProtocolException">The frames are malformed, out of order or too large.</exception>
    public RelayedMessage? Add(RelayFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Header is not null)
        {
            if (_header is not null)
                throw new RelayProtocolException($"message {frame.Header.Sequence} started before message {_header.Sequence} was complete");
            if (frame.Header.Sequence != frame.Sequence)
                throw new RelayProtocolException($"frame sequence {frame.Sequence} differs from its header's {frame.Header.Sequence}");
            if (frame.Header.PayloadSize > (ulong)maxMessageBytes)
                throw new RelayLimitException(
                    $"message {frame.Header.Sequence} of job {frame.Header.JobId} is {frame.Header.PayloadSize} bytes; the relay bound is {maxMessageBytes} (Relay:MaxMessageBytes)");
            _header = frame.Header;
            _buffer = new byte[Math.Min((long)frame.Header.PayloadSize, Math.Max(frame.Data.Length, InitialBuffer))];
            _filled = 0;
        }
        else if (_header is null)
        {
            throw new RelayProtocolException($"chunk at offset {frame.Offset} of message {frame.Sequence} arrived without its header chunk");
        }

        if (frame.Sequence != _header.Sequence)
            throw new RelayProtocolException($"chunk of message {frame.Sequence} arrived inside message {_header.Sequence}");
        if (frame.Offset != (ulong)_filled)
            throw new RelayProtocolException($"chunk of message {frame.Sequence} at offset {frame.Offset}; expected offset {_filled}");
        var announced = (long)_header.PayloadSize;
        if (_filled + frame.Data.Length > announced)
            throw new RelayLimitException(
                $"message {frame.Sequence} has more bytes than its header announces: {_filled + frame.Data.Length} of {announced}");
        if (_filled + frame.Data.Length > _buffer!.LongLength)
            Array.Resize(ref _buffer, (int)Math.Min(announced, Math.Max(_filled + frame.Data.Length, 2 * _buffer.LongLength)));

        frame.Data.Span.CopyTo(_buffer.AsSpan((int)_filled));
        _filled += frame.Data.Length;

        if (!frame.Last)
            return null;
        if (_filled != announced)
            throw new RelayProtocolException($"message {frame.Sequence} ended after {_filled} of {_header.PayloadSize} bytes");

        var message = new RelayedMessage(_header, _buffer);
        _header = null;
        _buffer = null;
        _filled = 0;
        return message;
    }
}

/// <summary>A peer or the coordinator broke the relay's framing or sequencing rules.</summary>
public class RelayProtocolException(string message) : Exception(message);

/// <summary>A message broke one of the relay's size bounds (its announced size, or more bytes than it announced).</summary>
public sealed class RelayLimitException(string message) : RelayProtocolException(message);
