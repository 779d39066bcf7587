using Federated.Core.Jobs;
using Federated.Coordinator.Registry;
using Federated.Coordinator.Relay;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator.Jobs;

/// <summary>
/// Fails unfinished jobs whose party has gone silent (no heartbeat for Coordinator:PartyLostSeconds), so that the
/// peer's handler is cancelled instead of waiting forever. A party that restarts within the limit resumes its jobs.
/// </summary>
public sealed class JobWatchdog(JobStore jobs, PartyRegistry registry, AuditTrail audit, RelayHub relay,
    IOptions<CoordinatorOptions> options, ILogger<JobWatchdog> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lost = TimeSpan.FromSeconds(options.Value.PartyLostSeconds);
        if (lost <= TimeSpan.FromSeconds(options.Value.HeartbeatSeconds))
            throw new InvalidOperationException(
                $"Coordinator:PartyLostSeconds ({options.Value.PartyLostSeconds}) must exceed Coordinator:HeartbeatSeconds ({options.Value.HeartbeatSeconds})");
        var interval = TimeSpan.FromSeconds(Math.Clamp(lost.TotalSeconds / 4, 0.5, 10));
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            CheckOnce(lost);
    }

    private void CheckOnce(TimeSpan lost)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var job in jobs.List(0).Where(j => !j.IsFinished))
        {
            foreach (var partyId in new[] { job.MusicPartyId, job.ExternalPartyId })
            {
                var lastSeen = registry.Find(partyId)?.LastSeen;
                var since = lastSeen is { } seen && seen > job.Created ? seen : job.Created;
                if (now - since <= lost)
                    continue;
                var reason = $"party '{partyId}' sent no heartbeat for {(now - since).TotalSeconds:0} s (Coordinator:PartyLostSeconds = {lost.TotalSeconds:0})";
                var failed = jobs.Fail(job.Attempt, reason);
                audit.JobEvent(job.Attempt.Value, "party-lost", new Dictionary<string, object?> { ["party"] = partyId, ["state"] = failed.State.ToString() });
                relay.Wake(job.Attempt.Value);
                logger.LogWarning("Job {JobId} failed: {Reason}", job.Attempt.Value, reason);
                break;
            }
        }
    }
}
