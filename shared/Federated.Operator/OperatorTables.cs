using Federated.Transport.V1;
using Spectre.Console;

namespace Federated.Operator;

/// <summary>The console tables every operator tool prints: parties, jobs and the parties' reports of a job.</summary>
public static class OperatorTables
{
    /// <summary>Enrolled parties with role, pinned fingerprint, revoked flag, presence and job kinds.</summary>
    public static Table Parties(IEnumerable<PartyInfo> parties)
    {
        var table = new Table().AddColumns("party", "role", "fingerprint", "expires", "revoked", "online", "last seen", "job kinds");
        foreach (var p in parties)
        {
            var fingerprint = p.CertificateFingerprint[..16] + "…";
            if (!string.IsNullOrEmpty(p.PreviousFingerprint))
                fingerprint += $"\n(previous {p.PreviousFingerprint[..16]}… until {p.PreviousRetiresAt?.ToDateTimeOffset().ToString("u")})";
            table.AddRow(Markup.Escape(p.PartyId), p.Role.ToString().Replace("PartyRole", "", StringComparison.Ordinal), Markup.Escape(fingerprint),
                p.CertificateNotAfter?.ToDateTimeOffset().ToString("u") ?? "-",
                p.Revoked ? "[red]yes[/]" : "no", p.Online ? "[green]yes[/]" : "no",
                p.LastSeen?.ToDateTimeOffset().ToString("u") ?? "-", Markup.Escape(string.Join(", ", p.SupportedJobKinds)));
        }
        return table;
    }

    /// <summary>Each party's one-line report of a job.</summary>
    public static Table Reports(JobInfo job)
    {
        var reports = new Table().Title("party reports").AddColumns("party", "report");
        foreach (var p in job.Parties)
            reports.AddRow(Markup.Escape(p.PartyId), Markup.Escape($"{JobWaits.StateText(p.State)}{(p.Failure == FailureKind.Unspecified ? "" : $" ({p.Failure})")}: {p.Summary}"));
        return reports;
    }

    public static Table Jobs(IEnumerable<JobInfo> jobs)
    {
        var table = new Table().AddColumns("job", "kind", "state", "parties", "relayed", "dropped (replay / stale)", "generation");
        foreach (var j in jobs)
        {
            var state = JobWaits.StateText(j.State);
            var colour = j.State switch { JobState.Completed => "green", JobState.Failed => "red", JobState.Stopped => "yellow", _ => "blue" };
            table.AddRow(
                new Markup(Markup.Escape(j.JobId)), new Markup(Markup.Escape(j.Kind)), new Markup($"[{colour}]{state}[/]"),
                new Markup(Markup.Escape(string.Join("\n", j.Parties.Select(p => $"{p.PartyId}: {JobWaits.StateText(p.State)}")))),
                new Markup(j.Relay is null ? "-" : $"{j.Relay.MessagesRelayed} msgs, {j.Relay.BytesRelayed / 1024.0 / 1024.0:0.00} MiB\n(consumed: music {j.Relay.ConsumedByMusic}, external {j.Relay.ConsumedByExternal})"),
                new Markup(j.Relay is null ? "-" : $"{j.Relay.OldSequenceDropped} / {j.Relay.StaleGenerationDropped}"),
                new Markup(j.Relay is null ? "-" : j.Relay.SessionGeneration.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        return table;
    }

    /// <summary>Job definitions: kind, parties, schedule, next slot and the last run's state.</summary>
    public static Table Definitions(IEnumerable<JobDefinitionInfo> definitions)
    {
        var table = new Table().AddColumns("definition", "kind", "parties", "schedule", "misfire", "next slot", "last run");
        foreach (var d in definitions)
        {
            var schedule = d.Cron.Length == 0 ? "on demand" : d.TimeZone is "" or "UTC" ? d.Cron : $"{d.Cron} ({d.TimeZone})";
            var last = d.LastRun is { } r ? $"{RunStateMarkup(r.State)} {Markup.Escape(r.Slot?.ToDateTimeOffset().ToString("u") ?? "on demand")}" : "-";
            table.AddRow(
                new Markup(Markup.Escape(d.Name) + (d.Enabled ? "" : " [yellow](disabled)[/]")), new Markup(Markup.Escape(d.Kind)),
                new Markup(Markup.Escape($"{d.MusicPartyId}, {d.ExternalPartyId}")), new Markup(Markup.Escape(schedule)),
                new Markup(Markup.Escape(d.Misfire)), new Markup(d.NextSlot?.ToDateTimeOffset().ToString("u") ?? "-"), new Markup(last));
        }
        return table;
    }

    /// <summary>A definition's runs, newest first: slot, trigger, job, state, reason, finished.</summary>
    public static Table Runs(IEnumerable<ScheduledRunInfo> runs)
    {
        var table = new Table().AddColumns("slot", "trigger", "job", "state", "reason", "finished");
        foreach (var r in runs)
            table.AddRow(
                new Markup(r.Slot?.ToDateTimeOffset().ToString("u") ?? "(on demand)"), new Markup(Markup.Escape(r.Trigger)),
                new Markup(Markup.Escape(r.JobId.Length == 0 ? "-" : r.JobId)), new Markup(RunStateMarkup(r.State)),
                new Markup(Markup.Escape(r.Reason.Length == 0 ? "-" : r.Reason)), new Markup(r.Finished?.ToDateTimeOffset().ToString("u") ?? "-"));
        return table;
    }

    public static string RunStateText(ScheduledRunState state) =>
        state.ToString().ToLowerInvariant();

    private static string RunStateMarkup(ScheduledRunState state)
    {
        var colour = state switch
        {
            ScheduledRunState.Completed => "green",
            ScheduledRunState.Failed => "red",
            ScheduledRunState.Stopped or ScheduledRunState.Skipped => "yellow",
            _ => "blue",
        };
        return $"[{colour}]{RunStateText(state)}[/]";
    }
}
