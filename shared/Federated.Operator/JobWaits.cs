using Federated.Transport.Client;
using Federated.Transport.V1;

namespace Federated.Operator;

/// <summary>Waiting for parties and jobs through the coordinator; every wait has a limit and says what it waited for.</summary>
public static class JobWaits
{
    /// <summary>Waits until both parties registered (online, with their job kinds).</summary>
    public static async Task<IReadOnlyList<PartyInfo>> WaitForPartiesAsync(CoordinatorConnection connection, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var parties = (await connection.Registry.ListPartiesAsync(new ListPartiesRequest(), cancellationToken: ct).ConfigureAwait(false)).Parties;
            var ready = parties.Where(p => p.Online && p.SupportedJobKinds.Count > 0).Select(p => p.Role).ToHashSet();
            if (ready.Contains(PartyRoleKind.PartyRoleMusic) && ready.Contains(PartyRoleKind.PartyRoleExternal))
                return parties;
            if (DateTime.UtcNow > deadline)
                throw new OperatorException($"the parties did not register with {connection.Address} within {timeout.TotalSeconds:0} s; registered: " +
                    string.Join(", ", parties.Select(p => $"{p.PartyId} (online: {p.Online})")) + ". See the party logs.");
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Creates a job and waits until it finishes.</summary>
    public static async Task<JobInfo> RunJobAsync(CoordinatorConnection connection, string kind, IDictionary<string, string> parameters, TimeSpan timeout, CancellationToken ct)
    {
        var request = new CreateJobRequest { Kind = kind };
        request.Parameters.Add(parameters);
        var job = await connection.Jobs.CreateJobAsync(request, cancellationToken: ct).ConfigureAwait(false);
        return await WaitAsync(connection.Jobs, job.JobId, timeout, ct).ConfigureAwait(false);
    }

    /// <summary>Polls a job until it finishes or the timeout passes.</summary>
    public static async Task<JobInfo> WaitAsync(Jobs.JobsClient jobs, string jobId, TimeSpan timeout, CancellationToken ct, Action<JobInfo>? progress = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var job = await jobs.GetJobAsync(new GetJobRequest { JobId = jobId }, cancellationToken: ct).ConfigureAwait(false);
            progress?.Invoke(job);
            if (job.State is JobState.Completed or JobState.Failed or JobState.Stopped)
                return job;
            if (DateTime.UtcNow > deadline)
                throw new OperatorException($"job {jobId} did not finish within {timeout.TotalSeconds:0} s; its state is {job.State}: " +
                    string.Join("; ", job.Parties.Select(p => $"{p.PartyId} {p.State} {p.Summary}")));
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
    }

    /// <summary>A job state without the enum prefix ("Completed", "Failed"...).</summary>
    public static string StateText(JobState state) => state.ToString().Replace("JobState", "", StringComparison.Ordinal);
}
