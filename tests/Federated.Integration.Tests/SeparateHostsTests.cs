using System.Net;
using Federated.Core;
using Federated.Core.Jobs;
using Federated.Launcher;
using Federated.Operator;
using Federated.PartyJobs;
using Federated.Security;
using Federated.Transport.V1;
using Xunit.Abstractions;

namespace Federated.Integration.Tests;

/// <summary>
/// The tiny world's federation with each host in its own Linux network namespace (<see cref="SeparateHostNetwork"/>):
/// the coordinator listens on its namespace's address with a certificate naming that address, each party listens on
/// its own namespace's address (so a connection to it could be made if the rules let one through) and dials the
/// coordinator there. The test process is the operator, on the same bridge from the root namespace.
/// </summary>
public sealed class SeparateHostsFixture() : TinyWorldFederationFixture("netns")
{
    public SeparateHostNetwork Network { get; private set; } = null!;

    protected override async Task PrepareAsync()
    {
        Network = SeparateHostNetwork.Create();
        await base.PrepareAsync();
        PrivateFiles.CreateFolder(RunDirectory);
        PrivateFiles.CreateFolder(Certificates);
        CertificateFiles.CreateDevelopmentSet(Certificates, CertificateFiles.DevelopmentParties, coordinatorNames: [Network.CoordinatorAddress.ToString()]);
    }

    protected override LocalFederationOptions Configure(LocalFederationOptions options) => WithWorld(options) with
    {
        CoordinatorPort = SeparateHostNetwork.CoordinatorPort,
        HostCommandPrefix = SeparateHostNetwork.Hosts.ToDictionary(h => h, Network.CommandPrefix),
        HostArguments = new Dictionary<string, IReadOnlyList<string>>
        {
            [RunFolder.CoordinatorName] = [$"--Host:Address={Network.CoordinatorAddress}",
                $"--Host:MetricsPort={SeparateHostNetwork.CoordinatorMetricsPort}", $"--Host:MetricsAddress={Network.CoordinatorAddress}"],
            [RunFolder.MusicName] = [$"--Host:Address={Network.MusicAddress}"],
            [RunFolder.ExternalName] = [$"--Host:Address={Network.ExternalAddress}"],
        },
    };

    protected override Task StopAsync()
    {
        Network?.Dispose();
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SeparateHostsCollection : ICollectionFixture<SeparateHostsFixture>
{
    public const string Name = "separate-hosts";
}

/// <summary>
/// Separate hosts, for real: the coordinator, the music party and the external party each run in their own network
/// namespace with their own address, and the firewall in each lets a party open connections to the coordinator's
/// port only, lets nothing in to a party, and lets the coordinator open nothing. A whole encrypted train job (PSI,
/// split training through the sealed relay, the evaluation pass) completes under those rules, so no party-to-party
/// or inbound-to-party connection is needed. The rules are shown to be in force: probes of the blocked paths fail
/// and are counted as dropped, while the same listeners answer from inside their own namespace.
/// </summary>
[Collection(SeparateHostsCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SeparateHostsTests(SeparateHostsFixture fixture, ITestOutputHelper output)
{
    private const string Music = RunFolder.MusicName, External = RunFolder.ExternalName, Coordinator = RunFolder.CoordinatorName;

    [Fact]
    public async Task A_train_job_completes_with_each_host_in_its_own_network_namespace_and_only_party_to_coordinator_connections_allowed()
    {
        var net = fixture.Network;
        var started = DateTime.UtcNow;

        // Each host process is in its own namespace: the one named for it, not the test's, not another host's.
        var own = SeparateHostNetwork.NamespaceOfProcess(Environment.ProcessId);
        var seen = new HashSet<string> { own };
        foreach (var host in SeparateHostNetwork.Hosts)
        {
            var process = SeparateHostNetwork.NamespaceOfProcess(fixture.Federation.Hosts[host].ProcessId);
            Assert.Equal(net.NamespaceIdentity(host), process);
            Assert.True(seen.Add(process), $"{host} shares network namespace {process}");
        }
        Assert.Equal(new Uri($"https://{net.CoordinatorAddress}:{SeparateHostNetwork.CoordinatorPort}"), fixture.Federation.CoordinatorAddress);
        using (var coordinatorCertificate = CertificateFiles.Load(fixture.Certificates, Coordinator, withPrivateKey: false))
            Assert.Contains(net.CoordinatorAddress.ToString(), coordinatorCertificate.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509SubjectAlternativeNameExtension>()
                .Single().EnumerateIPAddresses().Select(a => a.ToString()));

        // The job, with every host's TCP sockets sampled while it runs.
        using var op = fixture.Connect();
        var request = SeparateHostsFixture.NewJob(TrainJobHandler.JobKind, ("trainingJob", "it-netns"), ("evaluationUsers", fixture.EvaluationUsersFile),
            ("epochs", "1"), ("pretrainEpochs", "1"), ("batchSize", "256"), ("checkpointEvery", "2"), ("torchThreads", "1"), ("messageTimeoutSeconds", "120"));
        var created = await op.Jobs.CreateJobAsync(request);
        var sockets = SeparateHostNetwork.Hosts.ToDictionary(h => h, _ => new HashSet<SocketEntry>());
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var host in SeparateHostNetwork.Hosts)
                    sockets[host].UnionWith(net.Sockets(host));
                try { await Task.Delay(250, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        var job = await fixture.WaitForJobAsync(op, created.JobId, TimeSpan.FromMinutes(5));
        await stop.CancelAsync();
        await sampler;
        foreach (var host in SeparateHostNetwork.Hosts)
            output.WriteLine($"{host} ({net.NamespaceOf(host)}, {net.AddressOf(host)}) sockets:\n  " + string.Join("\n  ", sockets[host].Select(s => s.ToString()).Distinct()));
        Assert.True(job.State == JobState.Completed, $"train job {job.State}: {job.Reason}\n{fixture.Logs()}");

        var music = TrainJobFolders.ReadJson<TrainJobOutcome>(TrainJobFolders.ResultFile(fixture.JobFolderOf(Music, "it-netns"), RoundNumber.First))!;
        var rankings = TrainJobFolders.ReadRankings(TrainJobFolders.RankingsFile(fixture.JobFolderOf(Music, "it-netns"), RoundNumber.First));
        Assert.Equal("Encrypted", music.Mode);
        Assert.True(music.AlignedRows > 500, $"{music.AlignedRows} aligned rows");
        Assert.True(music.Steps > 0, $"{music.Steps} training steps");
        Assert.True(rankings.Count > 100 && rankings.Count == music.EvaluationRows, $"{rankings.Count} ranked users, {music.EvaluationRows} known to E");
        Assert.True(job.Relay.MessagesRelayed > 0, "nothing relayed");
        output.WriteLine($"job {job.JobId}: {music.AlignedRows} aligned rows, {music.Steps} steps, {rankings.Count} users ranked, " +
                         $"{job.Relay.MessagesRelayed} messages relayed; {(DateTime.UtcNow - started).TotalSeconds:F0} s");

        // Every connection a party had was its own, to the coordinator's port; the coordinator only ever answered on
        // its port, to the parties (from their namespaces' addresses) and the operator.
        foreach (var party in new[] { Music, External })
        {
            Assert.NotEmpty(sockets[party]);
            Assert.All(sockets[party], s =>
            {
                Assert.Equal(net.AddressOf(party), s.Local.Address);
                Assert.Equal(net.CoordinatorEndpoint, s.Peer);
            });
        }
        Assert.All(sockets[Coordinator], s => Assert.Equal(net.CoordinatorEndpoint, s.Local));
        var peers = sockets[Coordinator].Select(s => s.Peer.Address).ToHashSet();
        Assert.Contains(net.MusicAddress, peers);
        Assert.Contains(net.ExternalAddress, peers);
        Assert.Subset(new HashSet<IPAddress> { net.MusicAddress, net.ExternalAddress, net.RootAddress }, peers);

        // The rules' counters over the whole run: the parties dialled the coordinator and nothing else, nobody tried
        // to open a connection to a party, and the coordinator opened none.
        foreach (var party in new[] { Music, External })
        {
            Assert.True(net.Counter(party, "outbound_to_coordinator") > 0, $"{party} opened no connection to the coordinator");
            Assert.Equal(0, net.Counter(party, "outbound_other_dropped"));
            Assert.Equal(0, net.Counter(party, "inbound_syn_dropped"));
        }
        Assert.True(net.Counter(Coordinator, "inbound_to_coordinator") >= 3, "fewer than three connections (music, external, operator) accepted");
        Assert.Equal(0, net.Counter(Coordinator, "outbound_dropped"));
        Assert.Equal(0, net.Counter(Coordinator, "inbound_other_dropped"));

        // The rules are in force. Each party's own listener (its Host:Address is its namespace's address) answers from
        // inside its namespace but from nowhere else; the coordinator answers on its port only.
        var musicListener = new IPEndPoint(net.MusicAddress, fixture.Federation.Hosts[Music].Address!.Port);
        var externalListener = new IPEndPoint(net.ExternalAddress, fixture.Federation.Hosts[External].Address!.Port);
        var metrics = new IPEndPoint(net.CoordinatorAddress, SeparateHostNetwork.CoordinatorMetricsPort);
        Assert.True(net.Connects(Music, musicListener), "negative control: M's listener does not answer inside its own namespace");
        Assert.True(net.Connects(External, externalListener), "negative control: E's listener does not answer inside its own namespace");
        Assert.True(net.Connects(Coordinator, metrics), "negative control: the coordinator's metrics listener does not answer inside its namespace");
        Assert.True(net.Connects(Music, net.CoordinatorEndpoint), "M cannot reach the coordinator's port");
        Assert.True(net.Connects(External, net.CoordinatorEndpoint), "E cannot reach the coordinator's port");

        Assert.False(net.Connects(Music, externalListener), "M reached E");
        Assert.False(net.Connects(External, musicListener), "E reached M");
        Assert.True(net.Counter(Music, "outbound_other_dropped") > 0, "outbound_other_dropped of " + Music + " did not count the probe");
        Assert.True(net.Counter(External, "outbound_other_dropped") > 0, "outbound_other_dropped of " + External + " did not count the probe");

        Assert.False(net.Connects(null, externalListener), "the operator's namespace reached E");
        Assert.False(net.Connects(null, musicListener), "the operator's namespace reached M");
        Assert.True(net.Counter(Music, "inbound_syn_dropped") > 0, "inbound_syn_dropped of " + Music + " did not count the probe");
        Assert.True(net.Counter(External, "inbound_syn_dropped") > 0, "inbound_syn_dropped of " + External + " did not count the probe");

        Assert.False(net.Connects(Coordinator, musicListener), "the coordinator opened a connection to M");
        Assert.True(net.Counter(Coordinator, "outbound_dropped") > 0, "outbound_dropped of " + Coordinator + " did not count the probe");
        Assert.False(net.Connects(null, metrics), "the operator's namespace reached a coordinator port other than its gRPC port");
        Assert.True(net.Counter(Coordinator, "inbound_other_dropped") > 0, "inbound_other_dropped of " + Coordinator + " did not count the probe");
        output.WriteLine($"probes done; {(DateTime.UtcNow - started).TotalSeconds:F0} s in all");
    }
}
