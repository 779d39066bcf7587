using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Federated.Audit;

/// <summary>Writes an <see cref="AuditJobReport"/> as Markdown (for an auditor) and JSON (for tools).</summary>
public static class AuditReportWriter
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // ε, δ and arrows stay readable in the file.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Writes <c>audit-report-&lt;job&gt;.md</c> and <c>audit-report-&lt;job&gt;.json</c> into <paramref name="folder"/>
    /// (created when missing) and returns their full paths.
    /// </summary>
    public static (string Markdown, string Json) Write(AuditJobReport report, string folder)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(folder);
        var stem = Path.Combine(Path.GetFullPath(folder), "audit-report-" + SafeName(report.JobId));
        var (markdown, json) = (stem + ".md", stem + ".json");
        File.WriteAllText(markdown, ToMarkdown(report), new UTF8Encoding(false));
        File.WriteAllText(json, ToJson(report), new UTF8Encoding(false));
        return (markdown, json);
    }

    /// <summary>The report as JSON (camelCase; times in ISO 8601 UTC; figures not recorded are null with their reason).</summary>
    public static string ToJson(AuditJobReport report) => JsonSerializer.Serialize(report, Json) + "\n";

    /// <summary>The report as Markdown for an auditor.</summary>
    public static string ToMarkdown(AuditJobReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var job = report.Job;
        var t = report.Traffic;
        var md = new StringBuilder();
        md.Append(C, $"# Privacy audit report: job {Cell(report.JobId)}\n\n");
        md.Append(C, $"Computed from the coordinator's audit log `{report.AuditLog}` on {Time(report.GeneratedAt)}: {report.Records} records of this job. ");
        md.Append("The log holds message headers, sealed payload sizes and SHA-256 hashes and job events; never a payload, a feature value, a label or a key.\n\n");

        md.Append("## Audit chain\n\n");
        var chain = report.Chain;
        if (chain.IsValid)
            md.Append(C, $"**VALID**: the hash chain and the anchor of the whole log verify ({chain.RecordsChecked} records checked; head hash `{chain.HeadHash ?? "-"}`).\n\n");
        else
            md.Append(C, $"**INVALID**: {Cell(chain.Problem ?? "unknown problem")} (first bad record: {chain.FirstBadIndex?.ToString(C) ?? "not tied to one record"}; {chain.RecordsChecked} records checked before it). The figures below are read from a log that does not verify and cannot be relied on.\n\n");

        md.Append("## Job\n\n| field | as recorded |\n|---|---|\n");
        md.Append(C, $"| job | {Cell(report.JobId)} |\n");
        md.Append(C, $"| kind | {Cell(job.Kind ?? "not recorded")} |\n");
        md.Append(C, $"| state | {Cell(job.State ?? "not recorded")} |\n");
        md.Append(C, $"| created | {(job.Created is { } created ? Time(created) : "not recorded")} |\n");
        md.Append(C, $"| created by | {Cell(job.CreatedBy ?? "not recorded")} |\n");
        if (job.RetryOf is not null) md.Append(C, $"| retry of | {Cell(job.RetryOf)} |\n");
        md.Append('\n');

        md.Append("**Parties**\n\n");
        if (job.Parties.Count == 0)
            md.Append("not recorded (the log has no `created` event for this job)\n\n");
        else
        {
            md.Append("| role | party | certificate fingerprint (SHA-256) |\n|---|---|---|\n");
            foreach (var p in job.Parties)
                md.Append(C, $"| {(p.Role == "music" ? "M, music" : "E, external")} | {Cell(p.PartyId)} | {(p.CertificateFingerprint is { } f ? $"`{f}`" : "not recorded")} |\n");
            md.Append('\n');
        }

        md.Append("**Parameters**\n\n");
        if (job.Parameters is null)
            md.Append("not recorded (the log holds no parameters for this job)\n\n");
        else if (job.Parameters.Count == 0)
            md.Append("none (the job was created without parameters)\n\n");
        else
        {
            md.Append("| parameter | value |\n|---|---|\n");
            foreach (var (name, value) in job.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
                md.Append(C, $"| {Cell(name)} | {Cell(value)} |\n");
            md.Append('\n');
        }

        md.Append("## What crossed the boundary\n\n");
        if (t.Messages == 0)
            md.Append("No message of this job was relayed.\n\n");
        else
        {
            md.Append(C, $"{t.Messages} sealed messages, {Bytes(t.Bytes)}, from {Time(t.First!.Value)} to {Time(t.Last!.Value)}.");
            if (t.ReplaysDropped > 0) md.Append(C, $" {t.ReplaysDropped} replayed message(s) were dropped by the relay and did not reach the peer.");
            md.Append("\n\n| direction | messages | bytes |\n|---|---:|---:|\n");
            foreach (var d in t.ByDirection)
                md.Append(C, $"| {Cell(d.Direction)} ({Cell(d.Sender)} → {Cell(d.Receiver)}) | {d.Messages} | {d.Bytes} |\n");
            md.Append(C, $"| **total** | **{t.Messages}** | **{t.Bytes}** |\n\n");
            md.Append("| direction | message type | messages | bytes | first | last |\n|---|---|---:|---:|---|---|\n");
            foreach (var r in t.ByType)
                md.Append(C, $"| {Cell(r.Direction)} | {Cell(r.MessageType)} | {r.Messages} | {r.Bytes} | {Time(r.First)} | {Time(r.Last)} |\n");
            md.Append("\nBytes are sealed payload sizes (ciphertexts and PSI points inside the end-to-end seal), as the relay recorded them.\n\n");
        }

        md.Append("## Privacy figures\n\n| figure | value | source |\n|---|---|---|\n");
        var p2 = report.Privacy;
        md.Append(C, $"| label DP ε | {Figure(p2.Epsilon)} | {Cell(p2.Epsilon.Source)} |\n");
        md.Append(C, $"| label DP δ | {Figure(p2.Delta)} | {Cell(p2.Delta.Source)} |\n");
        if (p2.Budget is { } budget) md.Append(C, $"| partner's budget | {Figure(budget)} | {Cell(budget.Source)} |\n");
        var ckks = p2.Ckks;
        md.Append(C, $"| CKKS ring degree N | {ckks.PolyModulusDegree?.ToString(C) ?? "not recorded"} | {Cell(ckks.Source)} |\n");
        md.Append(C, $"| CKKS modulus log Q (bits) | {ckks.ModulusBits?.ToString(C) ?? "not recorded"} | {Cell(ckks.Source)} |\n");
        md.Append(C, $"| 128-bit classical security (HE standard) | {ckks.Classical128 switch { true => "yes", false => "**NO**", null => "not recorded" }} | {(ckks.PolyModulusDegree is { } n && HeSecurityStandard.Classical128MaxModulusBits.TryGetValue(n, out var max) ? $"log Q ≤ {max} at N = {n}" : "needs N and log Q")} |\n");
        if (p2.DecoyFactor is { } decoys) md.Append(C, $"| inference decoy factor | {Figure(decoys)} | {Cell(decoys.Source)} |\n");
        if (p2.EvaluationDecoys is { } evaluation) md.Append(C, $"| evaluation decoys per wanted user | {Figure(evaluation)} | {Cell(evaluation.Source)} |\n");
        md.Append(C, $"| insecure allowances | {(p2.Insecure.Count == 0 ? (job.Parameters is null ? "not recorded" : "none") : "**" + Cell(string.Join(", ", p2.Insecure)) + "**")} | job parameter 'insecure' |\n\n");
        if (p2.InsecureNotices.Count > 0)
        {
            md.Append("**Reports marked INSECURE**\n\n");
            foreach (var notice in p2.InsecureNotices) md.Append(C, $"- {Cell(notice)}\n");
            md.Append('\n');
        }
        md.Append("The HomomorphicEncryption.org standard's bounds for 128-bit classical security (ternary secret, σ = 3.2): ");
        md.Append(string.Join(", ", HeSecurityStandard.Classical128MaxModulusBits.Select(kv => $"N = {kv.Key.ToString(C)}: log Q ≤ {kv.Value.ToString(C)}")));
        md.Append(".\n\n");

        md.Append("## Party reports\n\n");
        if (report.PartyReports.Count == 0)
            md.Append("none recorded\n\n");
        else
        {
            md.Append("| record | time | party | state | summary |\n|---:|---|---|---|---|\n");
            foreach (var r in report.PartyReports)
                md.Append(C, $"| {r.Index} | {Time(r.Time)} | {Cell(r.PartyId)} | {Cell(r.State)}{(r.Failure is { } f ? $" ({Cell(f)})" : "")} | {Cell(r.Summary)} |\n");
            md.Append('\n');
        }

        md.Append("## Job events\n\n| record | time | event | details |\n|---:|---|---|---|\n");
        foreach (var e in report.Events)
            md.Append(C, $"| {e.Index} | {Time(e.Time)} | {Cell(e.Event)} | `{Cell(e.Details).Replace("`", "'", StringComparison.Ordinal)}` |\n");
        return md.ToString();
    }

    private static string Figure(AuditFigure figure) => figure.Value is { } v ? Cell(v) : "not recorded";

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff 'UTC'", C);

    private static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes.ToString(C)} bytes",
        < 1024 * 1024 => $"{bytes.ToString(C)} bytes ({(bytes / 1024.0).ToString("0.0", C)} KiB)",
        _ => $"{bytes.ToString(C)} bytes ({(bytes / (1024.0 * 1024)).ToString("0.0", C)} MiB)",
    };

    // One Markdown table cell: no line breaks, pipes escaped.
    private static string Cell(string text) =>
        text.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal);

    private static string SafeName(string name) =>
        string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')).TrimStart('.') is { Length: > 0 } safe ? safe : "job";
}
