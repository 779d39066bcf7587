using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Federated.Audit;

/// <summary>
/// A job's privacy audit report, computed only from the coordinator's audit log: what crossed the boundary between
/// the parties (per message type and direction), the job as recorded (kind, parameters, parties, certificate
/// fingerprints, state), the parties' reports, the privacy figures the log holds, and the verification of the whole
/// log's hash chain. A figure the log does not hold is null (written as "not recorded"), never guessed.
/// </summary>
/// <param name="JobId">The job.</param>
/// <param name="AuditLog">Full path of the audit log the report was computed from.</param>
/// <param name="GeneratedAt">When the report was made (UTC).</param>
/// <param name="Chain">Verification of the whole log's hash chain and anchor (<see cref="AuditVerifier"/>).</param>
/// <param name="Records">The job's records: relay records and job events.</param>
/// <param name="Job">The job as its records describe it.</param>
/// <param name="Traffic">What crossed the boundary.</param>
/// <param name="PartyReports">Every state a party reported, with its summary, in log order.</param>
/// <param name="Events">The job's events in log order (relay records are summed in <paramref name="Traffic"/>).</param>
/// <param name="Privacy">The privacy figures the log holds.</param>
public sealed record AuditJobReport(string JobId, string AuditLog, DateTimeOffset GeneratedAt, AuditVerification Chain,
    long Records, AuditReportJob Job, AuditTraffic Traffic, IReadOnlyList<AuditPartyReport> PartyReports,
    IReadOnlyList<AuditJobEvent> Events, AuditPrivacyFigures Privacy)
{
    /// <summary>Builds the report of <paramref name="jobId"/> from the audit log at <paramref name="sqlitePath"/> (read-only).</summary>
    /// <exception cref="FileNotFoundException">The log does not exist.</exception>
    /// <exception cref="KeyNotFoundException">The log has no record of the job; the message lists the jobs it has.</exception>
    public static AuditJobReport Build(string sqlitePath, string jobId, DateTimeOffset? now = null) =>
        AuditReportBuilder.Build(sqlitePath, jobId, now ?? DateTimeOffset.UtcNow);
}

/// <summary>The job as its records describe it.</summary>
/// <param name="Kind">Job kind from the <c>created</c> event; null when not recorded.</param>
/// <param name="State">The last state recorded (<c>state</c>, <c>stopped</c> and <c>party-lost</c> events); null when none.</param>
/// <param name="Created">Time of the <c>created</c> event.</param>
/// <param name="CreatedBy">Who created it (an operator's party id, or the coordinator for a retry).</param>
/// <param name="RetryOf">The attempt this job retries, when it is a retry.</param>
/// <param name="Parameters">The job's parameters as recorded; null when the log does not hold them.</param>
/// <param name="Parties">The parties of the job, by role.</param>
public sealed record AuditReportJob(string? Kind, string? State, DateTimeOffset? Created, string? CreatedBy, string? RetryOf,
    IReadOnlyDictionary<string, string>? Parameters, IReadOnlyList<AuditReportParty> Parties);

/// <summary>One party of the job.</summary>
/// <param name="Role"><c>music</c> (M) or <c>external</c> (E).</param>
/// <param name="PartyId">The party id the coordinator recorded.</param>
/// <param name="CertificateFingerprint">SHA-256 fingerprint of its pinned certificate; null when not recorded.</param>
public sealed record AuditReportParty(string Role, string PartyId, string? CertificateFingerprint);

/// <summary>Relayed messages of one message type in one direction.</summary>
/// <param name="Direction"><c>M->E</c> or <c>E->M</c> (or <c>sender->receiver</c> when the parties' roles are not recorded).</param>
/// <param name="Sender">Sending party id.</param>
/// <param name="Receiver">Receiving party id.</param>
/// <param name="MessageType">Protocol message type.</param>
/// <param name="Messages">Relay records.</param>
/// <param name="Bytes">Sum of their sealed payload sizes.</param>
/// <param name="First">Time of the first.</param>
/// <param name="Last">Time of the last.</param>
public sealed record AuditTrafficRow(string Direction, string Sender, string Receiver, string MessageType, long Messages, long Bytes,
    DateTimeOffset First, DateTimeOffset Last);

/// <summary>All relayed messages in one direction.</summary>
/// <param name="Direction"><c>M->E</c> or <c>E->M</c>.</param>
/// <param name="Sender">Sending party id.</param>
/// <param name="Receiver">Receiving party id.</param>
/// <param name="Messages">Relay records.</param>
/// <param name="Bytes">Sum of their sealed payload sizes.</param>
public sealed record AuditDirectionTotal(string Direction, string Sender, string Receiver, long Messages, long Bytes);

/// <summary>What crossed the boundary: the job's relay records, summed.</summary>
/// <param name="ByType">Per direction and message type, ordered by direction, then first time.</param>
/// <param name="ByDirection">Per direction.</param>
/// <param name="Messages">All relay records of the job.</param>
/// <param name="Bytes">Their sealed payload bytes.</param>
/// <param name="First">Time of the first relay record; null when none.</param>
/// <param name="Last">Time of the last relay record; null when none.</param>
/// <param name="ReplaysDropped">Messages the relay dropped as replays (<c>relay-dropped</c> events); they did not reach the peer.</param>
public sealed record AuditTraffic(IReadOnlyList<AuditTrafficRow> ByType, IReadOnlyList<AuditDirectionTotal> ByDirection,
    long Messages, long Bytes, DateTimeOffset? First, DateTimeOffset? Last, long ReplaysDropped);

/// <summary>A state a party reported (a <c>party-state</c> event).</summary>
/// <param name="Index">The record.</param>
/// <param name="Time">When it was recorded.</param>
/// <param name="PartyId">The party.</param>
/// <param name="State">The state it reported.</param>
/// <param name="Summary">Its one-line summary (counts, timings, ε; never data).</param>
/// <param name="Failure">Its failure kind, for a failure.</param>
public sealed record AuditPartyReport(long Index, DateTimeOffset Time, string PartyId, string State, string Summary, string? Failure);

/// <summary>One job event.</summary>
/// <param name="Index">The record.</param>
/// <param name="Time">When it was recorded.</param>
/// <param name="Event">The event's name (<c>created</c>, <c>state</c>, <c>party-state</c>, ...).</param>
/// <param name="Details">The event's details as recorded (a JSON object).</param>
public sealed record AuditJobEvent(long Index, DateTimeOffset Time, string Event, string Details);

/// <summary>A figure and where in the log it came from; <see cref="Value"/> null: not recorded.</summary>
/// <param name="Value">The figure as recorded.</param>
/// <param name="Source">Where it came from, or why it is not recorded.</param>
public sealed record AuditFigure(string? Value, string Source);

/// <summary>CKKS parameters and their security level under the HomomorphicEncryption.org standard.</summary>
/// <param name="PolyModulusDegree">N; null when not recorded.</param>
/// <param name="ModulusBits">log Q, the bits of the whole modulus (special prime included); null when not recorded.</param>
/// <param name="Classical128">True when log Q is within the standard's bound for N at 128-bit classical security; null when not known.</param>
/// <param name="Source">Where the parameters came from, or that they are not recorded.</param>
public sealed record AuditCkksFigures(int? PolyModulusDegree, int? ModulusBits, bool? Classical128, string Source);

/// <summary>The privacy figures the log holds.</summary>
/// <param name="Epsilon">ε of label DP, from the music party's report.</param>
/// <param name="Delta">δ of label DP, from the music party's report.</param>
/// <param name="Ckks">CKKS parameters.</param>
/// <param name="DecoyFactor">Decoy factor of an <c>infer</c> job (parameter <c>decoyFactor</c>); null for other kinds.</param>
/// <param name="EvaluationDecoys">Decoys per wanted user in a <c>train</c> job's evaluation (parameter <c>evaluationDecoys</c>); null for other kinds.</param>
/// <param name="Insecure">The job's <c>insecure</c> parameter flags as recorded.</param>
/// <param name="InsecureNotices">Party summaries that say INSECURE.</param>
/// <param name="Budget">The partner's label-DP budget after this job's last ledger event (the coordinator's
/// <c>privacy-*</c> events); null for jobs without one.</param>
public sealed record AuditPrivacyFigures(AuditFigure Epsilon, AuditFigure Delta, AuditCkksFigures Ckks, AuditFigure? DecoyFactor,
    AuditFigure? EvaluationDecoys, IReadOnlyList<string> Insecure, IReadOnlyList<string> InsecureNotices, AuditFigure? Budget = null);

/// <summary>
/// The HomomorphicEncryption.org security standard's table (ternary secret, error σ = 3.2): the largest log Q per
/// ring degree N for 128-bit classical security.
/// </summary>
public static class HeSecurityStandard
{
    /// <summary>N → largest log Q at 128-bit classical security.</summary>
    public static IReadOnlyDictionary<int, int> Classical128MaxModulusBits { get; } = new SortedDictionary<int, int>
    {
        [2048] = 54, [4096] = 109, [8192] = 218, [16384] = 438, [32768] = 881,
    };

    /// <summary>True when <paramref name="modulusBits"/> is within the bound for <paramref name="n"/>; null when the table has no such N.</summary>
    public static bool? IsClassical128(int n, int modulusBits) =>
        Classical128MaxModulusBits.TryGetValue(n, out var max) ? modulusBits <= max : null;
}

internal static partial class AuditReportBuilder
{
    private const string NotRecorded = "not recorded";

    // M's train summary: "ε 70.68 (δ 1e-5)" (ε - (δ -) without label DP).
    private static Regex PrivacySpent() => PrivacySummary.Pattern();

    [GeneratedRegex(@"CKKS N (?<n>[0-9]{1,7}), log Q (?<q>[0-9]{1,5})")]
    private static partial Regex CkksParameters();

    public static AuditJobReport Build(string sqlitePath, string jobId, DateTimeOffset now)
    {
        var path = Path.GetFullPath(sqlitePath);
        var records = AuditReader.ReadJob(path, jobId);
        if (records.Count == 0)
        {
            var known = AuditReader.JobIds(path);
            throw new KeyNotFoundException(known.Count == 0
                ? $"job '{jobId}' is not in audit log '{path}': the log has no jobs"
                : $"job '{jobId}' is not in audit log '{path}'; the log has {known.Count} job(s): {Listed(known)}");
        }
        var chain = AuditVerifier.Verify(path);

        var events = new List<AuditJobEvent>();
        var reports = new List<AuditPartyReport>();
        string? kind = null, state = null, createdBy = null, retryOf = null, music = null, external = null;
        string? musicFingerprint = null, externalFingerprint = null;
        DateTimeOffset? created = null;
        Dictionary<string, string>? parameters = null;
        long dropped = 0;
        var relays = new List<AuditRecord>();
        foreach (var record in records)
        {
            var e = record.Entry;
            if (e.Kind == AuditEntry.RelayKind)
            {
                relays.Add(record);
                continue;
            }
            using var details = ParseDetails(e.Details);
            var root = details.RootElement;
            var name = Text(root, "event") ?? "(no event name)";
            events.Add(new AuditJobEvent(record.Index, record.Time, name, e.Details ?? "{}"));
            switch (name)
            {
                case "created" when created is null:
                    created = record.Time;
                    kind = Text(root, "kind");
                    createdBy = Text(root, "operator");
                    retryOf = Text(root, "retryOf");
                    music = Text(root, "music");
                    external = Text(root, "external");
                    if (root.TryGetProperty("fingerprints", out var fingerprints) && fingerprints.ValueKind == JsonValueKind.Object)
                    {
                        musicFingerprint = Text(fingerprints, "music");
                        externalFingerprint = Text(fingerprints, "external");
                    }
                    if (root.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object)
                        parameters = p.EnumerateObject().ToDictionary(x => x.Name, x => x.Value.ValueKind == JsonValueKind.String ? x.Value.GetString()! : x.Value.GetRawText(), StringComparer.Ordinal);
                    state ??= "Pending";
                    break;
                case "state":
                    state = Text(root, "state") ?? state;
                    break;
                case "stopped":
                    state = "Stopped";
                    break;
                case "party-lost":
                    state = Text(root, "state") ?? state;
                    break;
                case "relay-dropped":
                    dropped++;
                    break;
                case "party-state":
                    reports.Add(new AuditPartyReport(record.Index, record.Time, Text(root, "party") ?? "?", Text(root, "state") ?? "?",
                        Text(root, "summary") ?? "", Text(root, "failure")));
                    break;
            }
        }

        var parties = new List<AuditReportParty>();
        if (music is not null) parties.Add(new AuditReportParty("music", music, musicFingerprint));
        if (external is not null) parties.Add(new AuditReportParty("external", external, externalFingerprint));
        string Direction(string sender, string receiver) =>
            sender == music && receiver == external ? "M->E"
            : sender == external && receiver == music ? "E->M"
            : $"{sender}->{receiver}";

        var byType = relays
            .GroupBy(r => (Sender: r.Entry.Sender ?? "?", Receiver: r.Entry.Receiver ?? "?", Type: r.Entry.MessageType ?? "?"))
            .Select(g => new AuditTrafficRow(Direction(g.Key.Sender, g.Key.Receiver), g.Key.Sender, g.Key.Receiver, g.Key.Type,
                g.LongCount(), g.Sum(r => r.Entry.PayloadBytes ?? 0), g.Min(r => r.Time), g.Max(r => r.Time)))
            .OrderBy(r => DirectionOrder(r.Direction)).ThenBy(r => r.Direction, StringComparer.Ordinal).ThenBy(r => r.First).ThenBy(r => r.MessageType, StringComparer.Ordinal)
            .ToList();
        var byDirection = byType
            .GroupBy(r => (r.Direction, r.Sender, r.Receiver))
            .Select(g => new AuditDirectionTotal(g.Key.Direction, g.Key.Sender, g.Key.Receiver, g.Sum(r => r.Messages), g.Sum(r => r.Bytes)))
            .OrderBy(d => DirectionOrder(d.Direction)).ThenBy(d => d.Direction, StringComparer.Ordinal)
            .ToList();
        var traffic = new AuditTraffic(byType, byDirection, relays.Count, relays.Sum(r => r.Entry.PayloadBytes ?? 0),
            relays.Count == 0 ? null : relays.Min(r => r.Time), relays.Count == 0 ? null : relays.Max(r => r.Time), dropped);

        var job = new AuditReportJob(kind, state, created, createdBy, retryOf, parameters, parties);
        return new AuditJobReport(jobId, path, now.ToUniversalTime(), chain, records.Count, job, traffic, reports, events,
            Privacy(job, music, reports) with { Budget = LedgerFigure(records) });
    }

    /// <summary>The last privacy-ledger event of the job: its partner, the run's state, what is charged and left.</summary>
    private static AuditFigure? LedgerFigure(IReadOnlyList<AuditRecord> records)
    {
        foreach (var record in records.Reverse())
        {
            if (record.Entry.Kind != AuditEntry.JobKind || record.Entry.Details is not { } details || !details.Contains("\"privacy-", StringComparison.Ordinal)) continue;
            using var json = System.Text.Json.JsonDocument.Parse(details);
            var root = json.RootElement;
            string Get(string name) => root.TryGetProperty(name, out var v) ? v.ValueKind switch
            {
                System.Text.Json.JsonValueKind.Number => v.GetDouble().ToString("0.####", CultureInfo.InvariantCulture),
                System.Text.Json.JsonValueKind.String => v.GetString() ?? "",
                System.Text.Json.JsonValueKind.Null => "unlimited",
                _ => v.ToString(),
            } : "not recorded";
            var name = Get("event");
            var value = $"partner {Get("partner")}: budget ε {Get("budget")}, charged {Get("charged")}, left {Get("left")}" +
                (name == "privacy-reserved" ? $" (this job's cap {Get("cap")} reserved)" : name == "privacy-charged" ? $" (this job charged ε {Get("epsilon")})" : " (this job's reservation released)");
            return new AuditFigure(value, $"the coordinator's {name} event, record {record.Index.ToString(CultureInfo.InvariantCulture)}");
        }
        return null;
    }

    private static AuditPrivacyFigures Privacy(AuditReportJob job, string? music, IReadOnlyList<AuditPartyReport> reports)
    {
        // ε and δ: the music party's last report that states them (its completion summary).
        AuditFigure epsilon = new(null, NotRecorded + " (no party report of this job states ε)");
        AuditFigure delta = new(null, NotRecorded + " (no party report of this job states δ)");
        foreach (var report in reports.Reverse())
        {
            if (music is not null && report.PartyId != music) continue;
            var match = PrivacySpent().Match(report.Summary);
            if (!match.Success) continue;
            var source = $"{report.PartyId}'s {report.State} report, record {report.Index.ToString(CultureInfo.InvariantCulture)}";
            var (e, d) = (match.Groups["epsilon"].Value, match.Groups["delta"].Value);
            epsilon = e == "-" ? new AuditFigure(null, $"{NotRecorded}: {source} states no ε (label DP off)") : new AuditFigure(e, source);
            delta = d == "-" ? new AuditFigure(null, $"{NotRecorded}: {source} states no δ (label DP off)")
                : double.TryParse(d, NumberStyles.Float, CultureInfo.InvariantCulture, out var dv) && dv == 0 && e != "-"
                    ? new AuditFigure(d, source + "; a δ of 0 with a finite ε is a rounded figure, not the δ the accountant used")
                    : new AuditFigure(d, source);
            break;
        }

        // CKKS: what each party's report states it used (both must agree; a disagreement is shown, not resolved).
        var stated = reports
            .Select(r => (Report: r, Match: CkksParameters().Match(r.Summary)))
            .Where(p => p.Match.Success)
            .Select(p => (p.Report, N: int.Parse(p.Match.Groups["n"].Value, CultureInfo.InvariantCulture), Q: int.Parse(p.Match.Groups["q"].Value, CultureInfo.InvariantCulture)))
            .ToList();
        AuditCkksFigures ckks;
        if (stated.Count == 0)
            ckks = new AuditCkksFigures(null, null, null,
                NotRecorded + ": no party report of this job states N and log Q (the coordinator relays sealed bytes only)");
        else if (stated.Select(p => (p.N, p.Q)).Distinct().Count() > 1)
            ckks = new AuditCkksFigures(null, null, null, "the parties' reports disagree: " +
                string.Join("; ", stated.Select(p => $"{p.Report.PartyId} states N {p.N}, log Q {p.Q} (record {p.Report.Index.ToString(CultureInfo.InvariantCulture)})")));
        else
        {
            var (n, q) = (stated[0].N, stated[0].Q);
            ckks = new AuditCkksFigures(n, q, HeSecurityStandard.IsClassical128(n, q),
                "stated by " + string.Join(", ", stated.Select(p => $"{p.Report.PartyId} (record {p.Report.Index.ToString(CultureInfo.InvariantCulture)})").Distinct()));
        }

        var parametersNote = job.Parameters is null ? " (the log holds no parameters for this job)" : " (the parameter is not set)";
        AuditFigure? Parameter(string name) =>
            job.Parameters is not null && job.Parameters.TryGetValue(name, out var v)
                ? new AuditFigure(v, $"job parameter '{name}'")
                : new AuditFigure(null, NotRecorded + parametersNote);
        var decoyFactor = job.Kind == "infer" ? Parameter("decoyFactor") : null;
        var evaluationDecoys = job.Kind == "train" ? Parameter("evaluationDecoys") : null;

        var insecure = job.Parameters is not null && job.Parameters.TryGetValue("insecure", out var flags)
            ? flags.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];
        var notices = reports.Where(r => r.Summary.Contains("INSECURE", StringComparison.Ordinal))
            .Select(r => $"{r.PartyId} ({r.State}, record {r.Index.ToString(CultureInfo.InvariantCulture)}): {r.Summary}")
            .ToList();
        return new AuditPrivacyFigures(epsilon, delta, ckks, decoyFactor, evaluationDecoys, insecure, notices);
    }

    private static int DirectionOrder(string direction) => direction switch { "M->E" => 0, "E->M" => 1, _ => 2 };

    private static string Listed(IReadOnlyList<string> jobs, int max = 20) =>
        jobs.Count <= max ? string.Join(", ", jobs) : $"{string.Join(", ", jobs.Take(max))} and {jobs.Count - max} more";

    private static JsonDocument ParseDetails(string? details)
    {
        try
        {
            var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(details) ? "{}" : details);
            if (document.RootElement.ValueKind == JsonValueKind.Object) return document;
            document.Dispose();
        }
        catch (JsonException)
        {
        }
        return JsonDocument.Parse("{}");
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Null or JsonValueKind.Undefined => null,
                _ => v.GetRawText(),
            }
            : null;
}
