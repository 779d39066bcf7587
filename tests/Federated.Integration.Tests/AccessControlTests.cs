using Federated.Security;
using Federated.Transport.Client;
using Federated.Transport.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Federated.Integration.Tests;

[Collection(FederationCollection.Name)]
public sealed class AccessControlTests(FederationFixture fixture)
{
    private CertificateValidator FederationValidator() => new(CertificateFiles.LoadAuthority(fixture.Certificates));

    [Fact]
    public async Task A_client_certificate_from_another_CA_is_refused_during_the_TLS_handshake()
    {
        using var otherAuthority = CertificateFactory.CreateAuthority("Some Other CA", TimeSpan.FromDays(1));
        // Same party id and role as the real music party: only the issuer differs.
        using var impostor = CertificateFactory.IssueParty(otherAuthority, "music", PartyRole.Music, [], TimeSpan.FromDays(1));
        using var connection = CoordinatorConnection.Open(fixture.Federation.CoordinatorAddress, impostor, FederationValidator());

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await connection.Registry.RegisterAsync(new RegisterRequest(), deadline: DateTime.UtcNow.AddSeconds(20)));

        Assert.NotEqual(StatusCode.PermissionDenied, error.StatusCode); // refused before any RPC ran
        Assert.Contains(error.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal, StatusCode.Unknown });
        Assert.Contains("Refused TLS client certificate", await ReadLogAsync("coordinator"));

        // Positive control: the genuine music certificate gets through the same path.
        using var genuine = fixture.Connect("music");
        var reply = await genuine.Registry.HeartbeatAsync(new HeartbeatRequest());
        Assert.NotNull(reply);
    }

    [Fact]
    public async Task A_certificate_of_the_federation_CA_that_is_not_enrolled_gets_PermissionDenied()
    {
        using var authority = CertificateFiles.Load(fixture.Certificates, CertificateFiles.AuthorityName, withPrivateKey: true);
        using var stranger = CertificateFactory.IssueParty(authority, "stranger", PartyRole.Music, [], TimeSpan.FromDays(1));
        using var connection = CoordinatorConnection.Open(fixture.Federation.CoordinatorAddress, stranger, FederationValidator());

        var error = await Assert.ThrowsAsync<RpcException>(async () => await connection.Registry.RegisterAsync(new RegisterRequest()));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("not enrolled", error.Status.Detail);
    }

    [Fact]
    public async Task A_revoked_party_is_refused()
    {
        using var authority = CertificateFiles.Load(fixture.Certificates, CertificateFiles.AuthorityName, withPrivateKey: true);
        using var extra = CertificateFactory.IssueParty(authority, "external-two", PartyRole.External, [], TimeSpan.FromDays(1));
        using var op = fixture.Connect("operator");
        await op.Registry.EnrollPartyAsync(new EnrollPartyRequest { CertificatePem = extra.ExportCertificatePem() });
        using var connection = CoordinatorConnection.Open(fixture.Federation.CoordinatorAddress, extra, FederationValidator());
        await connection.Registry.HeartbeatAsync(new HeartbeatRequest()); // enrolled: accepted

        var revoked = await op.Registry.RevokePartyAsync(new RevokePartyRequest { PartyId = "external-two" });
        Assert.True(revoked.Revoked);
        var error = await Assert.ThrowsAsync<RpcException>(async () => await connection.Registry.HeartbeatAsync(new HeartbeatRequest()));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains("revoked", error.Status.Detail);
    }

    [Fact]
    public async Task A_registered_party_calling_outside_its_role_gets_PermissionDenied()
    {
        using var music = fixture.Connect("music");
        using var op = fixture.Connect("operator");

        var listParties = await Assert.ThrowsAsync<RpcException>(async () => await music.Registry.ListPartiesAsync(new ListPartiesRequest()));
        Assert.Equal(StatusCode.PermissionDenied, listParties.StatusCode);
        Assert.Contains("needs role Operator", listParties.Status.Detail);

        var createJob = await Assert.ThrowsAsync<RpcException>(async () => await music.Jobs.CreateJobAsync(new CreateJobRequest { Kind = "ping" }));
        Assert.Equal(StatusCode.PermissionDenied, createJob.StatusCode);

        // The operator may administer but not act as a party on the relay.
        var operatorRelay = await Assert.ThrowsAsync<RpcException>(async () =>
            await op.Relay.ExchangeOfferAsync(new ExchangeOfferRequest { JobId = "any", Offer = ByteString.CopyFrom(1, 2, 3) }));
        Assert.Equal(StatusCode.PermissionDenied, operatorRelay.StatusCode);
    }

    [Fact]
    public async Task A_party_may_not_send_as_another_party_nor_relay_in_a_job_that_is_not_its_own()
    {
        using var op = fixture.Connect("operator");
        var job = await op.Jobs.CreateJobAsync(LocalFederationFixture.NewJob("stream", ("count", "50"), ("delayMs", "20")));
        try
        {
            using var music = fixture.Connect("music");
            using var call = music.Relay.Send();
            var forged = new RelayHeader
            {
                JobId = job.JobId, MessageType = "stream.item", Sender = "external", Receiver = "music", Sequence = 1, Generation = 1, PayloadSize = 4,
            };
            await call.RequestStream.WriteAsync(new RelayFrame { Header = forged, Sequence = 1, Data = ByteString.CopyFrom(1, 2, 3, 4), Last = true });
            var error = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext());
            Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
            Assert.Contains("may not send as 'external'", error.Status.Detail);

            // The enrolled but uninvolved party "external-stranger" cannot touch the job's relay.
            using var authority = CertificateFiles.Load(fixture.Certificates, CertificateFiles.AuthorityName, withPrivateKey: true);
            using var outsider = CertificateFactory.IssueParty(authority, "external-outsider", PartyRole.External, [], TimeSpan.FromDays(1));
            await op.Registry.EnrollPartyAsync(new EnrollPartyRequest { CertificatePem = outsider.ExportCertificatePem() });
            using var outsiderConnection = CoordinatorConnection.Open(fixture.Federation.CoordinatorAddress, outsider, FederationValidator());
            var notMine = await Assert.ThrowsAsync<RpcException>(async () =>
                await outsiderConnection.Relay.ExchangeOfferAsync(new ExchangeOfferRequest { JobId = job.JobId, Offer = ByteString.CopyFrom(1) }));
            Assert.Equal(StatusCode.PermissionDenied, notMine.StatusCode);
            await op.Registry.RevokePartyAsync(new RevokePartyRequest { PartyId = "external-outsider" });
        }
        finally
        {
            var finished = await fixture.WaitForJobAsync(op, job.JobId, TimeSpan.FromSeconds(60));
            Assert.Equal(JobState.Completed, finished.State); // the forged frame never reached the job
        }
    }

    private async Task<string> ReadLogAsync(string host)
    {
        await Task.Delay(300); // let the host flush its console log
        var path = fixture.Federation.Hosts[host].LogFile;
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }
}
