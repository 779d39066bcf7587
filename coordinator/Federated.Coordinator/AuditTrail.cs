using System.Text.Json;
using Federated.Audit;
using Federated.Transport.Relay;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator;

/// <summary>The coordinator's view of the hash-chained audit log: one record per relayed message and per job event.</summary>
public sealed class AuditTrail : IDisposable
{
    private readonly AuditLog _log;
    private readonly string? _transcript;

    public AuditTrail(IOptions<CoordinatorOptions> options)
    {
        var path = options.Value.AuditDatabasePath;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        _log = AuditLog.Open(path);
        Path = path;
        if (!string.IsNullOrWhiteSpace(options.Value.TranscriptDirectory))
            _transcript = System.IO.Path.GetFullPath(options.Value.TranscriptDirectory);
    }

    public string Path { get; }

    public long Count => _log.Count;

    /// <summary>The chain head (record count, last hash, its job and time) that parties sign into their receipts.</summary>
    public AuditHead Head() => _log.ChainHead();

    /// <summary>Header, sealed size and SHA-256 of the sealed payload; never the payload.</summary>
    public void Relayed(RelayedMessage message)
    {
        var h = message.Header;
        _log.Append(AuditEntry.Relay(h.JobId, h.MessageType, h.Sender, h.Receiver, h.Sequence, message.Size, message.PayloadSha256(),
            JsonSerializer.Serialize(new Dictionary<string, object> { ["step"] = h.Step, ["generation"] = h.Generation })));
        CoordinatorMetrics.AuditRecords.WithLabels(AuditEntry.RelayKind).Inc();
        if (_transcript is not null)
            WriteTranscript(message);
    }

    /// <summary>Coordinator:TranscriptDirectory (test/audit aid): the sealed bytes exactly as relayed, one file per message.</summary>
    private void WriteTranscript(RelayedMessage message)
    {
        var h = message.Header;
        var folder = System.IO.Path.Combine(_transcript!, SafeName(h.JobId));
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(System.IO.Path.Combine(folder, $"{SafeName(h.Sender)}-{h.Sequence:D10}-g{h.Generation}.sealed"), message.SealedPayload);
    }

    // Job and party ids are the coordinator's own identifiers, but keep a hostile one from leaving the folder.
    private static string SafeName(string name) =>
        string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')).TrimStart('.');

    /// <summary>
    /// The job's <c>created</c> event: kind, who created it, both parties with their pinned certificate fingerprints,
    /// and the job's parameters as given (a <c>seed</c>, from which each party derives its own secret seed, is recorded
    /// as set, not by value).
    /// </summary>
    public void JobCreated(Jobs.JobRecord job, string createdBy, string? musicFingerprint, string? externalFingerprint,
        IReadOnlyDictionary<string, object?>? facts = null)
    {
        var details = new Dictionary<string, object?>
        {
            ["kind"] = job.Kind, ["operator"] = createdBy, ["music"] = job.MusicPartyId, ["external"] = job.ExternalPartyId,
        };
        if (facts is not null)
            foreach (var (k, v) in facts)
                details[k] = v;
        // by role, like "music" and "external" above (which name the party ids)
        details["fingerprints"] = new Dictionary<string, string?> { ["music"] = musicFingerprint, ["external"] = externalFingerprint };
        details["parameters"] = RecordedParameters(job.Parameters);
        JobEvent(job.Attempt.Value, "created", details);
    }

    /// <summary>Job parameters as the audit log records them: every name, every value except a seed's.</summary>
    public static SortedDictionary<string, string> RecordedParameters(IReadOnlyDictionary<string, string> parameters)
    {
        var recorded = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in parameters)
            recorded[name] = string.Equals(name, SeedParameter, StringComparison.OrdinalIgnoreCase) ? SeedRecordedAs : value;
        return recorded;
    }

    /// <summary>The parameter whose value the audit log does not record.</summary>
    public const string SeedParameter = "seed";

    /// <summary>What the audit log records for a seed parameter instead of its value.</summary>
    public const string SeedRecordedAs = "(set; value not recorded)";

    public void JobEvent(string jobId, string eventName, IReadOnlyDictionary<string, object?>? facts = null)
    {
        var details = new Dictionary<string, object?> { ["event"] = eventName };
        if (facts is not null)
            foreach (var (k, v) in facts)
                details[k] = v;
        _log.Append(AuditEntry.Job(jobId, JsonSerializer.Serialize(details)));
        CoordinatorMetrics.AuditRecords.WithLabels(AuditEntry.JobKind).Inc();
    }

    public void Dispose() => _log.Dispose();
}
