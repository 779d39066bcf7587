using System.Globalization;
using Federated.Core.Jobs;
using Federated.Coordinator.Registry;
using Federated.Coordinator.Relay;
using Federated.Transport.V1;

namespace Federated.Coordinator.Jobs;

/// <summary>
/// Starts a new ATTEMPT of a job whose attempt was interrupted by a crash, for job kinds that resume from their own
/// checkpoints (default: <c>train</c>). An attempt is interrupted when a party restarted in its middle (the party
/// agent fails it: the kind is not relay-resumable) or when the watchdog failed it because a party went silent. Once
/// both parties are back (a heartbeat after the failure), the coordinator creates a new job with the same kind,
/// parties and parameters plus <c>retryOf</c> (the failed attempt), <c>attempt</c> (n + 1) and <c>trainingJob</c> (the
/// logical job, so both parties reuse their job folders and resume from their newest common checkpoint). It gives a
/// fresh relay session with fresh sequence numbers. Bounded by <c>Coordinator:MaxJobAttempts</c> (or the job's
/// <c>maxAttempts</c> parameter) and <c>Coordinator:RetryWithinSeconds</c>; every retry and every give-up is in the
/// audit log and in the job list. Other failures (bad data, refused mode, protocol errors) are not retried.
/// </summary>
public sealed class JobRetryService(JobStore jobs, PartyRegistry registry, AuditTrail audit, RelayHub relay, IConfiguration configuration,
    ILogger<JobRetryService> logger) : BackgroundService
{
    private const string RetryOf = JobParameterNames.RetryOf;
    private const string Attempt = JobParameterNames.Attempt;
    private const string TrainingJob = JobParameterNames.TrainingJob;
    public const string MaxAttempts = JobParameterNames.MaxAttempts;

    private readonly HashSet<string> _kinds = (configuration["Coordinator:RetryJobKinds"] ?? "train")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
    private readonly int _maxAttempts = configuration.GetValue("Coordinator:MaxJobAttempts", 3);
    private readonly TimeSpan _within = TimeSpan.FromSeconds(configuration.GetValue("Coordinator:RetryWithinSeconds", 900));
    private readonly HashSet<string> _abandoned = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try { CheckOnce(); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Job retry check failed");
            }
        }
    }

    /// <summary>
    /// True when a failed attempt was interrupted by a crash rather than failed by its own logic: the watchdog failed
    /// it (a party went silent, so no party reported a failure), or a party reported <see cref="FailureKind.Interrupted"/>
    /// (it restarted in the middle) or <see cref="FailureKind.PeerTimeout"/> (its peer stayed away too long).
    /// </summary>
    public static bool Interrupted(JobRecord job) =>
        job.State == JobState.Failed &&
        (job.Parties.Values.All(p => p.State != JobState.Failed)
         || job.Parties.Values.Any(p => p.State == JobState.Failed && p.Failure is FailureKind.Interrupted or FailureKind.PeerTimeout));

    private void CheckOnce()
    {
        var all = jobs.List(0);
        var retried = all.Select(j => j.Parameters.GetValueOrDefault(RetryOf)).Where(r => r is not null).ToHashSet(StringComparer.Ordinal);
        var now = DateTimeOffset.UtcNow;
        foreach (var job in all.Where(j => Retryable(j) && !retried.Contains(j.Attempt.Value)))
        {
            var attempt = AttemptOf(job);
            var finished = job.Finished ?? job.Created;
            if (GiveUpReason(job, now) is { } giveUp)
            {
                if (_abandoned.Add(job.Attempt.Value))
                {
                    audit.JobEvent(job.Attempt.Value, "retry-abandoned", new Dictionary<string, object?> { ["attempt"] = attempt, ["reason"] = giveUp });
                    logger.LogWarning("Job {JobId} ({Kind}) is not retried: {Reason}", job.Attempt.Value, job.Kind, giveUp);
                }
                continue;
            }
            if (Offline(job, finished) is { Length: > 0 })
                continue; // wait for both parties to be back (a heartbeat after the failure)

            var parameters = new Dictionary<string, string>(job.Parameters, StringComparer.Ordinal)
            {
                [RetryOf] = job.Attempt.Value,
                [Attempt] = (attempt + 1).ToString(CultureInfo.InvariantCulture),
                [TrainingJob] = job.Parameters.GetValueOrDefault(TrainingJob) ?? job.Attempt.Value,
            };
            var next = jobs.Create(job.Kind, parameters, job.MusicPartyId, job.ExternalPartyId);
            relay.For(next.Attempt.Value, next.MusicPartyId, next.ExternalPartyId);
            audit.JobEvent(job.Attempt.Value, "retried", new Dictionary<string, object?> { ["next"] = next.Attempt.Value, ["attempt"] = attempt + 1, ["reason"] = job.Reason });
            audit.JobCreated(next, "coordinator (retry)", registry.Find(next.MusicPartyId)?.Fingerprint, registry.Find(next.ExternalPartyId)?.Fingerprint,
                new Dictionary<string, object?> { ["retryOf"] = job.Attempt.Value, ["attempt"] = attempt + 1 });
            logger.LogInformation("Job {JobId} ({Kind}) was interrupted ({Reason}); started attempt {Attempt} as {Next}",
                job.Attempt.Value, job.Kind, job.Reason, attempt + 1, next.Attempt.Value);
        }
    }

    /// <summary>A failed attempt of a retried kind that a crash interrupted: a retry may follow it.</summary>
    public bool Retryable(JobRecord job) => _kinds.Contains(job.Kind) && Interrupted(job);

    /// <summary>
    /// True while a retry of this failed attempt may still come (retryable, attempts and time left): who follows a job
    /// across its attempts (a scheduled run) waits for it instead of taking the failure as the end.
    /// </summary>
    public bool MayRetry(JobRecord job, DateTimeOffset now) => Retryable(job) && GiveUpReason(job, now) is null;

    /// <summary>Why a retryable failed attempt gets no retry (attempts used up, parties not back in time), or null.</summary>
    private string? GiveUpReason(JobRecord job, DateTimeOffset now)
    {
        var attempt = AttemptOf(job);
        var max = int.TryParse(job.Parameters.GetValueOrDefault(MaxAttempts), NumberStyles.None, CultureInfo.InvariantCulture, out var m) ? m : _maxAttempts;
        var finished = job.Finished ?? job.Created;
        return attempt >= max ? $"attempt {attempt} of at most {max} failed: {job.Reason}"
            : now - finished > _within ? $"parties not both back within {_within.TotalSeconds:0} s (Coordinator:RetryWithinSeconds): {Offline(job, finished)}"
            : null;
    }

    private static int AttemptOf(JobRecord job) =>
        int.TryParse(job.Parameters.GetValueOrDefault(Attempt), NumberStyles.None, CultureInfo.InvariantCulture, out var a) ? a : 1;

    /// <summary>The parties of a job not heard from since its failure; empty when both are back.</summary>
    private string Offline(JobRecord job, DateTimeOffset since) => string.Join(", ",
        new[] { job.MusicPartyId, job.ExternalPartyId }.Where(p => registry.Find(p) is not { Revoked: false, LastSeen: { } seen } || seen <= since)
            .Select(p => $"party '{p}' not back"));
}
