using System.Globalization;
using Federated.Audit;
using Federated.Coordinator.Jobs;
using Federated.Core.Jobs;
using Federated.Transport.V1;
using Grpc.Core;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator.Privacy;

/// <summary>One training run's entry in the ledger: what it may spend (its cap), what it did spend, and its state.</summary>
public sealed record PrivacyEntry(string Key, string MusicPartyId, string ExternalPartyId, string FirstJob, double? Cap, double? Spent,
    double? Delta, string State, DateTimeOffset Updated)
{
    public const string Reserved = "reserved";
    public const string Charged = "charged";
    public const string Released = "released";

    /// <summary>What the entry counts against its partner's budget: what it spent, or its whole cap while open (none when uncapped).</summary>
    public double Counted => State switch { Charged => Spent ?? 0, Released => 0, _ => Cap ?? 0 };
}

/// <summary>A partner's budget as the ledger stands.</summary>
public sealed record PrivacyBudgetView(string ExternalPartyId, double? Budget, double Charged, double Reserved)
{
    public double? Left => Budget is { } b ? Math.Max(0, b - Charged - Reserved) : null;
}

/// <summary>
/// The label-DP budget of each partner across jobs and rounds (docs/protocol.md §2.5): every train job between M and an
/// external party E spends ε of M's labels towards E. Before a train job is created, the ledger reserves its cap,
/// <c>min(maxEpsilon, budget left)</c>, and passes it to M as the job's <c>maxEpsilon</c> (M projects the schedule's ε after
/// the alignment and refuses to train above it); a job whose partner has no budget left is refused at creation. When M
/// reports the job completed, the ledger charges the ε M states; when M refuses it with an input error (not retried)
/// and the relay carried no B2 (the noised gradient) for it, the reservation is released; any other failure keeps the
/// whole cap reserved, because the coordinator cannot see how much of it the crossed gradients spent (a retry of the
/// same training run reuses the reservation). Entries live in
/// <c>privacy.db</c> beside the registry, keyed by training job and round, and every change is an audit event
/// (<c>privacy-reserved</c>, <c>privacy-charged</c>, <c>privacy-released</c>) in the hash chain.
/// </summary>
public sealed class PrivacyLedger : IDisposable
{
    public const string TrainKind = "train";
    public const string MaxEpsilonParameter = "maxEpsilon";
    private const double Smallest = 1e-6;

    private readonly object _gate = new();
    private readonly CoordinatorOptions _options;
    private readonly AuditTrail _audit;
    private readonly ILogger<PrivacyLedger> _logger;
    private readonly SqliteConnection _db;
    private readonly Dictionary<string, PrivacyEntry> _entries = new(StringComparer.Ordinal);

    public PrivacyLedger(IOptions<CoordinatorOptions> options, AuditTrail audit, ILogger<PrivacyLedger> logger)
    {
        _options = options.Value;
        _audit = audit;
        _logger = logger;
        var path = _options.PrivacyLedgerPath;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        using (var create = _db.CreateCommand())
        {
            create.CommandText = """
                CREATE TABLE IF NOT EXISTS privacy_ledger (key TEXT PRIMARY KEY, music TEXT NOT NULL, external TEXT NOT NULL,
                  first_job TEXT NOT NULL, cap REAL, spent REAL, delta REAL, state TEXT NOT NULL, updated TEXT NOT NULL);
                """;
            create.ExecuteNonQuery();
        }
        using var select = _db.CreateCommand();
        select.CommandText = "SELECT key, music, external, first_job, cap, spent, delta, state, updated FROM privacy_ledger";
        using var reader = select.ExecuteReader();
        while (reader.Read())
        {
            var entry = new PrivacyEntry(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetDouble(4),
                reader.IsDBNull(5) ? null : reader.GetDouble(5), reader.IsDBNull(6) ? null : reader.GetDouble(6), reader.GetString(7),
                DateTimeOffset.Parse(reader.GetString(8), CultureInfo.InvariantCulture));
            _entries[entry.Key] = entry;
        }
    }

    /// <summary>The budget of a partner (an external party id); null = not limited.</summary>
    public double? BudgetOf(string externalPartyId) =>
        _options.PrivacyBudgets.TryGetValue(externalPartyId, out var b) ? b : _options.DefaultPrivacyBudget;

    public IReadOnlyList<PrivacyEntry> Entries() { lock (_gate) return [.. _entries.Values.OrderBy(e => e.Updated)]; }

    public PrivacyBudgetView View(string externalPartyId)
    {
        lock (_gate) return ViewLocked(externalPartyId, exceptKey: null);
    }

    private PrivacyBudgetView ViewLocked(string externalPartyId, string? exceptKey)
    {
        var mine = _entries.Values.Where(e => e.ExternalPartyId == externalPartyId && e.Key != exceptKey).ToList();
        return new PrivacyBudgetView(externalPartyId, BudgetOf(externalPartyId),
            mine.Where(e => e.State == PrivacyEntry.Charged).Sum(e => e.Spent ?? 0),
            mine.Where(e => e.State == PrivacyEntry.Reserved).Sum(e => e.Cap ?? 0));
    }

    /// <summary>The ledger's key of a train job: its training job (default: the job id) and round.</summary>
    public static string KeyOf(IReadOnlyDictionary<string, string> parameters, string jobId) =>
        $"{parameters.GetValueOrDefault(JobParameterNames.TrainingJob) ?? jobId}/r{parameters.GetValueOrDefault("round") ?? "1"}";

    /// <summary>
    /// Before a train job is created: the parameters it runs with (its <c>maxEpsilon</c> lowered to the budget left), or
    /// a refusal when the partner's budget is spent. Other kinds pass unchanged. Call <see cref="Reserved"/> once the job exists.
    /// </summary>
    public (IReadOnlyDictionary<string, string> Parameters, PrivacyReservation? Reservation) Plan(string kind, IReadOnlyDictionary<string, string> parameters,
        string externalPartyId)
    {
        if (kind != TrainKind) return (parameters, null);
        double? asked = null;
        if (parameters.TryGetValue(MaxEpsilonParameter, out var text))
        {
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v > 0) || !double.IsFinite(v))
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"train job parameter '{MaxEpsilonParameter}' = '{text}' must be a positive number"));
            asked = v;
        }
        var budget = BudgetOf(externalPartyId);
        if (budget is not null && parameters.TryGetValue("insecure", out var insecure)
            && insecure.Split(',', StringSplitOptions.TrimEntries).Contains("no-label-noise", StringComparer.OrdinalIgnoreCase))
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"partner '{externalPartyId}' has a label-DP budget (ε {budget:0.###}); a train job without label DP (insecure=no-label-noise) has no bounded cost and is refused"));
        lock (_gate)
        {
            // A key already in the ledger (the same training run submitted again) keeps its reservation: it is not counted twice.
            string? existingKey = parameters.TryGetValue(JobParameterNames.TrainingJob, out _) ? KeyOf(parameters, "") : null;
            var view = ViewLocked(externalPartyId, existingKey);
            double? cap = asked;
            if (view.Left is { } left)
            {
                if (left < Smallest)
                    throw new RpcException(new Status(StatusCode.FailedPrecondition,
                        $"partner '{externalPartyId}' has no label-DP budget left: ε {view.Charged:0.###} charged and {view.Reserved:0.###} reserved of its budget {view.Budget:0.###} " +
                        "(Coordinator:PrivacyBudgets); a new train job with it is refused"));
                cap = Math.Min(asked ?? double.PositiveInfinity, left);
            }
            if (cap is null) return (parameters, new PrivacyReservation(externalPartyId, null, view, Warning(null)));
            var adjusted = new Dictionary<string, string>(parameters, StringComparer.Ordinal) { [MaxEpsilonParameter] = cap.Value.ToString("R", CultureInfo.InvariantCulture) };
            return (adjusted, new PrivacyReservation(externalPartyId, cap, view, Warning(cap)));
        }
    }

    private string? Warning(double? cap) => _options.WarnEpsilon is { } warn && (cap is null || cap > warn)
        ? $"this train job may spend label-DP ε {(cap is { } c ? "up to " + c.ToString("0.###", CultureInfo.InvariantCulture) : "without a cap")}, above the warning level {warn:0.###} (Coordinator:WarnEpsilon)"
        : null;

    /// <summary>Records the reservation of a train job that was just created.</summary>
    public void Reserved(JobRecord job, PrivacyReservation reservation)
    {
        var key = KeyOf(job.Parameters, job.Attempt.Value);
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var existing) && existing.State == PrivacyEntry.Reserved) return; // the same training run again
            Save(new PrivacyEntry(key, job.MusicPartyId, job.ExternalPartyId, job.Attempt.Value, reservation.Cap, null, null,
                PrivacyEntry.Reserved, DateTimeOffset.UtcNow));
        }
        var facts = new Dictionary<string, object?>
        {
            ["partner"] = job.ExternalPartyId, ["trainingRun"] = key, ["cap"] = reservation.Cap, ["budget"] = reservation.Before.Budget,
            ["charged"] = reservation.Before.Charged, ["reservedOther"] = reservation.Before.Reserved, ["left"] = reservation.Before.Left,
        };
        if (reservation.Warning is { } warning)
        {
            facts["warning"] = warning;
            _logger.LogWarning("Job {JobId}: {Warning}", job.Attempt.Value, warning);
        }
        _audit.JobEvent(job.Attempt.Value, "privacy-reserved", facts);
    }

    /// <summary>A party's report of a train job: M's completion charges the ε it states; M's refusal before training releases.</summary>
    public void OnReport(JobRecord job, string partyId, JobState state, string summary, FailureKind failure)
    {
        if (job.Kind != TrainKind || partyId != job.MusicPartyId) return;
        var key = KeyOf(job.Parameters, job.Attempt.Value); // a retry carries the first attempt's training job
        PrivacyEntry? entry;
        lock (_gate) _entries.TryGetValue(key, out entry);
        if (entry is null || entry.State != PrivacyEntry.Reserved) return;
        if (state == JobState.Completed)
        {
            if (!PrivacySummary.TryParse(summary, out var epsilon, out var delta)) epsilon = delta = null;
            // A summary that states no ε (label DP off, possible only without a budget) is charged its cap, if it had one.
            double spent = epsilon ?? entry.Cap ?? 0;
            Update(entry with { State = PrivacyEntry.Charged, Spent = spent, Delta = delta, Updated = DateTimeOffset.UtcNow }, job, "privacy-charged",
                new Dictionary<string, object?> { ["epsilon"] = spent, ["delta"] = delta, ["stated"] = epsilon is not null });
        }
        else if (state == JobState.Failed && failure == FailureKind.Input && !GradientsCrossed(job))
        {
            // An input error is not retried; with no B2 relayed for this training run, no noisy gradient reached E.
            Update(entry with { State = PrivacyEntry.Released, Spent = 0, Updated = DateTimeOffset.UtcNow }, job, "privacy-released",
                new Dictionary<string, object?> { ["reason"] = $"the music party refused the job ({failure}) and no {GradientMessage} message was relayed" });
        }
    }

    /// <summary>The label-DP noised gradient crosses in B2 (M to E); only a training run that relayed one spent ε.</summary>
    public const string GradientMessage = "train.B2";

    private bool GradientsCrossed(JobRecord job)
    {
        var first = job.Parameters.GetValueOrDefault(JobParameterNames.TrainingJob);
        var attempts = new[] { job.Attempt.Value, job.Parameters.GetValueOrDefault("retryOf"), first }.Where(a => a is not null).Distinct();
        return attempts.Any(id => AuditReader.ReadJob(_audit.Path, id!).Any(r => r.Entry.Kind == AuditEntry.RelayKind && r.Entry.MessageType == GradientMessage));
    }

    private void Update(PrivacyEntry entry, JobRecord job, string eventName, Dictionary<string, object?> facts)
    {
        lock (_gate) Save(entry);
        var view = View(entry.ExternalPartyId);
        facts["partner"] = entry.ExternalPartyId;
        facts["trainingRun"] = entry.Key;
        facts["budget"] = view.Budget;
        facts["charged"] = view.Charged;
        facts["left"] = view.Left;
        _audit.JobEvent(job.Attempt.Value, eventName, facts);
        _logger.LogInformation("Privacy ledger: {Event} for {Key} (partner {Partner}): charged {Charged:0.###}, left {Left}", eventName, entry.Key,
            entry.ExternalPartyId, view.Charged, view.Left?.ToString("0.###", CultureInfo.InvariantCulture) ?? "unlimited");
    }

    private void Save(PrivacyEntry entry)
    {
        using var upsert = _db.CreateCommand();
        upsert.CommandText = """
            INSERT INTO privacy_ledger (key, music, external, first_job, cap, spent, delta, state, updated)
            VALUES ($key, $music, $external, $first, $cap, $spent, $delta, $state, $updated)
            ON CONFLICT(key) DO UPDATE SET cap = $cap, spent = $spent, delta = $delta, state = $state, updated = $updated;
            """;
        upsert.Parameters.AddWithValue("$key", entry.Key);
        upsert.Parameters.AddWithValue("$music", entry.MusicPartyId);
        upsert.Parameters.AddWithValue("$external", entry.ExternalPartyId);
        upsert.Parameters.AddWithValue("$first", entry.FirstJob);
        upsert.Parameters.AddWithValue("$cap", (object?)entry.Cap ?? DBNull.Value);
        upsert.Parameters.AddWithValue("$spent", (object?)entry.Spent ?? DBNull.Value);
        upsert.Parameters.AddWithValue("$delta", (object?)entry.Delta ?? DBNull.Value);
        upsert.Parameters.AddWithValue("$state", entry.State);
        upsert.Parameters.AddWithValue("$updated", entry.Updated.ToString("O", CultureInfo.InvariantCulture));
        upsert.ExecuteNonQuery();
        _entries[entry.Key] = entry;
    }

    public void Dispose() => _db.Dispose();
}

/// <summary>What <see cref="PrivacyLedger.Plan"/> decided for a train job: its cap (null = unlimited), the budget before it, a warning.</summary>
public sealed record PrivacyReservation(string ExternalPartyId, double? Cap, PrivacyBudgetView Before, string? Warning);
