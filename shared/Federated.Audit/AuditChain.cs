using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Federated.Audit;

/// <summary>
/// The hash chain and its anchor, shared by the writer and the verifier: canonical record encoding, record hash,
/// the HMAC over the (record count, head hash) anchor, the anchor key file, and the stored time format.
/// </summary>
internal static class AuditChain
{
    public const string FormatVersion = "federated.audit.v1";
    public static readonly string GenesisHash = new('0', 64);
    public const int AnchorKeyBytes = 32;
    private const string RecordDomain = "federated.audit-record.v1";
    private const string AnchorDomain = "federated.audit-anchor.v1";
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    /// <summary>hash = SHA-256(previous hash bytes || canonical encoding of the record's fields).</summary>
    public static string ComputeHash(string previousHash, long index, string time, AuditEntry entry)
    {
        var buffer = new MemoryStream();
        buffer.Write(Convert.FromHexString(previousHash));
        Text(buffer, RecordDomain);
        Int64(buffer, index);
        Text(buffer, time);
        Text(buffer, entry.Kind);
        Text(buffer, entry.JobId);
        OptionalText(buffer, entry.MessageType);
        OptionalText(buffer, entry.Sender);
        OptionalText(buffer, entry.Receiver);
        OptionalInt64(buffer, entry.Sequence is { } s ? checked((long)s) : null);
        OptionalInt64(buffer, entry.PayloadBytes);
        OptionalText(buffer, entry.PayloadSha256);
        OptionalText(buffer, entry.Details);
        return Convert.ToHexStringLower(SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
    }

    /// <summary>HMAC-SHA-256 over the anchor: how many records the log has and the hash of the last.</summary>
    public static string ComputeAnchorMac(ReadOnlySpan<byte> key, long recordCount, string headHash)
    {
        var buffer = new MemoryStream();
        Text(buffer, AnchorDomain);
        Int64(buffer, recordCount);
        Text(buffer, headHash);
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, buffer.ToArray()));
    }

    public static bool MacEquals(string expectedHex, string actualHex)
        => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expectedHex), Encoding.ASCII.GetBytes(actualHex));

    /// <summary>The anchor key lives next to the database, in its own owner-only file.</summary>
    public static string AnchorKeyPath(string sqlitePath) => Path.GetFullPath(sqlitePath) + ".anchor-key";

    public static byte[] CreateAnchorKey(string keyPath)
    {
        var key = RandomNumberGenerator.GetBytes(AnchorKeyBytes);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(keyPath, options);
        stream.Write(key);
        stream.Flush(flushToDisk: true);
        return key;
    }

    public static byte[] ReadAnchorKey(string keyPath)
    {
        if (!File.Exists(keyPath))
            throw new FileNotFoundException($"audit anchor key file '{keyPath}' does not exist", keyPath);
        var key = File.ReadAllBytes(keyPath);
        if (key.Length != AnchorKeyBytes)
            throw new InvalidDataException($"audit anchor key file '{keyPath}' holds {key.Length} bytes; expected {AnchorKeyBytes}");
        return key;
    }

    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static bool TryParseTime(string text, out DateTimeOffset time)
    {
        var ok = DateTime.TryParseExact(text, TimeFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed);
        time = ok ? new DateTimeOffset(parsed, TimeSpan.Zero) : default;
        return ok;
    }

    public static bool IsSha256Hex(string? value)
        => value is { Length: 64 } && value.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    private static void Text(Stream buffer, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        buffer.Write(length);
        buffer.Write(bytes);
    }

    private static void Int64(Stream buffer, long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        buffer.Write(bytes);
    }

    // A presence byte keeps null and "" (or 0) distinct.
    private static void OptionalText(Stream buffer, string? value)
    {
        buffer.WriteByte(value is null ? (byte)0 : (byte)1);
        if (value is not null) Text(buffer, value);
    }

    private static void OptionalInt64(Stream buffer, long? value)
    {
        buffer.WriteByte(value is null ? (byte)0 : (byte)1);
        if (value is { } v) Int64(buffer, v);
    }
}

/// <summary>SQL of the audit database.</summary>
internal static class AuditSchema
{
    public const string Create = """
        CREATE TABLE IF NOT EXISTS audit_meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS audit_record (
            idx            INTEGER PRIMARY KEY,
            time           TEXT    NOT NULL,
            kind           TEXT    NOT NULL,
            job_id         TEXT    NOT NULL,
            message_type   TEXT,
            sender         TEXT,
            receiver       TEXT,
            sequence       INTEGER,
            payload_bytes  INTEGER,
            payload_sha256 TEXT,
            details        TEXT,
            previous_hash  TEXT    NOT NULL,
            hash           TEXT    NOT NULL
        );
        CREATE INDEX IF NOT EXISTS audit_record_job ON audit_record (job_id, idx);
        CREATE TABLE IF NOT EXISTS audit_head (
            id           INTEGER PRIMARY KEY CHECK (id = 1),
            record_count INTEGER NOT NULL,
            head_hash    TEXT    NOT NULL,
            mac          TEXT    NOT NULL
        );
        """;

    public const string SelectColumns =
        "idx, time, kind, job_id, message_type, sender, receiver, sequence, payload_bytes, payload_sha256, details, previous_hash, hash";

    /// <summary>Reads one row selected with <see cref="SelectColumns"/>; the time is returned as stored text.</summary>
    public static (long Index, string Time, AuditEntry Entry, string PreviousHash, string Hash) ReadRow(Microsoft.Data.Sqlite.SqliteDataReader r)
    {
        string? Text(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        long? Int(int i) => r.IsDBNull(i) ? null : r.GetInt64(i);
        var sequence = Int(7);
        var entry = new AuditEntry(r.GetString(2), r.GetString(3), Text(4), Text(5), Text(6),
            sequence is { } s ? unchecked((ulong)s) : null, Int(8), Text(9), Text(10));
        return (r.GetInt64(0), r.GetString(1), entry, r.GetString(11), r.GetString(12));
    }
}
