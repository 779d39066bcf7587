using System.Globalization;
using Federated.Core.Jobs;
using Federated.Transport.Client;
using Federated.Transport.V1;

namespace Federated.Operator;

/// <summary>
/// Runs one training job through the coordinator and follows it to the end: a progress line from the job state (and
/// whatever <see cref="ExtraProgress"/> adds), and the coordinator's retry attempts (jobs whose <c>retryOf</c>
/// parameter names the previous attempt) after a party restart. Every wait has a limit.
/// </summary>
public sealed class TrainingJobFollower(CoordinatorConnection connection, Action<string> log)
{
    /// <summary>The last attempt of a training job, and all attempt ids in order.</summary>
    public sealed record Outcome(JobInfo Job, IReadOnlyList<string> Attempts);

    /// <summary>More progress for a line, for example each party's phase and step where the tool can read it.</summary>
    public Func<JobInfo, IEnumerable<string>>? ExtraProgress { get; init; }

    /// <summary>How long to wait for the coordinator to start the next attempt after a failed one.</summary>
    public TimeSpan RetryWait { get; init; } = TimeSpan.FromSeconds(90);

    public async Task<Outcome> RunAsync(IDictionary<string, string> parameters, TimeSpan timeout, CancellationToken ct)
    {
        if (!parameters.TryGetValue(JobParameterNames.TrainingJob, out var trainingJob))
            throw new OperatorException($"a train job needs the parameter '{JobParameterNames.TrainingJob}'");
        var request = new CreateJobRequest { Kind = JobKinds.Train };
        request.Parameters.Add(parameters);
        var job = await connection.Jobs.CreateJobAsync(request, cancellationToken: ct).ConfigureAwait(false);
        log($"train job {job.JobId} created (training job '{trainingJob}')");
        return await FollowAsync(job.JobId, timeout, ct).ConfigureAwait(false);
    }

    public async Task<Outcome> FollowAsync(string jobId, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var attempts = new List<string> { jobId };
        var lastKey = "";
        var lastPrinted = DateTime.MinValue;
        while (true)
        {
            var job = await connection.Jobs.GetJobAsync(new GetJobRequest { JobId = jobId }, cancellationToken: ct).ConfigureAwait(false);
            var (key, line) = ProgressLine(job);
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
                var next = await WaitForRetryAsync(jobId, ct).ConfigureAwait(false);
                if (next is null)
                    return new Outcome(job, attempts);
                log($"the coordinator started attempt {next.Parameters.GetValueOrDefault(JobParameterNames.Attempt, "?")} as job {next.JobId}; the parties resume from their newest common checkpoint");
                jobId = next.JobId;
                attempts.Add(jobId);
                continue;
            }
            if (DateTime.UtcNow > deadline)
                throw new OperatorException($"train job {jobId} did not finish within {timeout.TotalSeconds:0} s; state {job.State}: " +
                    string.Join("; ", job.Parties.Select(p => $"{p.PartyId} {JobWaits.StateText(p.State)} {p.Summary}")));
            await Task.Delay(1000, ct).ConfigureAwait(false);
        }
    }

    private async Task<JobInfo?> WaitForRetryAsync(string failedJobId, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + RetryWait;
        while (DateTime.UtcNow < deadline)
        {
            var jobs = (await connection.Jobs.ListJobsAsync(new ListJobsRequest { Max = 0 }, cancellationToken: ct).ConfigureAwait(false)).Jobs;
            var next = jobs.FirstOrDefault(j => j.Parameters.TryGetValue(JobParameterNames.RetryOf, out var of) && of == failedJobId);
            if (next is not null)
                return next;
            await Task.Delay(500, ct).ConfigureAwait(false);
        }
        log($"no retry of {failedJobId} within {RetryWait.TotalSeconds:0} s (both parties must be online, attempts are bounded)");
        return null;
    }

    private (string Key, string Line) ProgressLine(JobInfo job)
    {
        var parts = new List<string> { $"{job.JobId}: {JobWaits.StateText(job.State)}" };
        if (ExtraProgress is not null) parts.AddRange(ExtraProgress(job));
        var key = string.Join(" | ", parts);
        if (job.Relay is { } relay)
            parts.Add($"relayed {relay.MessagesRelayed.ToString(CultureInfo.InvariantCulture)} msgs, {relay.BytesRelayed / 1048576.0:0.0} MiB");
        return (key, string.Join(" | ", parts));
    }
}
