namespace Federated.Audit;

/// <summary>
/// What one audit record says. Payloads are never stored: only header fields, the sealed payload's size and
/// SHA-256, and job events. <paramref name="Details"/> is a JSON object with event facts, never data values.
/// </summary>
/// <param name="Kind"><c>"relay"</c> (one relayed message) or <c>"job"</c> (a job event).</param>
/// <param name="JobId">The job.</param>
/// <param name="MessageType">Protocol message name (relay records).</param>
/// <param name="Sender">Sending party id (relay records).</param>
/// <param name="Receiver">Receiving party id (relay records).</param>
/// <param name="Sequence">Per (job, sender, receiver) sequence number (relay records); at most <see cref="long.MaxValue"/>.</param>
/// <param name="PayloadBytes">Size of the sealed payload in bytes (relay records).</param>
/// <param name="PayloadSha256">Lowercase hex SHA-256 of the sealed payload (relay records).</param>
/// <param name="Details">JSON object with event details, for example <c>{"event":"started"}</c>; no data.</param>
public sealed record AuditEntry(string Kind, string JobId, string? MessageType, string? Sender,
    string? Receiver, ulong? Sequence, long? PayloadBytes, string? PayloadSha256, string? Details)
{
    /// <summary>Kind of a record for one relayed message.</summary>
    public const string RelayKind = "relay";

    /// <summary>Kind of a record for a job event.</summary>
    public const string JobKind = "job";

    /// <summary>A record for one relayed message.</summary>
    public static AuditEntry Relay(string jobId, string messageType, string sender, string receiver, ulong sequence,
        long payloadBytes, string payloadSha256, string? details = null)
        => new(RelayKind, jobId, messageType, sender, receiver, sequence, payloadBytes, payloadSha256, details);

    /// <summary>A record for a job event; <paramref name="details"/> is a JSON object.</summary>
    public static AuditEntry Job(string jobId, string details) => new(JobKind, jobId, null, null, null, null, null, null, details);
}

/// <summary>One stored, chained audit record.</summary>
/// <param name="Index">Position in the log, from 1, without gaps.</param>
/// <param name="Time">When it was appended (UTC, 100 ns resolution).</param>
/// <param name="Entry">What it says.</param>
/// <param name="PreviousHash">Hash of the record before (64 zeros for the first).</param>
/// <param name="Hash">SHA-256 of the previous hash and this record's canonical encoding, lowercase hex.</param>
public sealed record AuditRecord(long Index, DateTimeOffset Time, AuditEntry Entry, string PreviousHash, string Hash);

/// <summary>The outcome of <see cref="AuditVerifier.Verify(string)"/>.</summary>
/// <param name="IsValid">True when every record chains, the anchor matches, and nothing is missing.</param>
/// <param name="RecordsChecked">Records whose hash and link were checked and found correct.</param>
/// <param name="FirstBadIndex">Index of the first record found missing, edited or out of chain; null when valid
/// or when the problem is not tied to one record.</param>
/// <param name="Problem">What is wrong, naming the record; null when valid.</param>
/// <param name="HeadHash">Hash of the last record (record it elsewhere to detect a later rollback); null if empty or unreadable.</param>
public sealed record AuditVerification(bool IsValid, long RecordsChecked, long? FirstBadIndex, string? Problem,
    string? HeadHash = null);

/// <summary>The head of the hash chain: what <see cref="AuditLog.Head"/> returns and a party's audit receipt holds.</summary>
/// <param name="Index">The number of records (the last record's index); 0 for an empty log.</param>
/// <param name="Hash">The last record's hash; 64 zeros for an empty log.</param>
/// <param name="JobId">The last record's job; "" for an empty log.</param>
/// <param name="Time">The last record's time exactly as stored (UTC, <c>yyyy-MM-ddTHH:mm:ss.fffffffZ</c>); "" for an empty log.</param>
public sealed record AuditHead(long Index, string Hash, string JobId, string Time);
