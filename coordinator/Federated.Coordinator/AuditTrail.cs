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

    /// <summary>Header, sealed size and SHA-256 of the sealed payload; never the payload.</summary>
    public void Relayed(RelayedMessage message)
    {
        var h = message.Header;
        _log.Append(AuditEntry.Relay(h.JobId, h.MessageType, h.Sender, h.Receiver, h.Sequence, message.Size, message.PayloadSha256(),
            JsonSerializer.Serialize(new Dictionary<string, object> { ["step"] = h.Step, ["generation"] = h.Generation })));
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

    public void JobEvent(string jobId, string eventName, IReadOnlyDictionary<string, object?>? facts = null)
    {
        var details = new Dictionary<string, object?> { ["event"] = eventName };
        if (facts is not null)
            foreach (var (k, v) in facts)
                details[k] = v;
        _log.Append(AuditEntry.Job(jobId, JsonSerializer.Serialize(details)));
    }

    public void Dispose() => _log.Dispose();
}
