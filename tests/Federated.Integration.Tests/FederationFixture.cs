using Federated.Hosting.Local;
using Federated.Security;
using Federated.Transport.Client;
using Federated.Transport.V1;

namespace Federated.Integration.Tests;

/// <summary>
/// One local federation (three real processes, free loopback ports, fresh development certificates in a temporary
/// run folder) shared by the integration tests. Every process is stopped at the end, and each host also stops
/// itself when the test process disappears.
/// </summary>
public sealed class FederationFixture : IAsyncLifetime
{
    public const int PartyLostSeconds = 10;

    public LocalFederation Federation { get; private set; } = null!;
    public string RunDirectory { get; } = Path.Combine(Path.GetTempPath(), "federated-it-" + Guid.NewGuid().ToString("N")[..12]);
    public string Certificates => Federation.CertificateDirectory;

    public async Task InitializeAsync()
    {
        // A fixed (free) coordinator port, so the coordinator can be restarted where the parties expect it.
        Federation = await LocalFederation.StartAsync(
            new LocalFederationOptions(RunDirectory, HostBinaries.FromAssemblyMetadata(typeof(FederationFixture).Assembly)) 
            {
                CoordinatorPort = FreePort(),
                // Fast heartbeats so a lost party is noticed within seconds (restarts in the tests take about one).
                ExtraArguments = ["--Coordinator:HeartbeatSeconds=1", $"--Coordinator:PartyLostSeconds={PartyLostSeconds}"],
            },
            progress: null, CancellationToken.None);
        using var connection = Connect(LocalFederation.OperatorName);
        await WaitForPartiesAsync(connection);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public CoordinatorConnection Connect(string identity)
    {
        var certificate = CertificateFiles.Load(Certificates, identity, withPrivateKey: true);
        return CoordinatorConnection.Open(Federation.CoordinatorAddress, certificate, new CertificateValidator(CertificateFiles.LoadAuthority(Certificates)));
    }

    public static async Task WaitForPartiesAsync(CoordinatorConnection operatorConnection)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var parties = (await operatorConnection.Registry.ListPartiesAsync(new ListPartiesRequest())).Parties;
            if (parties.Count(p => p.Online && p.SupportedJobKinds.Count > 0) == 2)
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("parties did not register: " + string.Join(", ", parties.Select(p => $"{p.PartyId}:{p.Online}")));
            await Task.Delay(100);
        }
    }

    public async Task<JobInfo> WaitForJobAsync(CoordinatorConnection connection, string jobId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var job = await connection.Jobs.GetJobAsync(new GetJobRequest { JobId = jobId });
            if (job.State is JobState.Completed or JobState.Failed or JobState.Stopped)
                return job;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"job {jobId} still {job.State} after {timeout.TotalSeconds} s: " +
                    string.Join("; ", job.Parties.Select(p => $"{p.PartyId} {p.State} {p.Summary}")) + "\nmusic log:\n" + LogTail("music") + "\nexternal log:\n" + LogTail("external"));
            await Task.Delay(100);
        }
    }

    /// <summary>A job between the federation's own music and external parties (named, since tests enrol extra parties).</summary>
    public static CreateJobRequest NewJob(string kind, params (string Name, string Value)[] parameters)
    {
        var request = new CreateJobRequest { Kind = kind, MusicPartyId = "music", ExternalPartyId = "external" };
        foreach (var (name, value) in parameters)
            request.Parameters[name] = value;
        return request;
    }

    public string LogTail(string host) =>
        Federation.Hosts.TryGetValue(host, out var h) ? h.LogTail(30) : "(not running)";

    public async Task DisposeAsync()
    {
        if (Federation is not null)
            await Federation.DisposeAsync();
        try { Directory.Delete(RunDirectory, recursive: true); }
        catch (IOException) { /* a log file may still be flushed; the folder is in the temp area */ }
    }
}

[CollectionDefinition(Name)]
public sealed class FederationCollection : ICollectionFixture<FederationFixture>
{
    public const string Name = "federation";
}
