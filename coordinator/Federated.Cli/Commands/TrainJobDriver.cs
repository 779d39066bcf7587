using System.Globalization;
using Federated.PartyJobs;
using Federated.Transport.Client;
using Federated.Transport.V1;

namespace Federated.Cli.Commands;

/// <summary>
/// Runs one training job through the coordinator and follows it to the end: progress lines from the job state and
/// (in a local federation) each party's <c>progress.json</c>, and the coordinator's retry attempts (jobs whose
/// <c>retryOf</c> parameter names the previous attempt) after a party restart. Every wait has a limit.
/// </summary>
public sealed class TrainJobDriver(CoordinatorConnection connection, Action<string> log)
{
    /// <summary>The last attempt of a training job, and all attempt ids in order.</summary>
    public sealed record Outcome(JobInfo Job, IReadOnlyList<string> Attempts);

    /// <summary>Party state folders to read progress from (local federations only); empty elsewhere.</summary>
    public IReadOnlyDictionary<string, string> ProgressFolders { get; init; } = new Dictionary<string, string>();

    /// <summary>How long to wait for the coordinator to start the next attempt after a failed one.</summary>
    public TimeSpan RetryWait { get; init; } = TimeSpan.FromSeconds(90);

    public async Task<Outcome> RunAsync(IDictionary<string, string> parameters, TimeSpan timeout, CancellationToken ct)
    {
        var request = new CreateJobRequest { Kind = TrainJobHandler.JobKind };
        request.Parameters.Add(parameters);
        var job = await connection.Jobs.CreateJobAsync(request, cancellationToken: ct);
        log($"train job {job.JobId} created (training job '{parameters["trainingJob"]}')");
        return await FollowAsync(job.JobId, parameters["trainingJob"], timeout, ct);
    }

    public async Task<Outcome> FollowAsync(string jobId, string trainingJob, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var attempts = new List<string> { jobId };
        var lastKey = "";
        var lastPrinted = DateTime.MinValue;
        while (true)
        {
            var job = await connection.Jobs.GetJobAsync(new GetJobRequest { JobId = jobId }, cancellationToken: ct);
            var (key, line) = ProgressLine(job, trainingJob);
            // A line when a party's phase or step changes, else every 15 s (two busy cores: keep the log readable).
            if (key != lastKey || DateTime.UtcNow - lastPrinted > TimeSpan.FromSeconds(15))
            {
                log(line);
                lastKey = key;
                lastPrinted = DateTime.UtcNow;
            }
            if (job.State == JobState.Completed || job.State == JobState.Stopped)
                return new Outcome(job, attempts);
            if (job.State == JobState.Failed)
            {
                log($"attempt {jobId} failed: {job.Reason}");
                var next = await WaitForRetryAsync(jobId, ct);
                if (next is null)
                    return new Outcome(job, attempts);
                log($"the coordinator started attempt {next.Parameters.GetValueOrDefault("attempt", "?")} as job {next.JobId}; the parties resume from their newest common checkpoint");
                jobId = next.JobId;
                attempts.Add(jobId);
                continue;
            }
            if (DateTime.UtcNow > deadline)
                throw new CliException($"train job {jobId} did not finish within {timeout.TotalSeconds:0} s; state {job.State}: " +
                    string.Join("; ", job.Parties.Select(p => $"{p.PartyId} {JobsCommands.StateText(p.State)} {p.Summary}")));
            await Task.Delay(1000, ct);
        }
    }

    private async Task<JobInfo?> WaitForRetryAsync(string failedJobId, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + RetryWait;
        while (DateTime.UtcNow < deadline)
        {
            var jobs = (await connection.Jobs.ListJobsAsync(new ListJobsRequest { Max = 0 }, cancellationToken: ct)).Jobs;
            var next = jobs.FirstOrDefault(j => j.Parameters.TryGetValue(JobRetryParameters.RetryOf, out var of) && of == failedJobId);
            if (next is not null)
                return next;
            await Task.Delay(500, ct);
        }
        log($"no retry of {failedJobId} within {RetryWait.TotalSeconds:0} s (both parties must be online, attempts are bounded)");
        return null;
    }

    private (string Key, string Line) ProgressLine(JobInfo job, string trainingJob)
    {
        var parts = new List<string> { $"{job.JobId}: {JobsCommands.StateText(job.State)}" };
        foreach (var (party, state) in ProgressFolders)
        {
            var progress = TrainJobFolders.ReadJsonSafely<TrainJobProgress>(
                TrainJobFolders.ProgressFile(TrainJobFolders.JobFolder(Path.Combine(state, "train"), trainingJob)));
            if (progress is not null && progress.CoordinatorJobId == job.JobId)
                parts.Add($"{party} {progress.Phase} {progress.Step}/{progress.TotalSteps}");
        }
        var key = string.Join(" | ", parts);
        if (job.Relay is { } relay)
            parts.Add($"relayed {relay.MessagesRelayed.ToString(CultureInfo.InvariantCulture)} msgs, {relay.BytesRelayed / 1048576.0:0.0} MiB");
        return (key, string.Join(" | ", parts));
    }
}

/// <summary>Parameter names the coordinator adds to a retry attempt (see the coordinator's JobRetryService).</summary>
public static class JobRetryParameters
{
    public const string RetryOf = "retryOf";
    public const string Attempt = "attempt";
}
