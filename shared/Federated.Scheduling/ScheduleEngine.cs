using System.Globalization;

namespace Federated.Scheduling;

/// <summary>How the coordinator starts and follows a run's job (the scheduler does not know jobs itself).</summary>
public interface IRunLauncher
{
    /// <summary>Why the plan cannot start now (a party offline, not registered, revoked), or null when it can.</summary>
    string? Unready(RunPlan plan);

    /// <summary>Creates the run's job through the coordinator's job path and returns its id; throws <see cref="RunLaunchException"/> when refused.</summary>
    string Launch(ScheduledRun run);

    /// <summary>Where the run's job stands, following the coordinator's retry attempts.</summary>
    RunJobStatus Status(string jobId);
}

/// <summary>A run's job as the coordinator sees it: still active, or finished with its reason and summary.</summary>
public sealed record RunJobStatus(RunState State, string Reason = "", string Summary = "", string? LatestJobId = null)
{
    public static readonly RunJobStatus Active = new(RunState.Running);
}

/// <summary>The coordinator refused to create a run's job (for example a party was revoked after the definition was submitted).</summary>
public sealed class RunLaunchException(string message) : Exception(message);

/// <summary>Where every run transition goes (the coordinator's audit log).</summary>
public interface IRunJournal
{
    void Record(ScheduledRun run, string transition, IReadOnlyDictionary<string, object?> facts);
}

/// <summary>Scheduling settings.</summary>
public sealed record ScheduleEngineOptions
{
    /// <summary>A slot handled within this time after it came due is on time; later, it was missed (the misfire policy applies).</summary>
    public TimeSpan OnTimeWindow { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// The scheduling rules, one pass per <see cref="Tick"/> at the clock's time:
/// <list type="bullet">
/// <item>each due slot of an enabled definition starts one run (its job created through <see cref="IRunLauncher"/>);</item>
/// <item>slots missed while the coordinator was not running give ONE run (<see cref="MisfirePolicy.RunOnce"/>, for the
/// newest of them) or one skipped record (<see cref="MisfirePolicy.Skip"/>), never one run per missed slot;</item>
/// <item>never two runs of one definition at once: a slot due while the previous run is waiting or running is recorded
/// as skipped, with the reason;</item>
/// <item>a run whose party is offline waits up to the definition's round timeout, then fails with the reason (the next
/// slot tries again);</item>
/// <item>the horizon (the newest slot handled) is stored with each new run, so after a restart the schedule goes on
/// from where it was.</item>
/// </list>
/// Every transition is written to <see cref="IRunJournal"/>. Thread-safe: ticks and operator requests are serialised.
/// </summary>
public sealed class ScheduleEngine(ScheduleStore store, IRunLauncher launcher, IRunJournal journal, TimeProvider clock, ScheduleEngineOptions? options = null)
{
    private readonly object _gate = new();
    private readonly ScheduleEngineOptions _options = options ?? new ScheduleEngineOptions();

    public ScheduleStore Store => store;

    /// <summary>Stores a definition that was parsed and validated against the registry; its horizon starts now.</summary>
    public StoredDefinition Submit(JobDefinition definition, string source, string submittedBy)
    {
        lock (_gate)
        {
            var stored = store.Put(definition, source, clock.GetUtcNow());
            journal.Record(Marker(stored), "definition-submitted", new Dictionary<string, object?>
            {
                ["definition"] = stored.Name, ["operator"] = submittedBy, ["revision"] = stored.Revision, ["kind"] = definition.Kind,
                ["schedule"] = definition.Schedule?.ToString() ?? "on demand", ["misfire"] = JobDefinition.MisfireText(definition.Misfire),
                ["roundTimeoutSeconds"] = definition.RoundTimeout.TotalSeconds,
            });
            return stored;
        }
    }

    public StoredDefinition SetEnabled(string name, bool enabled, string by)
    {
        lock (_gate)
        {
            var stored = store.SetEnabled(name, enabled, clock.GetUtcNow());
            journal.Record(Marker(stored), enabled ? "definition-enabled" : "definition-disabled",
                new Dictionary<string, object?> { ["definition"] = name, ["operator"] = by });
            return stored;
        }
    }

    public void Remove(string name, string by)
    {
        lock (_gate)
        {
            var stored = store.Find(name) ?? throw new ScheduleException($"no job definition '{name}'", notFound: true);
            store.Remove(name);
            journal.Record(Marker(stored), "definition-removed", new Dictionary<string, object?> { ["definition"] = name, ["operator"] = by });
        }
    }

    /// <summary>The next slot a definition will run, or null (on demand only, disabled, or no later slot).</summary>
    public DateTimeOffset? NextSlot(StoredDefinition definition)
    {
        if (!definition.Enabled || definition.Definition.Schedule is not { } schedule)
            return null;
        var now = clock.GetUtcNow();
        return schedule.Next(definition.Horizon > now ? definition.Horizon : now);
    }

    /// <summary>An on-demand run; refused while the definition has an active run.</summary>
    public ScheduledRun RunNow(string name, string by)
    {
        lock (_gate)
        {
            var stored = store.Find(name) ?? throw new ScheduleException($"no job definition '{name}'", notFound: true);
            if (Active(name) is { } active)
                throw new ScheduleException($"job definition '{name}' already has an active run: {Describe(active)}");
            var now = clock.GetUtcNow();
            var run = NewRun(stored, now, null, RunTrigger.OnDemand, RunState.Waiting, $"asked for by {by}");
            store.Add(run, horizon: null);
            journal.Record(run, "run-due", Facts(run));
            return Advance(run, now);
        }
    }

    /// <summary>One scheduling pass: follow the active runs, then start what came due.</summary>
    public void Tick()
    {
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            foreach (var run in store.ActiveRuns())
                Advance(run, now);
            foreach (var definition in store.Definitions().Where(d => d.Enabled && d.Definition.Schedule is not null))
                StartDue(definition, now);
        }
    }

    private void StartDue(StoredDefinition stored, DateTimeOffset now)
    {
        var schedule = stored.Definition.Schedule!;
        DateTimeOffset? first = null, latest = null;
        var count = 0;
        foreach (var slot in schedule.Slots(stored.Horizon, now))
        {
            first ??= slot;
            latest = slot;
            count++;
        }
        if (latest is not { } due)
            return;

        var late = now - due > _options.OnTimeWindow;
        if (Active(stored.Name) is { } active)
        {
            Skip(stored, now, due, $"the previous run is still {ScheduledRun.StateText(active.State)}: {Describe(active)}" + Also(count, first!.Value));
            return;
        }
        if (stored.Definition.Misfire == MisfirePolicy.Skip)
        {
            if (late)
            {
                Skip(stored, now, due, $"missed while the coordinator was not running (misfire policy skip){Also(count, first!.Value)}");
                return;
            }
        }
        // Several slots due at once, or the newest one late: slots were missed (the coordinator was down or stalled).
        var missed = count > 1 || late;
        var trigger = missed && stored.Definition.Misfire == MisfirePolicy.RunOnce ? RunTrigger.Misfire : RunTrigger.Schedule;
        var reason = !missed ? ""
            : trigger == RunTrigger.Misfire
                ? string.Create(CultureInfo.InvariantCulture, $"{count} missed slot{(count == 1 ? "" : "s")} since {first:u} (misfire policy run-once: one run for the newest)")
                : string.Create(CultureInfo.InvariantCulture, $"{count - 1} earlier slot{(count == 2 ? "" : "s")} since {first:u} missed (misfire policy skip); the newest is on time");
        var run = NewRun(stored, now, due, trigger, RunState.Waiting, reason);
        store.Add(run, horizon: due);
        var facts = Facts(run);
        facts["slotsDue"] = count;
        journal.Record(run, "run-due", facts);
        Advance(run, now);
    }

    private void Skip(StoredDefinition stored, DateTimeOffset now, DateTimeOffset slot, string reason)
    {
        var run = NewRun(stored, now, slot, RunTrigger.Schedule, RunState.Skipped, reason) with { Finished = now };
        store.Add(run, horizon: slot);
        journal.Record(run, "run-skipped", Facts(run));
    }

    /// <summary>Moves one active run on: start its job when both parties are there, time it out, or record how its job ended.</summary>
    private ScheduledRun Advance(ScheduledRun run, DateTimeOffset now)
    {
        if (run.State == RunState.Waiting)
        {
            var dueReason = DueReason(run.Reason);
            if (launcher.Unready(run.Plan) is { } unready)
            {
                if (now - run.Created < run.Plan.RoundTimeout)
                {
                    var waiting = Join(dueReason, Waiting + unready);
                    if (run.Reason != waiting)
                        run = Save(run with { Reason = waiting }, null);
                    return run;
                }
                return Save(run with
                {
                    State = RunState.Failed, Finished = now,
                    Reason = Join(dueReason, string.Create(CultureInfo.InvariantCulture,
                        $"{unready}; waited the round timeout ({run.Plan.RoundTimeout.TotalSeconds:0} s); the next slot tries again")),
                }, "run-failed");
            }
            try
            {
                var jobId = launcher.Launch(run);
                return Save(run with { State = RunState.Running, JobId = jobId, Started = now, Reason = dueReason }, "run-started");
            }
            catch (RunLaunchException e)
            {
                return Save(run with { State = RunState.Failed, Finished = now, Reason = $"the job was refused: {e.Message}" }, "run-failed");
            }
        }
        if (run.State == RunState.Running && run.JobId is { } job)
        {
            var status = launcher.Status(job);
            if (status.State is RunState.Waiting or RunState.Running)
                return run;
            var summary = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string?>
            {
                ["job"] = status.LatestJobId ?? job, ["jobSummary"] = status.Summary,
            });
            return Save(run with { State = status.State, Finished = now, Reason = status.Reason.Length == 0 ? run.Reason : Join(run.Reason, status.Reason), Summary = summary },
                "run-" + ScheduledRun.StateText(status.State));
        }
        return run;
    }

    private const string Waiting = "waiting: ";

    /// <summary>A run's reason without what it is waiting for (why it came due, kept for the record).</summary>
    private static string DueReason(string reason)
    {
        var at = reason.IndexOf(Waiting, StringComparison.Ordinal);
        return at < 0 ? reason : reason[..at].TrimEnd(' ', ';');
    }

    private static string Join(string first, string second) => first.Length == 0 ? second : $"{first}; {second}";

    private ScheduledRun Save(ScheduledRun run, string? transition)
    {
        store.Update(run);
        if (transition is not null)
            journal.Record(run, transition, Facts(run));
        return run;
    }

    private ScheduledRun? Active(string definition) => store.ActiveRuns().FirstOrDefault(r => r.Definition == definition);

    private static ScheduledRun NewRun(StoredDefinition stored, DateTimeOffset now, DateTimeOffset? slot, RunTrigger trigger, RunState state, string reason)
    {
        var stamp = (slot ?? now).UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        return new ScheduledRun($"run-{stored.Name}-{stamp}-{Guid.NewGuid().ToString("N")[..6]}", stored.Name, slot, trigger, state,
            null, reason, now, null, null, stored.Definition.Plan());
    }

    /// <summary>The record a definition's own events (submitted, disabled, removed) are journalled under.</summary>
    private static ScheduledRun Marker(StoredDefinition stored) =>
        new($"definition-{stored.Name}", stored.Name, null, RunTrigger.OnDemand, RunState.Skipped, null, "", stored.Submitted, null, null, stored.Definition.Plan());

    private static Dictionary<string, object?> Facts(ScheduledRun run)
    {
        var facts = new Dictionary<string, object?>
        {
            ["definition"] = run.Definition,
            ["slot"] = run.Slot?.ToString("O", CultureInfo.InvariantCulture),
            ["trigger"] = ScheduledRun.TriggerText(run.Trigger),
            ["state"] = ScheduledRun.StateText(run.State),
        };
        if (run.JobId is not null) facts["job"] = run.JobId;
        if (run.Reason.Length > 0) facts["reason"] = run.Reason;
        return facts;
    }

    private static string Describe(ScheduledRun run) =>
        run.JobId is { } job ? $"run {run.RunId} (job {job})" : $"run {run.RunId} ({run.Reason})";

    private static string Also(int count, DateTimeOffset first) =>
        count > 1 ? string.Create(CultureInfo.InvariantCulture, $"; {count} slots since {first:u}") : "";
}
