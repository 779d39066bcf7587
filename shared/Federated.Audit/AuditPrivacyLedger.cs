using System.Text.Json;

namespace Federated.Audit;

/// <summary>One training run as the privacy events of the audit log leave it.</summary>
public sealed record AuditPrivacyRun(string TrainingRun, string Partner, string State, double? Cap, double? Epsilon, string LastJob, long LastRecord);

/// <summary>A partner's label-DP budget as the audit log states it.</summary>
public sealed record AuditPrivacyPartner(string Partner, double? Budget, double Charged, double Reserved, IReadOnlyList<AuditPrivacyRun> Runs)
{
    /// <summary>What is left of the budget (never negative); null when the partner's budget is not limited.</summary>
    public double? Left => Budget is { } b ? Math.Max(0, b - Charged - Reserved) : null;
}

/// <summary>
/// The coordinator's privacy ledger recomputed from the audit log alone (its <c>privacy-reserved</c>,
/// <c>privacy-charged</c> and <c>privacy-released</c> events), so an auditor can check the budget of every partner
/// without the coordinator's own database. A reserved run counts its whole cap, a charged run the ε M stated.
/// </summary>
public static class AuditPrivacyLedger
{
    /// <summary>Every partner with a privacy event in the log at <paramref name="sqlitePath"/>, by partner id.</summary>
    public static IReadOnlyList<AuditPrivacyPartner> Read(string sqlitePath)
    {
        var runs = new Dictionary<string, AuditPrivacyRun>(StringComparer.Ordinal);
        var budgets = new Dictionary<string, double?>(StringComparer.Ordinal);
        long from = 1;
        while (true)
        {
            var batch = AuditReader.Read(sqlitePath, from, 10_000);
            if (batch.Count == 0) break;
            foreach (var record in batch)
            {
                from = record.Index + 1;
                if (record.Entry.Kind != AuditEntry.JobKind || record.Entry.Details is not { } details || !details.Contains("\"privacy-", StringComparison.Ordinal)) continue;
                using var json = JsonDocument.Parse(details);
                var root = json.RootElement;
                var name = root.TryGetProperty("event", out var e) ? e.GetString() : null;
                if (name is not ("privacy-reserved" or "privacy-charged" or "privacy-released")) continue;
                var run = Text(root, "trainingRun");
                var partner = Text(root, "partner");
                if (run is null || partner is null) continue;
                budgets[partner] = Number(root, "budget");
                runs.TryGetValue(run, out var previous);
                runs[run] = name switch
                {
                    "privacy-reserved" => new AuditPrivacyRun(run, partner, "reserved", Number(root, "cap"), null, record.Entry.JobId, record.Index),
                    "privacy-charged" => new AuditPrivacyRun(run, partner, "charged", previous?.Cap, Number(root, "epsilon"), record.Entry.JobId, record.Index),
                    _ => new AuditPrivacyRun(run, partner, "released", previous?.Cap, 0, record.Entry.JobId, record.Index),
                };
            }
        }
        return [.. runs.Values.GroupBy(r => r.Partner, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new AuditPrivacyPartner(g.Key, budgets.GetValueOrDefault(g.Key),
                g.Where(r => r.State == "charged").Sum(r => r.Epsilon ?? 0),
                g.Where(r => r.State == "reserved").Sum(r => r.Cap ?? 0),
                [.. g.OrderBy(r => r.LastRecord)]))];
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static double? Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}
