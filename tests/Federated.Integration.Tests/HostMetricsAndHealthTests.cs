using System.Globalization;
using Federated.Audit;
using Federated.Launcher;
using Federated.Operator;
using Federated.Security;
using Federated.Transport.Client;
using Federated.Transport.V1;
using Grpc.Health.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Federated.Integration.Tests;

/// <summary>A federation whose three hosts each serve /metrics on a plain-HTTP loopback port, with a restartable coordinator.</summary>
public sealed class MetricsFederationFixture() : LocalFederationFixture("metrics")
{
    public IReadOnlyDictionary<string, int> MetricsPorts { get; } = new Dictionary<string, int>
    {
        [RunFolder.CoordinatorName] = FreePort(), [RunFolder.MusicName] = FreePort(), [RunFolder.ExternalName] = FreePort(),
    };

    protected override LocalFederationOptions Configure(LocalFederationOptions options) =>
        Restartable(options, partyLostSeconds: 30) with { MetricsPorts = MetricsPorts };
}

[CollectionDefinition(Name)]
public sealed class MetricsFederationCollection : ICollectionFixture<MetricsFederationFixture>
{
    public const string Name = "metrics-federation";
}

/// <summary>One sample of the Prometheus text format: name, labels, value.</summary>
public sealed record MetricSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A scrape of one host's /metrics, parsed (text format 0.0.4: HELP, TYPE and sample lines).</summary>
public sealed class MetricsScrape
{
    public required string Text { get; init; }
    public required IReadOnlyList<MetricSample> Samples { get; init; }
    public required IReadOnlyDictionary<string, string> Help { get; init; }

    public static async Task<MetricsScrape> ReadAsync(int port)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        return Parse(text);
    }

    public static MetricsScrape Parse(string text)
    {
        var samples = new List<MetricSample>();
        var help = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var rest = line["# HELP ".Length..];
                var space = rest.IndexOf(' ', StringComparison.Ordinal);
                help[rest[..space]] = rest[(space + 1)..];
                continue;
            }
            if (line.StartsWith('#'))
                continue;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            string name;
            string value;
            var brace = line.IndexOf('{', StringComparison.Ordinal);
            if (brace >= 0)
            {
                name = line[..brace];
                var close = line.LastIndexOf('}');
                foreach (var pair in SplitLabels(line[(brace + 1)..close]))
                {
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    labels[pair[..eq]] = pair[(eq + 2)..^1].Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
                }
                value = line[(close + 1)..].Trim().Split(' ')[0];
            }
            else
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                (name, value) = (parts[0], parts[1]);
            }
            samples.Add(new MetricSample(name, labels, double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture)));
        }
        return new MetricsScrape { Text = text, Samples = samples, Help = help };
    }

    private static IEnumerable<string> SplitLabels(string inner)
    {
        var start = 0;
        var quoted = false;
        for (var i = 0; i < inner.Length; i++)
        {
            if (inner[i] == '"' && (i == 0 || inner[i - 1] != '\\'))
                quoted = !quoted;
            else if (inner[i] == ',' && !quoted)
            {
                yield return inner[start..i];
                start = i + 1;
            }
        }
        if (start < inner.Length)
            yield return inner[start..];
    }

    /// <summary>The value of the sample with exactly these labels (0 when the series does not exist yet).</summary>
    public double Value(string name, params (string Label, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && s.Labels.Count == labels.Length && labels.All(l => s.Labels.GetValueOrDefault(l.Label) == l.Value))
            .Select(s => s.Value).DefaultIfEmpty(0).Single();

    public double Sum(string name) => Samples.Where(s => s.Name == name).Sum(s => s.Value);
}

[Collection(MetricsFederationCollection.Name)]
public sealed class HostMetricsAndHealthTests(MetricsFederationFixture fixture)
{
    private int Port(string host) => fixture.MetricsPorts[host];

    [Fact]
    public async Task The_metrics_of_every_host_count_exactly_what_the_coordinator_relayed_and_audited_for_a_ping_job()
    {
        using var op = fixture.Connect();
        var before = await MetricsScrape.ReadAsync(Port(RunFolder.CoordinatorName));
        var musicBefore = await MetricsScrape.ReadAsync(Port(RunFolder.MusicName));
        var externalBefore = await MetricsScrape.ReadAsync(Port(RunFolder.ExternalName));
        long auditBefore;
        using (var log = AuditLog.Open(fixture.AuditDatabase))
            auditBefore = log.Count;

        var job = await fixture.RunJobAsync("ping", ("rounds", "5"), ("size", "300"));
        Assert.Equal(JobState.Completed, job.State);

        // The job's last audit events follow its completion by a moment: read both until the log stops growing.
        List<AuditRecord> added = [];
        for (var settled = 0; settled < 2; await Task.Delay(300))
        {
            using var log = AuditLog.Open(fixture.AuditDatabase);
            var now = log.Read(auditBefore + 1, int.MaxValue).ToList();
            settled = now.Count == added.Count ? settled + 1 : 0;
            added = now;
        }
        var after = await MetricsScrape.ReadAsync(Port(RunFolder.CoordinatorName));
        var relayed = added.Where(r => r.Entry.JobId == job.JobId && r.Entry.Kind == AuditEntry.RelayKind).ToList();
        Assert.Equal(10, relayed.Count);

        // Relay counters, by message type and direction, equal the audit log's relay records and the job's relay stats.
        double Delta(string name, params (string, string)[] labels) => after.Value(name, labels) - before.Value(name, labels);
        foreach (var group in relayed.GroupBy(r => (r.Entry.MessageType!, r.Entry.Sender!, r.Entry.Receiver!)))
        {
            var labels = new[] { ("message_type", group.Key.Item1), ("sender", group.Key.Item2), ("receiver", group.Key.Item3) };
            Assert.Equal(group.Count(), Delta("federated_relay_messages_total", labels));
            Assert.Equal(group.Sum(r => r.Entry.PayloadBytes!.Value), Delta("federated_relay_bytes_total", labels));
        }
        Assert.Equal(5, Delta("federated_relay_messages_total", ("message_type", "ping.request"), ("sender", "external"), ("receiver", "music")));
        Assert.Equal((double)job.Relay.MessagesRelayed, after.Sum("federated_relay_messages_total") - before.Sum("federated_relay_messages_total"));
        Assert.Equal((double)job.Relay.BytesRelayed, after.Sum("federated_relay_bytes_total") - before.Sum("federated_relay_bytes_total"));

        // Audit records appended, by kind, equal what the log gained (relay and job events of this job and any other).
        Assert.Equal(added.Count(r => r.Entry.Kind == AuditEntry.RelayKind), Delta("federated_audit_records_appended_total", ("kind", "relay")));
        Assert.Equal(added.Count(r => r.Entry.Kind == AuditEntry.JobKind), Delta("federated_audit_records_appended_total", ("kind", "job")));

        // Jobs by state equal the coordinator's job list; this job went none -> pending -> running -> completed.
        var jobs = (await op.Jobs.ListJobsAsync(new ListJobsRequest())).Jobs;
        foreach (var state in new[] { JobState.Pending, JobState.Running, JobState.Completed, JobState.Failed, JobState.Stopped })
            Assert.Equal(jobs.Count(j => j.State == state), after.Value("federated_jobs", ("state", state.ToString().ToLowerInvariant())));
        Assert.Equal(1, Delta("federated_job_transitions_total", ("from", "none"), ("to", "pending")));
        Assert.Equal(1, Delta("federated_job_transitions_total", ("from", "running"), ("to", "completed")));
        Assert.Equal(0, after.Sum("federated_relay_link_queue_messages"));

        // Each party counted the job it completed; both saw the coordinator all along.
        foreach (var (host, earlier) in new[] { (RunFolder.MusicName, musicBefore), (RunFolder.ExternalName, externalBefore) })
        {
            var party = await MetricsScrape.ReadAsync(Port(host));
            Assert.Equal(1, party.Value("federated_party_jobs_total", ("kind", "ping"), ("outcome", "completed"))
                - earlier.Value("federated_party_jobs_total", ("kind", "ping"), ("outcome", "completed")));
            Assert.Equal(0, party.Value("federated_party_jobs_running", ("kind", "ping")));
            Assert.Equal(0, party.Sum("federated_heartbeat_failures_total") - earlier.Sum("federated_heartbeat_failures_total"));
            AssertOwnMetricsAreDescribedAndCarryNoJobData(party, job.JobId);
        }
        AssertOwnMetricsAreDescribedAndCarryNoJobData(after, job.JobId);
    }

    private static void AssertOwnMetricsAreDescribedAndCarryNoJobData(MetricsScrape scrape, string jobId)
    {
        var own = scrape.Samples.Where(s => s.Name.StartsWith("federated_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(own);
        foreach (var sample in own)
        {
            var family = scrape.Help.Keys.Where(sample.Name.StartsWith).MaxBy(k => k.Length);
            Assert.True(family is not null && scrape.Help[family].Length > 10, $"{sample.Name} has no HELP text");
            Assert.All(sample.Labels.Values, v => Assert.Matches("^[A-Za-z0-9._+-]{1,64}$", v));
        }
        Assert.DoesNotContain(jobId, scrape.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_metrics_listener_serves_metrics_and_nothing_else_over_plain_http()
    {
        using var http = new HttpClient();
        var port = Port(RunFolder.CoordinatorName);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://127.0.0.1:{port}/metrics"))).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync(new Uri($"http://127.0.0.1:{port}/"))).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound,
            (await http.PostAsync(new Uri($"http://127.0.0.1:{port}/grpc.health.v1.Health/Check"), new ByteArrayContent([]))).StatusCode);
    }

    [Theory]
    [InlineData("--Host:MetricsPort=70000", "Host:MetricsPort 70000 is not a TCP port")]
    [InlineData("--Host:MetricsAddress=metrics.example.org", "Host:MetricsAddress 'metrics.example.org' is not an IP address")]
    [InlineData("--Host:Port=7443", "Host:MetricsPort 7443 is also Host:Port")]
    public async Task A_host_with_a_bad_metrics_listener_setting_refuses_to_start_and_names_the_key(string setting, string expected)
    {
        var folder = Path.Combine(Path.GetTempPath(), "federated-metrics-settings-" + Guid.NewGuid().ToString("N")[..8]);
        var (exitCode, text) = await RefusedStart.CoordinatorAsync($"with {setting}", $"--Tls:CertificateDirectory={fixture.Certificates}",
            "--Tls:CertificateName=coordinator", $"--Coordinator:DataDirectory={folder}", "--Host:Port=0", "--Host:MetricsPort=7443", setting);
        Assert.Equal(1, exitCode);
        Assert.Contains(expected, text, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder), "the refused coordinator created its data folder");
    }

    private CoordinatorConnection HealthOf(string host) => CoordinatorConnection.Open(fixture.Federation.Hosts[host].Address!,
        CertificateFiles.Load(fixture.Certificates, RunFolder.OperatorName, withPrivateKey: true),
        new CertificateValidator(CertificateFiles.LoadAuthority(fixture.Certificates)),
        expectedServerRole: host switch
        {
            RunFolder.MusicName => PartyRole.Music,
            RunFolder.ExternalName => PartyRole.External,
            _ => PartyRole.Coordinator,
        });

    private static async Task<ServingStatus> StatusAsync(CoordinatorConnection connection, string service) =>
        (await connection.Health.CheckAsync(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.AddSeconds(10))).Status;

    private static async Task WaitForStatusAsync(Func<CoordinatorConnection> connect, string service, ServingStatus expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = ServingStatus.Unknown;
        while (DateTime.UtcNow < deadline)
        {
            using var connection = connect();
            try
            {
                last = await StatusAsync(connection, service);
                if (last == expected)
                    return;
            }
            catch (Grpc.Core.RpcException) { /* the host is restarting */ }
            await Task.Delay(200);
        }
        Assert.Fail($"service '{service}' stayed {last}, expected {expected} within {timeout.TotalSeconds} s");
    }

    [Fact]
    public async Task Health_is_serving_in_a_running_federation_and_follows_the_coordinator_link_and_the_coordinator_storage()
    {
        foreach (var (host, service) in new[]
                 {
                     (RunFolder.CoordinatorName, "federated.coordinator"), (RunFolder.MusicName, "federated.party"), (RunFolder.ExternalName, "federated.party"),
                 })
        {
            using var connection = HealthOf(host);
            Assert.Equal(ServingStatus.Serving, await StatusAsync(connection, ""));
            Assert.Equal(ServingStatus.Serving, await StatusAsync(connection, service));
        }

        // A party whose coordinator is gone reports NOT_SERVING (overall and for its own service), and SERVING again once
        // it registered with the restarted coordinator.
        fixture.Federation.Kill(RunFolder.CoordinatorName);
        try
        {
            await WaitForStatusAsync(() => HealthOf(RunFolder.MusicName), "federated.party", ServingStatus.NotServing, TimeSpan.FromSeconds(30));
            using var music = HealthOf(RunFolder.MusicName);
            Assert.Equal(ServingStatus.NotServing, await StatusAsync(music, ""));
            var scrape = await MetricsScrape.ReadAsync(Port(RunFolder.MusicName));
            Assert.True(scrape.Value("federated_party_registrations_total", ("outcome", "failed")) + scrape.Sum("federated_heartbeat_failures_total") > 0,
                "the lost coordinator shows in the party's metrics");
        }
        finally
        {
            await fixture.Federation.StartHostAsync(RunFolder.CoordinatorName, CancellationToken.None);
        }
        await WaitForStatusAsync(() => HealthOf(RunFolder.MusicName), "federated.party", ServingStatus.Serving, TimeSpan.FromSeconds(30));
        await WaitForStatusAsync(() => HealthOf(RunFolder.ExternalName), "federated.party", ServingStatus.Serving, TimeSpan.FromSeconds(30));

        // The coordinator reports NOT_SERVING while its registry and audit log cannot be opened (their folder moved away),
        // and SERVING again once they are back.
        var data = fixture.Folder.CoordinatorData;
        Directory.Move(data, data + ".away");
        try
        {
            using var coordinator = HealthOf(RunFolder.CoordinatorName);
            Assert.Equal(ServingStatus.NotServing, await StatusAsync(coordinator, "federated.coordinator"));
            Assert.Equal(ServingStatus.NotServing, await StatusAsync(coordinator, ""));
        }
        finally
        {
            Directory.Move(data + ".away", data);
        }
        using (var coordinator = HealthOf(RunFolder.CoordinatorName))
            Assert.Equal(ServingStatus.Serving, await StatusAsync(coordinator, "federated.coordinator"));
        using var op = fixture.Connect();
        await LocalFederationFixture.WaitForPartiesAsync(op);
    }
}
