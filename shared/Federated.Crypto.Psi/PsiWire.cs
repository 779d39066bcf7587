using System.Buffers.Binary;
using System.Text.Json;
using Federated.Core;

namespace Federated.Crypto.Psi;

/// <summary>
/// The PSI's messages. Control messages are small JSON objects; bulk messages are chunks:
/// u32 start position, u32 entry count (little-endian), then count fixed-size entries.
/// </summary>
internal static class PsiWire
{
    public const string Protocol = "federated-psi/1";

    public const string Hello = "psi.hello";
    public const string Reveal = "psi.reveal";
    /// <summary>The sender's own points H(id)^k, shuffled.</summary>
    public const string Blinded = "psi.blinded";
    /// <summary>E returns M's points raised to b, in the order M sent them.</summary>
    public const string Reblinded = "psi.reblinded";
    /// <summary>M to E: (E's ordinal, double-blinded value) per aligned row, in canonical order.</summary>
    public const string Matches = "psi.matches";
    public const string MatchesEnd = "psi.matches-end";
    public const string Confirm = "psi.confirm";
    /// <summary>M to E: M checked E's confirmation; E persists only after this, so both succeed or both fail.</summary>
    public const string Done = "psi.done";

    public const int ChunkHeaderBytes = 8;
    public const int PointEntryBytes = 32;
    public const int MatchEntryBytes = 4 + 32;

    /// <summary>Most IDs per party and alignment (33.5 M): keeps every 32-byte-per-ID array under 1 GiB.</summary>
    public const long MaxPoints = 1L << 25;

    public sealed record HelloMessage(
        string Protocol, string Role, string DomainHash, int Round, string? PreviousStateId,
        long PriorCount, long NewCount, int ChunkPoints, string SeedCommit, bool IntersectionForMusicOnly = false);

    public sealed record RevealMessage(string Nonce, string Share);

    public sealed record RowsSummary(long Count, string RowsDigest);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static PeerMessage Control<T>(string type, T body) => new(type, JsonSerializer.SerializeToUtf8Bytes(body, Json));

    public static T ParseControl<T>(PeerMessage message) where T : class
    {
        T? body;
        try { body = JsonSerializer.Deserialize<T>(message.Payload.Span, Json); }
        catch (JsonException e) { throw new ProtocolViolationException($"malformed {message.MessageType} message: {e.Message}"); }
        if (body is null) throw new ProtocolViolationException($"malformed {message.MessageType} message: empty body");
        // Records deserialise missing strings as null; reject those instead of failing later.
        foreach (var p in typeof(T).GetProperties())
            if (p.PropertyType == typeof(string) && p.GetValue(body) is null && p.Name != nameof(HelloMessage.PreviousStateId))
                throw new ProtocolViolationException($"malformed {message.MessageType} message: field '{p.Name}' is missing");
        return body;
    }

    public static byte[] Hex(string field, string hex, int bytes, string messageType)
    {
        byte[] value;
        try { value = Convert.FromHexString(hex); }
        catch (FormatException) { throw new ProtocolViolationException($"{messageType}: field '{field}' is not hexadecimal"); }
        if (value.Length != bytes) throw new ProtocolViolationException($"{messageType}: field '{field}' must be {bytes} bytes, was {value.Length}");
        return value;
    }

    public static byte[] NewChunk(int start, int count, int entryBytes)
    {
        var payload = new byte[ChunkHeaderBytes + count * entryBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)start);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), (uint)count);
        return payload;
    }

    /// <summary>Checks the chunk header against the stream position and limits; returns the entries.</summary>
    public static ReadOnlyMemory<byte> ParseChunk(PeerMessage message, int entryBytes, int maxEntries, long expectedStart, long total)
    {
        var p = message.Payload;
        string type = message.MessageType;
        if (p.Length < ChunkHeaderBytes) throw new ProtocolViolationException($"{type}: payload of {p.Length} bytes is shorter than the chunk header");
        long start = BinaryPrimitives.ReadUInt32LittleEndian(p.Span);
        long count = BinaryPrimitives.ReadUInt32LittleEndian(p.Span[4..]);
        if (count == 0 || count > maxEntries) throw new ProtocolViolationException($"{type}: chunk of {count} entries (allowed 1..{maxEntries})");
        if (p.Length != ChunkHeaderBytes + count * entryBytes)
            throw new ProtocolViolationException(
                $"{type}: payload is {p.Length} bytes but {count} entries of {entryBytes} bytes need {ChunkHeaderBytes + count * entryBytes}");
        if (start != expectedStart) throw new ProtocolViolationException($"{type}: chunk starts at {start}, expected {expectedStart}");
        if (start + count > total) throw new ProtocolViolationException($"{type}: chunk ends at {start + count}, beyond the {total} announced");
        return p[ChunkHeaderBytes..];
    }
}
