namespace Federated.Audio;

/// <summary>
/// An audio file could not be read: malformed, truncated, or in an encoding this library does not decode.
/// The message names the file and, where known, the byte offset and chunk.
/// </summary>
public sealed class AudioFormatException : Exception
{
    public AudioFormatException(string source, string reason, long? offset = null, bool unsupportedEncoding = false,
        Exception? inner = null)
        : base(Compose(source, reason, offset), inner)
    {
        Source = source;
        Reason = reason;
        Offset = offset;
        IsUnsupportedEncoding = unsupportedEncoding;
    }

    /// <summary>The file (or stream name) that was being read.</summary>
    public new string Source { get; }

    /// <summary>What was wrong, without the file name.</summary>
    public string Reason { get; }

    /// <summary>Byte offset in the file where the problem was found, when it applies.</summary>
    public long? Offset { get; }

    /// <summary>True when the file is well formed but uses an encoding the managed reader does not decode
    /// (ffmpeg may still convert it).</summary>
    public bool IsUnsupportedEncoding { get; }

    private static string Compose(string source, string reason, long? offset) =>
        offset is { } o ? $"{source}: {reason} (at byte offset {o})" : $"{source}: {reason}";
}
