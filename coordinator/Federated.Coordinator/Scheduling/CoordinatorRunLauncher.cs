using Federated.Coordinator.Jobs;
using Federated.Coordinator.Registry;
using Federated.Core.Jobs;
using Federated.Scheduling;
using Federated.Security;
using Federated.Transport.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator.Scheduling;

/// <summary>
/// Starts a scheduled run's job through <see cref="JobCreator"/> (so it is a job like any other: relay, watchdog,
/// retries, audit) and follows it across the coordinator's retry attempts until the last one ends.
/// </summary>
public sealed class CoordinatorRunLauncher(JobCreator creator, JobStore jobs, PartyRegistry registry, JobRetryService retries,
    IOptions<CoordinatorOptions> options, TimeProvider clock) : IRunLauncher
{
    public string? Unready(RunPlan plan)
    {
        var now = clock.GetUtcNow();
        var offlineAfter = TimeSpan.FromSeconds(options.Value.OfflineAfterSeconds);
        var problems = new List<string>();
        foreach (var id in new[] { plan.MusicParty, plan.ExternalParty })
        {
            var party = registry.Find(id);
            if (party is null) problems.Add($"party '{id}' is not registered");
            else if (party.Revoked) problems.Add($"party '{id}' is revoked");
            else if (party.LastSeen is not { } seen) problems.Add($"party '{id}' has never connected");
            else if (now - seen >= offlineAfter) problems.Add($"party '{id}' is offline (last heartbeat {(now - seen).TotalSeconds:0} s ago)");
        }
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }

    public string Launch(ScheduledRun run)
    {
        try
        {
            var job = creator.Create(run.Plan.Kind, run.Plan.Parameters, run.Plan.MusicParty, run.Plan.ExternalParty, "coordinator (schedule)",
                new Dictionary<string, object?>
                {
                    ["definition"] = run.Definition, ["run"] = run.RunId, ["trigger"] = ScheduledRun.TriggerText(run.Trigger),
                    ["slot"] = run.Slot?.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                });
            return job.Attempt.Value;
        }
        catch (RpcException e)
        {
            throw new RunLaunchException(e.Status.Detail);
        }
    }

    public RunJobStatus Status(string jobId)
    {
        var job = jobs.Find(new AttemptId(jobId));
        if (job is null)
            return new RunJobStatus(RunState.Failed, $"job {jobId} no longer exists");
        var all = jobs.List(0);
        for (var next = Retry(all, job); next is not null; next = Retry(all, next))
            job = next;
        if (!job.IsFinished || (job.State == JobState.Failed && retries.MayRetry(job, clock.GetUtcNow())))
            return RunJobStatus.Active;
        var summary = string.Join("; ", job.Parties.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Where(p => p.Value.Summary.Length > 0).Select(p => $"{p.Key}: {p.Value.Summary}"));
        var state = job.State switch
        {
            JobState.Completed => RunState.Completed,
            JobState.Stopped => RunState.Stopped,
            _ => RunState.Failed,
        };
        var reason = job.Attempt.Value == jobId ? job.Reason : $"{job.Reason} (attempt {job.Attempt.Value})".TrimStart();
        return new RunJobStatus(state, state == RunState.Completed ? "" : reason, summary, job.Attempt.Value);
    }

    private static JobRecord? Retry(IReadOnlyList<JobRecord> all, JobRecord job) =>
        all.FirstOrDefault(j => j.Parameters.GetValueOrDefault(JobParameterNames.RetryOf) == job.Attempt.Value);
}

/// <summary>The registry as a job definition is checked against: parties by id, role, revocation and the kinds they report.</summary>
public sealed class RegistryDefinitionParties(PartyRegistry registry) : IDefinitionParties
{
    public DefinitionParty? Find(string partyId) => registry.Find(partyId) is { } p && p.Role is PartyRole.Music or PartyRole.External
        ? new DefinitionParty(p.PartyId, p.Role == PartyRole.Music ? PartySide.Music : PartySide.External, p.Revoked, p.SupportedJobKinds.ToList())
        : null;

    public IReadOnlyCollection<string> KnownKinds =>
        registry.List().Where(p => !p.Revoked).SelectMany(p => p.SupportedJobKinds).Distinct(StringComparer.Ordinal).ToList();
}

/// <summary>Every run transition and definition change as a job event in the hash-chained audit log (and a log line).</summary>
public sealed class AuditRunJournal(AuditTrail audit, ILogger<AuditRunJournal> logger) : IRunJournal
{
    public void Record(ScheduledRun run, string transition, IReadOnlyDictionary<string, object?> facts)
    {
        audit.JobEvent(run.RunId, transition, facts);
        if (transition.StartsWith("run-", StringComparison.Ordinal))
            CoordinatorMetrics.SchedulerRuns.WithLabels(transition["run-".Length..]).Inc();
        logger.LogInformation("Schedule {Definition}: {Transition} {Run} {Job} {Reason}", run.Definition, transition, run.RunId, run.JobId ?? "", run.Reason);
    }
}

/// <summary>
/// The scheduler: one pass of <see cref="ScheduleEngine.Tick"/> a second on the injected clock. The schedule lives
/// in <c>schedules.db</c>, so after a restart the first pass follows the runs that were active and gives the slots
/// missed meanwhile one run (or a skipped record), as each definition's misfire policy says.
/// </summary>
public sealed class JobScheduler(ScheduleEngine engine, TimeProvider clock, ILogger<JobScheduler> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try { engine.Tick(); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Scheduling pass failed");
            }
            try { await Task.Delay(Interval, clock, stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }
}
