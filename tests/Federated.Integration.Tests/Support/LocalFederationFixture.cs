using Federated.Launcher;
using Federated.Operator;
using Federated.Security;
using Federated.Transport.Client;
using Federated.Transport.V1;

namespace Federated.Integration.Tests;

/// <summary>
/// One local federation (three real processes on loopback, fresh development certificates in a temporary run folder)
/// shared by the tests of a collection. Subclasses say how the hosts start (<see cref="Configure"/>) and what to
/// prepare first (<see cref="PrepareAsync"/>). Every process is stopped at the end, and each host also stops itself
/// when the test process disappears.
/// </summary>
public abstract class LocalFederationFixture(string name) : IAsyncLifetime
{
    public LocalFederation Federation { get; private set; } = null!;
    public string RunDirectory { get; } = Path.Combine(Path.GetTempPath(), $"federated-{name}-it-" + Guid.NewGuid().ToString("N")[..12]);
    public RunFolder Folder => new(RunDirectory);
    public string Certificates => Folder.Certificates;
    public string AuditDatabase => Folder.AuditDatabase;

    /// <summary>Coordinator:TranscriptDirectory: every sealed payload exactly as the coordinator relayed it (fixtures that ask for it).</summary>
    public string TranscriptDirectory => Path.Combine(RunDirectory, "coordinator-transcript");

    /// <summary>Work before the hosts start (a world to generate, data files to write).</summary>
    protected virtual Task PrepareAsync() => Task.CompletedTask;

    /// <summary>Work after the hosts stopped (servers <see cref="PrepareAsync"/> started).</summary>
    protected virtual Task StopAsync() => Task.CompletedTask;

    /// <summary>The hosts' settings; the defaults give free ports and no data folders.</summary>
    protected virtual LocalFederationOptions Configure(LocalFederationOptions options) => options;

    /// <summary>Options for a coordinator on a fixed free port (restartable where the parties expect it) with fast heartbeats.</summary>
    protected static LocalFederationOptions Restartable(LocalFederationOptions options, int partyLostSeconds) => options with
    {
        CoordinatorPort = FreePort(),
        ExtraArguments = [.. options.ExtraArguments, "--Coordinator:HeartbeatSeconds=1", $"--Coordinator:PartyLostSeconds={partyLostSeconds}"],
    };

    protected LocalFederationOptions WithTranscript(LocalFederationOptions options) => options with
    {
        ExtraArguments = [.. options.ExtraArguments, $"--Coordinator:TranscriptDirectory={TranscriptDirectory}"],
    };

    public async Task InitializeAsync()
    {
        await PrepareAsync();
        Federation = await LocalFederation.StartAsync(
            Configure(new LocalFederationOptions(RunDirectory, HostBinaries.FromAssemblyMetadata(typeof(LocalFederationFixture).Assembly))),
            progress: null, CancellationToken.None);
        using var connection = Connect();
        await WaitForPartiesAsync(connection);
    }

    protected static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A mutual-TLS connection to the coordinator as one of the run folder's certificates.</summary>
    public CoordinatorConnection Connect(string identity = RunFolder.OperatorName)
    {
        var certificate = CertificateFiles.Load(Certificates, identity, withPrivateKey: true);
        return CoordinatorConnection.Open(Federation.CoordinatorAddress, certificate, new CertificateValidator(CertificateFiles.LoadAuthority(Certificates)));
    }

    /// <summary>Waits until both of the federation's own parties are online with their job kinds.</summary>
    public static async Task WaitForPartiesAsync(CoordinatorConnection operatorConnection)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var parties = (await operatorConnection.Registry.ListPartiesAsync(new ListPartiesRequest())).Parties;
            if (parties.Count(p => p.PartyId is RunFolder.MusicName or RunFolder.ExternalName && p.Online && p.SupportedJobKinds.Count > 0) == 2)
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("parties did not register: " + string.Join(", ", parties.Select(p => $"{p.PartyId}:{p.Online}")));
            await Task.Delay(100);
        }
    }

    /// <summary>Waits for a job to finish; on timeout the error carries both parties' log tails.</summary>
    public async Task<JobInfo> WaitForJobAsync(CoordinatorConnection connection, string jobId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var job = await connection.Jobs.GetJobAsync(new GetJobRequest { JobId = jobId });
            if (job.State is JobState.Completed or JobState.Failed or JobState.Stopped)
                return job;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"job {jobId} ({job.Kind}) still {job.State} after {timeout.TotalSeconds} s: " +
                    string.Join("; ", job.Parties.Select(p => $"{p.PartyId} {p.State} {p.Summary}")) + "\n" + Logs());
            await Task.Delay(100);
        }
    }

    /// <summary>Creates a job between the federation's own parties and waits for it (5 minutes at most).</summary>
    public async Task<JobInfo> RunJobAsync(string kind, params (string Name, string Value)[] parameters)
    {
        using var op = Connect();
        var created = await op.Jobs.CreateJobAsync(NewJob(kind, parameters));
        return await WaitForJobAsync(op, created.JobId, TimeSpan.FromMinutes(5));
    }

    /// <summary>A job between the federation's own music and external parties (named, since tests enrol extra parties).</summary>
    public static CreateJobRequest NewJob(string kind, params (string Name, string Value)[] parameters)
    {
        var request = new CreateJobRequest { Kind = kind, MusicPartyId = RunFolder.MusicName, ExternalPartyId = RunFolder.ExternalName };
        foreach (var (parameter, value) in parameters)
            request.Parameters[parameter] = value;
        return request;
    }

    public string LogTail(string host) => Federation.Hosts.TryGetValue(host, out var h) ? h.LogTail(30) : "(not running)";

    public string Logs() => string.Join("\n", Federation.Hosts.Values.Select(h => $"--- {h.Name} log:\n{h.LogTail(25)}"));

    public async Task DisposeAsync()
    {
        if (Federation is not null)
            await Federation.DisposeAsync();
        await StopAsync();
        try { Directory.Delete(RunDirectory, recursive: true); }
        catch (IOException) { /* a log file may still be flushed; the folder is in the temp area */ }
    }
}
