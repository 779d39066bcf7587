using System.Text.Json;
using Federated.Audit;
using Federated.Transport.Relay;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator;

/// <summary>The coordinator's view of the hash-chained audit log: one record per relayed message and per job event.</summary>
public sealed class AuditTrail : IDisposable
{
    private readonly AuditLog _log;

    public AuditTrail(IOptions<CoordinatorOptions> options)
    {
        var path = options.Value.AuditDatabasePath;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        _log = AuditLog.Open(path);
        Path = path;
    }

    public string Path { get; }

    public long Count => _log.Count;

    /// <summary>Header, sealed size and SHA-256 of the sealed payload; never the payload.</summary>
    public void Relayed(RelayedMessage message)
    {
        var h = message.Header;
        _log.Append(AuditEntry.Relay(h.JobId, h.MessageType, h.Sender, h.Receiver, h.Sequence, message.Size, message.PayloadSha256(),
            JsonSerializer.Serialize(new Dictionary<string, object> { ["step"] = h.Step, ["generation"] = h.Generation })));
    }

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
