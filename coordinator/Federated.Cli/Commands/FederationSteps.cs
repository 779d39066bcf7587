using Federated.Transport.Client;
using Federated.Transport.V1;

namespace Federated.Cli.Commands;

/// <summary>Steps shared by `demo` and `bench`.</summary>
public static class FederationSteps
{
    /// <summary>Waits until both parties registered (online, with their job kinds).</summary>
    public static async Task<IReadOnlyList<PartyInfo>> WaitForPartiesAsync(CoordinatorConnection connection, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var parties = (await connection.Registry.ListPartiesAsync(new ListPartiesRequest(), cancellationToken: ct)).Parties;
            var ready = parties.Where(p => p.Online && p.SupportedJobKinds.Count > 0).Select(p => p.Role).ToHashSet();
            if (ready.Contains(PartyRoleKind.PartyRoleMusic) && ready.Contains(PartyRoleKind.PartyRoleExternal))
                return parties;
            if (DateTime.UtcNow > deadline)
                throw new CliException($"the parties did not register with {connection.Address} within {timeout.TotalSeconds:0} s; registered: " +
                    string.Join(", ", parties.Select(p => $"{p.PartyId} (online: {p.Online})")) + ". See the party logs in the run folder.");
            await Task.Delay(200, ct);
        }
    }

    public static async Task<JobInfo> RunJobAsync(CoordinatorConnection connection, string kind, IDictionary<string, string> parameters, TimeSpan timeout, CancellationToken ct)
    {
        var request = new CreateJobRequest { Kind = kind };
        request.Parameters.Add(parameters);
        var job = await connection.Jobs.CreateJobAsync(request, cancellationToken: ct);
        return await JobsCommands.WaitAsync(connection.Jobs, job.JobId, timeout, ct);
    }
}
