using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Federated.Hosting;
using Federated.Launcher;
using Federated.Operator;
using Federated.Security;
using Federated.Transport.Client;
using Federated.Transport.V1;
using Grpc.Core;

namespace Federated.Integration.Tests;

/// <summary>What a host does with the certificate files it finds when it reads them again (in process).</summary>
public sealed class TlsIdentityReloadTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "federated-reload-" + Guid.NewGuid().ToString("N")[..12]);

    public TlsIdentityReloadTests() => CertificateFiles.CreateDevelopmentSet(_folder, CertificateFiles.DevelopmentParties);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private TlsIdentity LoadMusic() =>
        TlsIdentity.Load(new TlsOptions { CertificateDirectory = _folder, CertificateName = RunFolder.MusicName }, PartyRole.Music);

    private X509Certificate2 Issue(string partyId, PartyRole role, TimeSpan validity)
    {
        using var ca = CertificateFiles.Load(_folder, CertificateFiles.AuthorityName, withPrivateKey: true);
        return CertificateFactory.IssueParty(ca, partyId, role, [], validity);
    }

    [Fact]
    public void A_new_certificate_for_the_same_party_is_taken_and_announced_and_the_same_files_change_nothing()
    {
        using var identity = LoadMusic();
        var before = identity.Fingerprint;
        Assert.Equal(CertificateReloadOutcome.Unchanged, identity.Reload().Outcome);

        (string Old, string New)? announced = null;
        identity.Rotated += (old, current) => announced = (CertificateFactory.Fingerprint(old), CertificateFactory.Fingerprint(current));
        using var next = Issue(RunFolder.MusicName, PartyRole.Music, TimeSpan.FromDays(30));
        CertificateFiles.Save(next, _folder, RunFolder.MusicName);

        var result = identity.Reload();
        Assert.Equal(CertificateReloadOutcome.Rotated, result.Outcome);
        Assert.Equal(before, result.PreviousFingerprint);
        Assert.Equal(CertificateFactory.Fingerprint(next), identity.Fingerprint);
        Assert.Equal(identity.Fingerprint, CertificateFactory.Fingerprint(identity.Certificate));
        Assert.True(identity.Certificate.HasPrivateKey);
        Assert.Equal((before, identity.Fingerprint), announced);
        Assert.Equal(CertificateReloadOutcome.Unchanged, identity.Reload().Outcome);
    }

    [Fact]
    public void Files_for_another_party_another_authority_an_expired_certificate_or_a_foreign_key_are_refused_and_the_certificate_in_use_stays()
    {
        using var identity = LoadMusic();
        var before = identity.Fingerprint;
        var musicPath = CertificateFiles.CertificatePath(_folder, RunFolder.MusicName);
        var musicKey = CertificateFiles.KeyPath(_folder, RunFolder.MusicName);

        void Expect(string because)
        {
            var result = identity.Reload();
            Assert.Equal(CertificateReloadOutcome.Refused, result.Outcome);
            Assert.Contains(because, result.Reason);
            Assert.Equal(before, identity.Fingerprint);
        }

        using (var external = Issue(RunFolder.ExternalName, PartyRole.External, TimeSpan.FromDays(30)))
            CertificateFiles.Save(external, _folder, RunFolder.MusicName);
        Expect("for party 'external' with role External");

        using (var strangerCa = CertificateFactory.CreateAuthority("Another CA", TimeSpan.FromDays(30)))
        using (var stranger = CertificateFactory.IssueParty(strangerCa, RunFolder.MusicName, PartyRole.Music, [], TimeSpan.FromDays(30)))
            CertificateFiles.Save(stranger, _folder, RunFolder.MusicName);
        Expect("does not chain");

        using (var shortLived = Issue(RunFolder.MusicName, PartyRole.Music, TimeSpan.FromMilliseconds(200)))
            CertificateFiles.Save(shortLived, _folder, RunFolder.MusicName);
        Thread.Sleep(400);
        Expect("expired");

        using (var valid = Issue(RunFolder.MusicName, PartyRole.Music, TimeSpan.FromDays(30)))
        {
            CertificateFiles.Save(valid, _folder, RunFolder.MusicName);
            var keyOfAnother = File.ReadAllText(CertificateFiles.KeyPath(_folder, RunFolder.ExternalName));
            File.WriteAllText(musicKey, keyOfAnother);
        }
        Expect(musicPath);

        File.Delete(musicPath);
        Expect(musicPath);
    }
}

/// <summary>
/// Rotation on real processes: the music party switches to a new certificate while a job streams through the relay,
/// the coordinator switches its server certificate, and neither loses the job.
/// </summary>
public sealed class CertificateRotationFixture() : LocalFederationFixture("rotation")
{
    protected override LocalFederationOptions Configure(LocalFederationOptions options) => options with
    {
        ExtraArguments = [.. options.ExtraArguments, "--Tls:ReloadSeconds=1", "--Coordinator:HeartbeatSeconds=1"],
    };
}

public sealed class CertificateRotationTests(CertificateRotationFixture fixture) : IClassFixture<CertificateRotationFixture>
{
    private string ReadLog(string host)
    {
        using var stream = new FileStream(fixture.Folder.LogFile(host), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }

    private async Task WaitForLogAsync(string host, string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!ReadLog(host).Contains(text, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"'{text}' not in the {host} log:\n{fixture.LogTail(host)}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task The_music_party_rotates_its_certificate_during_a_stream_without_losing_a_message_and_its_previous_certificate_can_then_be_retired()
    {
        using var op = fixture.Connect("operator");
        var oldFingerprint = (await op.Registry.ListPartiesAsync(new ListPartiesRequest())).Parties.Single(p => p.PartyId == RunFolder.MusicName).CertificateFingerprint;
        using var oldCertificate = CertificateFiles.Load(fixture.Certificates, RunFolder.MusicName, withPrivateKey: true);

        var job = await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("stream", ("count", "1500"), ("size", "256"), ("delayMs", "5")));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await op.Jobs.GetJobAsync(new GetJobRequest { JobId = job.JobId })).Relay is not { ConsumedByMusic: >= 100 })
        {
            Assert.True(DateTime.UtcNow < deadline, "the stream did not start");
            await Task.Delay(20);
        }

        // The operator's procedure: issue, enrol (the previous certificate stays accepted), hand the files to the party.
        var staging = Path.Combine(fixture.RunDirectory, "rotation");
        var issued = await Fedctl.RunAsync(fixture, "certs", "issue", "--ca", fixture.Certificates, "--party", RunFolder.MusicName, "--role", "Music", "--days", "30", "--out", staging);
        Assert.True(issued.ExitCode == 0, issued.Output);
        var stagedCertificate = CertificateFiles.CertificatePath(staging, RunFolder.MusicName);
        var enrolled = await Fedctl.RunAsync(fixture, "parties", "enroll", "--cert", stagedCertificate);
        Assert.True(enrolled.ExitCode == 0, enrolled.Output);
        using (var staged = CertificateFiles.Load(staging, RunFolder.MusicName, withPrivateKey: true))
            CertificateFiles.Save(staged, fixture.Certificates, RunFolder.MusicName); // key first, then certificate, each renamed into place
        using var newCertificate = CertificateFiles.Load(fixture.Certificates, RunFolder.MusicName, withPrivateKey: false);
        var newFingerprint = CertificateFactory.Fingerprint(newCertificate);
        Assert.NotEqual(oldFingerprint, newFingerprint);

        var music = (await op.Registry.ListPartiesAsync(new ListPartiesRequest())).Parties.Single(p => p.PartyId == RunFolder.MusicName);
        Assert.Equal(newFingerprint, music.CertificateFingerprint);
        Assert.Equal(oldFingerprint, music.PreviousFingerprint);
        Assert.True(music.PreviousRetiresAt.ToDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(1), "the previous certificate keeps the overlap");

        await WaitForLogAsync(RunFolder.MusicName, $"now presents {newFingerprint}", TimeSpan.FromSeconds(30));

        // The party switched: ending the overlap now must not cut it off.
        var retired = await Fedctl.RunAsync(fixture, "parties", "enroll", "--cert", stagedCertificate, "--retire-previous");
        Assert.True(retired.ExitCode == 0, retired.Output);

        var finished = await fixture.WaitForJobAsync(op, job.JobId, TimeSpan.FromSeconds(120));
        Assert.True(finished.State == JobState.Completed, $"job {finished.State}: {finished.Reason}\n{fixture.Logs()}");
        var musicReport = finished.Parties.Single(p => p.PartyId == RunFolder.MusicName);
        Assert.Contains("received 1500 of 1500 distinct messages, 0 duplicates", musicReport.Summary);
        Assert.Equal(1, musicReport.Starts); // never restarted

        // New calls of the music party now run on connections with the new certificate: a whole job goes through.
        await Task.Delay(1500); // a heartbeat or two on the new connections
        var ping = await fixture.RunJobAsync("ping", ("rounds", "3"));
        Assert.True(ping.State == JobState.Completed, $"ping after the retirement: {ping.State} {ping.Reason}\n{fixture.Logs()}");
        Assert.True((await op.Registry.ListPartiesAsync(new ListPartiesRequest())).Parties.Single(p => p.PartyId == RunFolder.MusicName).Online);

        // The retired certificate is refused, naming the rotation.
        using var withOld = CoordinatorConnection.Open(fixture.Federation.CoordinatorAddress, oldCertificate,
            new CertificateValidator(CertificateFiles.LoadAuthority(fixture.Certificates)));
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await withOld.Registry.HeartbeatAsync(new HeartbeatRequest()));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains($"certificate {oldFingerprint} of party 'music' was replaced by {newFingerprint}", refused.Status.Detail);

        // A certificate already replaced cannot be enrolled again as the current one.
        var oldPath = Path.Combine(staging, "old-music.crt.pem");
        await File.WriteAllTextAsync(oldPath, oldCertificate.ExportCertificatePem());
        var reenrol = await Fedctl.RunAsync(fixture, "parties", "enroll", "--cert", oldPath);
        Assert.NotEqual(0, reenrol.ExitCode);
        Assert.Contains("was replaced", reenrol.Output);
    }

    [Fact]
    public async Task The_coordinator_presents_a_new_server_certificate_to_new_connections_without_a_restart_and_jobs_go_on()
    {
        var issued = await Fedctl.RunAsync(fixture, "certs", "issue", "--ca", fixture.Certificates, "--party", RunFolder.CoordinatorName,
            "--role", "Coordinator", "--days", "30", "--force");
        Assert.True(issued.ExitCode == 0, issued.Output);
        using var expected = CertificateFiles.Load(fixture.Certificates, RunFolder.CoordinatorName, withPrivateKey: false);
        var expectedFingerprint = CertificateFactory.Fingerprint(expected);
        await WaitForLogAsync(RunFolder.CoordinatorName, $"now presents {expectedFingerprint}", TimeSpan.FromSeconds(30));

        Assert.Equal(expectedFingerprint, await PresentedServerFingerprintAsync());
        var ping = await fixture.RunJobAsync("ping", ("rounds", "3"));
        Assert.True(ping.State == JobState.Completed, $"ping after the coordinator's rotation: {ping.State} {ping.Reason}\n{fixture.Logs()}");
    }

    /// <summary>The certificate the coordinator presents on a fresh TLS connection (as the operator).</summary>
    private async Task<string> PresentedServerFingerprintAsync()
    {
        using var client = new TcpClient();
        var address = fixture.Federation.CoordinatorAddress;
        await client.ConnectAsync(address.Host, address.Port);
        using var operatorCertificate = CertificateFiles.Load(fixture.Certificates, RunFolder.OperatorName, withPrivateKey: true);
        await using var tls = new SslStream(client.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = address.Host,
            ClientCertificates = [operatorCertificate],
            ApplicationProtocols = [SslApplicationProtocol.Http2],
        });
        using var presented = X509CertificateLoader.LoadCertificate(tls.RemoteCertificate!.GetRawCertData());
        return CertificateFactory.Fingerprint(presented);
    }
}
