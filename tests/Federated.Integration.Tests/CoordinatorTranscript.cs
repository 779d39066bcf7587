using System.Security.Cryptography;
using Federated.Audit;

namespace Federated.Integration.Tests;

/// <summary>What the coordinator saw of a job (Coordinator:TranscriptDirectory) and what it stores, for docs/protocol.md §5.5 checks.</summary>
internal static class CoordinatorTranscript
{
    /// <summary>
    /// Every relay audit record of the job with its sealed payload from the transcript; asserts that each record has
    /// exactly one payload, of the recorded size and SHA-256.
    /// </summary>
    public static IReadOnlyList<(AuditEntry Entry, byte[] Payload)> Read(string auditDatabase, string transcriptDirectory, string jobId)
    {
        var records = AuditReader.Read(auditDatabase, 1, int.MaxValue)
            .Where(r => r.Entry.JobId == jobId && r.Entry.Kind == AuditEntry.RelayKind).Select(r => r.Entry).ToList();
        var folder = Path.Combine(transcriptDirectory, jobId);
        Assert.Equal(records.Count, Directory.GetFiles(folder, "*.sealed").Length);
        return records.Select(e =>
        {
            var generation = System.Text.Json.JsonDocument.Parse(e.Details!).RootElement.GetProperty("generation").GetUInt64();
            var payload = File.ReadAllBytes(Path.Combine(folder, $"{e.Sender}-{e.Sequence:D10}-g{generation}.sealed"));
            Assert.Equal(e.PayloadBytes, payload.LongLength);
            Assert.Equal(e.PayloadSha256, Convert.ToHexStringLower(SHA256.HashData(payload)));
            return (e, payload);
        }).ToList();
    }

    /// <summary>Every file under <paramref name="folder"/> with its bytes, read while the coordinator may hold it open.</summary>
    public static IEnumerable<(string Path, byte[] Content)> StoredFiles(string folder)
    {
        var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var content = new byte[stream.Length];
            stream.ReadExactly(content);
            yield return (file, content);
        }
    }
}
