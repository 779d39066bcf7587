using Federated.Audit;
using Federated.Coordinator.Jobs;
using Federated.Coordinator.Privacy;
using Federated.Coordinator.Registry;
using Federated.Coordinator.Relay;
using Federated.Hosting;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator.Dashboard;

// What the dashboard's JSON API returns: metadata the coordinator holds (ids, states, counts, sizes, hashes, times,
// certificate subjects and fingerprints). Never a payload, a feature value, a label or key material.

public sealed record DashboardCaller(string Name, string Role, string Credential, bool CanRollback);

public sealed record PartyView(string PartyId, string Role, bool Online, bool Revoked, DateTimeOffset? LastSeen, DateTimeOffset EnrolledAt,
    string Fingerprint, IReadOnlyList<string> JobKinds, string? CertificateSubject, DateTimeOffset? CertificateNotAfter, double? CertificateDaysLeft);

public sealed record PartiesView(PartyView Coordinator, IReadOnlyList<PartyView> Parties);

public sealed record JobPartyView(string PartyId, string State, string Summary, int Starts, string? Failure);

public sealed record JobView(string JobId, string Kind, string State, string MusicPartyId, string ExternalPartyId, DateTimeOffset Created,
    DateTimeOffset? Finished, string Reason, IReadOnlyDictionary<string, string> Parameters, IReadOnlyList<JobPartyView> Parties,
    JobRelayProgress? Progress, long MessagesRelayed, long BytesRelayed);

public sealed record MetricRow(string Name, string Value, string Source);

public sealed record JobDetailView(JobView Job, IReadOnlyList<MetricRow> Metrics, AuditTraffic? Traffic, IReadOnlyList<AuditPartyReport> PartyReports,
    IReadOnlyList<string> Plots, ModelVersionView? ModelVersion, string? ReportProblem);

public sealed record PrivacyPartnerView(string ExternalPartyId, double? Budget, double Charged, double Reserved, double? Left);

public sealed record PrivacyEntryView(string Key, string MusicPartyId, string ExternalPartyId, string FirstJob, double? Cap, double? Spent,
    double? Delta, string State, DateTimeOffset Updated);

/// <summary>A job definition and its newest runs (rounds); parameters are not shown (the audit log records them, redacted).</summary>
public sealed record ScheduleView(string Name, string Kind, string MusicPartyId, string ExternalPartyId, string? Schedule, string Misfire,
    bool Enabled, int Revision, DateTimeOffset Submitted, DateTimeOffset? NextSlot, IReadOnlyList<RoundView> Runs);

public sealed record RoundView(string RunId, string State, string Trigger, DateTimeOffset? Slot, string? JobId, string Reason,
    DateTimeOffset Created, DateTimeOffset? Finished);

public sealed record PrivacyView(IReadOnlyList<PrivacyPartnerView> Partners, IReadOnlyList<PrivacyEntryView> Entries, double? WarnEpsilon);

public sealed record AuditRecordView(long Index, DateTimeOffset Time, string Kind, string JobId, string? MessageType, string? Sender,
    string? Receiver, ulong? Sequence, long? PayloadBytes, string? PayloadSha256, string? Details, string Hash);

public sealed record AuditSearchView(long Total, int Matched, IReadOnlyList<AuditRecordView> Records);

public sealed record AuditVerifyView(bool IsValid, long RecordsChecked, long? FirstBadIndex, string? Problem, string? HeadHash, DateTimeOffset CheckedAt);

/// <summary>Builds the dashboard's views from the coordinator's registry, jobs, relay, privacy ledger and audit log.</summary>
public sealed class DashboardData(PartyRegistry registry, JobStore jobs, RelayHub relay, RelayProgress progress,
    PrivacyLedger privacy, AuditTrail audit, TlsIdentity identity, IOptions<CoordinatorOptions> options, TimeProvider time,
    Federated.Scheduling.ScheduleStore schedules)
{
    /// <summary>Every stored job definition with its next slot and its newest <paramref name="runs"/> runs.</summary>
    public IReadOnlyList<ScheduleView> Schedules(int runs)
    {
        var now = time.GetUtcNow();
        return schedules.Definitions().Select(d =>
        {
            var definition = d.Definition;
            var next = d.Enabled ? definition.Schedule?.Next(d.Horizon > now ? d.Horizon : now) : null;
            return new ScheduleView(d.Name, definition.Kind, definition.MusicParty, definition.ExternalParty, definition.Schedule?.ToString(),
                Federated.Scheduling.JobDefinition.MisfireText(definition.Misfire), d.Enabled, d.Revision, d.Submitted, next,
                schedules.Runs(d.Name, runs).Select(r => new RoundView(r.RunId, Federated.Scheduling.ScheduledRun.StateText(r.State),
                    Federated.Scheduling.ScheduledRun.TriggerText(r.Trigger), r.Slot, r.JobId, r.Reason, r.Created, r.Finished)).ToList());
        }).ToList();
    }

    public PartiesView Parties()
    {
        var now = time.GetUtcNow();
        var own = identity.Certificate;
        var notAfter = new DateTimeOffset(own.NotAfter.ToUniversalTime());
        var coordinator = new PartyView(identity.PartyId, identity.Role.ToString(), true, false, now, now, identity.Fingerprint, [],
            own.Subject, notAfter, Math.Round((notAfter - now).TotalDays, 1));
        var parties = registry.List().Select(p =>
        {
            var certificate = registry.FindCertificate(p.Fingerprint);
            var online = p.LastSeen is { } seen && now - seen < TimeSpan.FromSeconds(options.Value.OfflineAfterSeconds) && !p.Revoked
                && p.Role is Federated.Security.PartyRole.Music or Federated.Security.PartyRole.External;
            return new PartyView(p.PartyId, p.Role.ToString(), online, p.Revoked, p.LastSeen, p.EnrolledAt, p.Fingerprint, p.SupportedJobKinds,
                certificate?.Subject, certificate?.NotAfter, certificate?.NotAfter is { } expires ? Math.Round((expires - now).TotalDays, 1) : null);
        }).ToList();
        return new PartiesView(coordinator, parties);
    }

    public IReadOnlyList<JobView> Jobs(int max) => jobs.List(max).Select(View).ToList();

    public JobView? Job(string jobId) => jobs.Find(new Core.Jobs.AttemptId(jobId)) is { } job ? View(job) : null;

    private JobView View(JobRecord job)
    {
        var stats = relay.Stats(job.Attempt.Value, job.MusicPartyId);
        return new JobView(job.Attempt.Value, job.Kind, job.State.ToString(), job.MusicPartyId, job.ExternalPartyId, job.Created, job.Finished,
            job.Reason, AuditTrail.RecordedParameters(job.Parameters),
            job.Parties.OrderBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => new JobPartyView(p.Key, p.Value.State.ToString(), p.Value.Summary, p.Value.Starts,
                    p.Value.Failure == Transport.V1.FailureKind.Unspecified ? null : p.Value.Failure.ToString())).ToList(),
            progress.Of(job.Attempt.Value), (long)(stats?.MessagesRelayed ?? 0), (long)(stats?.BytesRelayed ?? 0));
    }

    /// <summary>A job with its report's figures (from the audit log) and, for a train job, the model version M published from it.</summary>
    public JobDetailView? Detail(string jobId, ModelVersionView? version)
    {
        if (Job(jobId) is not { } job)
            return null;
        AuditJobReport report;
        try
        {
            report = AuditJobReport.Build(audit.Path, jobId, time.GetUtcNow());
        }
        catch (Exception e) when (e is KeyNotFoundException or FileNotFoundException or InvalidDataException)
        {
            return new JobDetailView(job, [], null, [], [], version, e.Message);
        }
        var metrics = new List<MetricRow>
        {
            new("state", job.State, "job"),
            new("duration (s)", job.Finished is { } f ? Format((f - job.Created).TotalSeconds) : "running", "job"),
            new("audit records", report.Records.ToString(System.Globalization.CultureInfo.InvariantCulture), "audit log"),
            new("messages relayed", report.Traffic.Messages.ToString(System.Globalization.CultureInfo.InvariantCulture), "audit log"),
            new("bytes relayed", report.Traffic.Bytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "audit log"),
            new("replays dropped", report.Traffic.ReplaysDropped.ToString(System.Globalization.CultureInfo.InvariantCulture), "audit log"),
            new("ε (label DP)", report.Privacy.Epsilon.Value ?? "not recorded", report.Privacy.Epsilon.Source),
            new("δ", report.Privacy.Delta.Value ?? "not recorded", report.Privacy.Delta.Source),
        };
        if (report.Privacy.Ckks.PolyModulusDegree is { } n)
            metrics.Add(new("CKKS N / log Q", $"{n} / {report.Privacy.Ckks.ModulusBits}", report.Privacy.Ckks.Source));
        if (version is not null)
            foreach (var (name, value) in version.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal))
                metrics.Add(new(name, Format(value), $"model version {version.Version} (M)"));
        var plots = report.Traffic.Messages > 0
            ? new[] { $"/api/jobs/{Uri.EscapeDataString(jobId)}/plots/traffic.svg", $"/api/jobs/{Uri.EscapeDataString(jobId)}/plots/timeline.svg" }
            : [];
        return new JobDetailView(job, metrics, report.Traffic, report.PartyReports, plots, version, null);
    }

    private static string Format(double value) => value.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);

    public PrivacyView Privacy()
    {
        var entries = privacy.Entries();
        var partners = options.Value.PrivacyBudgets.Keys
            .Concat(entries.Select(e => e.ExternalPartyId))
            .Concat(registry.List().Where(p => p.Role == Federated.Security.PartyRole.External).Select(p => p.PartyId))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
            .Select(privacy.View)
            .Select(v => new PrivacyPartnerView(v.ExternalPartyId, v.Budget, v.Charged, v.Reserved, v.Left)).ToList();
        return new PrivacyView(partners,
            entries.Select(e => new PrivacyEntryView(e.Key, e.MusicPartyId, e.ExternalPartyId, e.FirstJob, e.Cap, e.Spent, e.Delta, e.State, e.Updated)).ToList(),
            options.Value.WarnEpsilon);
    }

    /// <summary>The last <paramref name="max"/> records matching every given filter (text anywhere in the metadata, job, kind).</summary>
    public AuditSearchView SearchAudit(string? text, string? jobId, string? kind, int max, CancellationToken ct)
    {
        max = Math.Clamp(max, 1, 1000);
        const int page = 5000;
        var matches = new Queue<AuditRecordView>();
        var matched = 0;
        long from = 0, total = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var records = AuditReader.Read(audit.Path, from, page);
            foreach (var r in records)
            {
                total++;
                var e = r.Entry;
                if (!string.IsNullOrEmpty(jobId) && e.JobId != jobId) continue;
                if (!string.IsNullOrEmpty(kind) && e.Kind != kind) continue;
                if (!string.IsNullOrEmpty(text) && !new[] { e.JobId, e.Kind, e.MessageType, e.Sender, e.Receiver, e.Details, e.PayloadSha256, r.Hash }
                        .Any(f => f?.Contains(text, StringComparison.OrdinalIgnoreCase) == true)) continue;
                matched++;
                matches.Enqueue(new AuditRecordView(r.Index, r.Time, e.Kind, e.JobId, e.MessageType, e.Sender, e.Receiver, e.Sequence, e.PayloadBytes,
                    e.PayloadSha256, e.Details, r.Hash));
                if (matches.Count > max) matches.Dequeue();
            }
            if (records.Count < page) break;
            from = records[^1].Index + 1;
        }
        return new AuditSearchView(total, matched, matches.Reverse().ToList());
    }

    public AuditVerifyView VerifyAudit()
    {
        var v = AuditVerifier.Verify(audit.Path);
        return new AuditVerifyView(v.IsValid, v.RecordsChecked, v.FirstBadIndex, v.Problem, v.HeadHash, time.GetUtcNow());
    }

    public IReadOnlyList<AuditRecord> JobRecords(string jobId) => AuditReader.ReadJob(audit.Path, jobId);
}
