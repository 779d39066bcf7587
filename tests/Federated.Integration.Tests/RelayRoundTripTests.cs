using Federated.Audit;
using Federated.Security;
using Federated.Transport.V1;

namespace Federated.Integration.Tests;

[Collection(FederationCollection.Name)]
public sealed class RelayRoundTripTests(FederationFixture fixture)
{
    [Fact]
    public async Task Sealed_ping_pong_goes_through_the_relay_and_every_message_is_audited_with_the_hash_of_its_sealed_bytes()
    {
        using var op = fixture.Connect("operator");
        var created = await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("ping", ("rounds", "4"), ("size", "100")));

        var job = await fixture.WaitForJobAsync(op, created.JobId, TimeSpan.FromSeconds(60));

        Assert.Equal(JobState.Completed, job.State);
        var external = job.Parties.Single(p => p.PartyId == "external");
        var music = job.Parties.Single(p => p.PartyId == "music");
        Assert.Contains("4 sealed ping-pong round trip(s) of 100 bytes verified", external.Summary);
        Assert.Contains("answered 4 sealed ping(s)", music.Summary);
        Assert.Equal(8UL, job.Relay.MessagesRelayed);
        Assert.Equal(0UL, job.Relay.OldSequenceDropped);

        // The coordinator recorded one relay record per message: header fields in clear, the size and hash of the
        // SEALED payload (plaintext + format byte + 16-byte tag), never the payload itself.
        using var log = AuditLog.Open(fixture.AuditDatabase);
        var records = log.Read(1, int.MaxValue).Where(r => r.Entry.JobId == job.JobId && r.Entry.Kind == AuditEntry.RelayKind).ToList();
        Assert.Equal(8, records.Count);
        Assert.Equal(4, records.Count(r => r.Entry.Sender == "external" && r.Entry.Receiver == "music" && r.Entry.MessageType == "ping.request"));
        Assert.Equal(4, records.Count(r => r.Entry.Sender == "music" && r.Entry.Receiver == "external" && r.Entry.MessageType == "ping.response"));
        Assert.All(records, r => Assert.Equal(100 + SessionKey.Overhead, r.Entry.PayloadBytes));
        Assert.All(records, r => Assert.Matches("^[0-9a-f]{64}$", r.Entry.PayloadSha256!));
        Assert.Equal([1UL, 2UL, 3UL, 4UL], records.Where(r => r.Entry.Sender == "external").Select(r => r.Entry.Sequence!.Value).ToArray());
        // Sealing with fresh nonces: four pings with different nonces never hash alike.
        Assert.Equal(8, records.Select(r => r.Entry.PayloadSha256).Distinct().Count());

        var verification = AuditVerifier.Verify(fixture.AuditDatabase);
        Assert.True(verification.IsValid, verification.Problem);
    }

    [Fact]
    public async Task The_audit_report_of_a_real_job_states_its_parameters_fingerprints_and_relayed_bytes_as_the_coordinator_recorded_them()
    {
        using var op = fixture.Connect("operator");
        var created = await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("ping", ("rounds", "3"), ("size", "200"), ("seed", "4242")));
        var job = await fixture.WaitForJobAsync(op, created.JobId, TimeSpan.FromSeconds(60));
        Assert.Equal(JobState.Completed, job.State);
        var parties = (await op.Registry.ListPartiesAsync(new ListPartiesRequest())).Parties.ToDictionary(p => p.PartyId, p => p.CertificateFingerprint);

        var report = AuditJobReport.Build(fixture.AuditDatabase, job.JobId);

        Assert.True(report.Chain.IsValid, report.Chain.Problem);
        Assert.Equal("ping", report.Job.Kind);
        Assert.Equal("Completed", report.Job.State);
        Assert.Equal("operator", report.Job.CreatedBy);
        // The created event holds the parameters (a seed only as set) and both pinned certificate fingerprints.
        Assert.Equal("3", report.Job.Parameters!["rounds"]);
        Assert.Equal("200", report.Job.Parameters["size"]);
        Assert.DoesNotContain("4242", report.Job.Parameters["seed"]);
        Assert.Equal([("music", "music", parties["music"]), ("external", "external", parties["external"])],
            report.Job.Parties.Select(p => (p.Role, p.PartyId, p.CertificateFingerprint!)));
        Assert.Equal([("E->M", "ping.request", 3L, 3L * (200 + SessionKey.Overhead)), ("M->E", "ping.response", 3L, 3L * (200 + SessionKey.Overhead))],
            report.Traffic.ByType.Select(r => (r.Direction, r.MessageType, r.Messages, r.Bytes)).OrderBy(r => r.Direction, StringComparer.Ordinal));
        Assert.Equal((long)job.Relay.MessagesRelayed, report.Traffic.Messages);
        Assert.Equal(2, report.PartyReports.Count(r => r.State == "Completed"));
        var markdown = AuditReportWriter.ToMarkdown(report);
        Assert.DoesNotContain("4242", markdown);
        Assert.DoesNotContain("4242", AuditReportWriter.ToJson(report));
    }

    [Fact]
    public async Task Every_host_answers_the_standard_grpc_health_service_over_mutual_tls()
    {
        using var op = fixture.Connect("operator");
        var reply = await op.Health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest());
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);

        foreach (var (name, role) in new[] { ("music", PartyRole.Music), ("external", PartyRole.External) })
        {
            var address = fixture.Federation.Hosts[name].Address!;
            using var connection = Federated.Transport.Client.CoordinatorConnection.Open(address,
                CertificateFiles.Load(fixture.Certificates, "operator", withPrivateKey: true),
                new CertificateValidator(CertificateFiles.LoadAuthority(fixture.Certificates)), expectedServerRole: role);
            var party = await connection.Health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest());
            Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, party.Status);
        }
    }

    [Fact]
    public async Task Several_jobs_between_the_same_parties_run_at_once_without_mixing_their_streams()
    {
        using var op = fixture.Connect("operator");
        var created = new List<JobInfo>();
        for (var i = 0; i < 3; i++)
            created.Add(await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("stream", ("count", (200 + 50 * i).ToString(System.Globalization.CultureInfo.InvariantCulture)), ("size", "2048"))));
        created.Add(await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("ping", ("rounds", "20"))));

        var finished = await Task.WhenAll(created.Select(j => fixture.WaitForJobAsync(op, j.JobId, TimeSpan.FromSeconds(120))));

        Assert.All(finished, j => Assert.Equal(JobState.Completed, j.State));
        for (var i = 0; i < 3; i++)
        {
            var count = 200 + 50 * i;
            Assert.Contains($"received {count} of {count} distinct messages, 0 duplicates, 0 out of order", finished[i].Parties.Single(p => p.PartyId == "music").Summary);
            Assert.Equal((ulong)count + 1, finished[i].Relay.MessagesRelayed);
        }
        Assert.Equal(40UL, finished[3].Relay.MessagesRelayed);
    }
}
