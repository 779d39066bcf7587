using Federated.Security;
using Federated.Transport.Client;
using Federated.Transport.V1;
using Google.Protobuf;
using Grpc.Core;

namespace Federated.Integration.Tests;

/// <summary>
/// Every RPC of the coordinator called by an enrolled, CA-signed caller of each role: the roles outside the
/// method's policy get PermissionDenied naming the roles it needs; the roles inside it get past authorization (the
/// requests name no existing job or party, so an admitted call ends in NotFound, InvalidArgument, success, or the
/// deadline of a stream that waits for work, never in a refusal).
/// </summary>
[Collection(FederationCollection.Name)]
public sealed class RolePolicyTests(FederationFixture fixture)
{
    private static readonly PartyRole[] Party = [PartyRole.Music, PartyRole.External];
    private static readonly PartyRole[] Operator = [PartyRole.Operator];
    private static readonly PartyRole[] PartyOrOperator = [PartyRole.Music, PartyRole.External, PartyRole.Operator];

    private const string NoJob = "no-such-job";

    /// <summary>Method (service/method) → the roles it admits, and a harmless call of it.</summary>
    private static readonly Dictionary<string, (PartyRole[] Roles, Func<CoordinatorConnection, DateTime, Task> Call)> Table = new()
    {
        ["Registry/Register"] = (Party, (c, d) => c.Registry.RegisterAsync(new RegisterRequest { AgentVersion = "role-policy-test" }, deadline: d).ResponseAsync),
        ["Registry/Heartbeat"] = (Party, (c, d) => c.Registry.HeartbeatAsync(new HeartbeatRequest(), deadline: d).ResponseAsync),
        ["Registry/ListParties"] = (Operator, (c, d) => c.Registry.ListPartiesAsync(new ListPartiesRequest(), deadline: d).ResponseAsync),
        ["Registry/EnrollParty"] = (Operator, (c, d) => c.Registry.EnrollPartyAsync(new EnrollPartyRequest { CertificatePem = "" }, deadline: d).ResponseAsync),
        ["Registry/RevokeParty"] = (Operator, (c, d) => c.Registry.RevokePartyAsync(new RevokePartyRequest { PartyId = "no-such-party" }, deadline: d).ResponseAsync),
        ["Jobs/CreateJob"] = (Operator, (c, d) => c.Jobs.CreateJobAsync(new CreateJobRequest { Kind = "" }, deadline: d).ResponseAsync),
        ["Jobs/StopJob"] = (Operator, (c, d) => c.Jobs.StopJobAsync(new StopJobRequest { JobId = NoJob }, deadline: d).ResponseAsync),
        ["Jobs/ListJobs"] = (PartyOrOperator, (c, d) => c.Jobs.ListJobsAsync(new ListJobsRequest(), deadline: d).ResponseAsync),
        ["Jobs/GetJob"] = (PartyOrOperator, (c, d) => c.Jobs.GetJobAsync(new GetJobRequest { JobId = NoJob }, deadline: d).ResponseAsync),
        ["Jobs/WatchJobEvents"] = (PartyOrOperator, (c, d) => Drain(c.Jobs.WatchJobEvents(new WatchJobEventsRequest { JobId = NoJob }, deadline: d).ResponseStream)),
        ["Jobs/WatchAssignments"] = (Party, (c, d) => Drain(c.Jobs.WatchAssignments(new WatchAssignmentsRequest(), deadline: d).ResponseStream)),
        ["Jobs/ReportJobState"] = (Party, (c, d) => c.Jobs.ReportJobStateAsync(new ReportJobStateRequest { JobId = NoJob, State = JobState.Running }, deadline: d).ResponseAsync),
        ["Jobs/GetAuditHead"] = (Party, (c, d) => c.Jobs.GetAuditHeadAsync(new GetAuditHeadRequest { JobId = NoJob }, deadline: d).ResponseAsync),
        ["JobDefinitions/SubmitDefinition"] = (Operator, (c, d) => c.JobDefinitions.SubmitDefinitionAsync(new SubmitDefinitionRequest { Yaml = "" }, deadline: d).ResponseAsync),
        ["JobDefinitions/ListDefinitions"] = (Operator, (c, d) => c.JobDefinitions.ListDefinitionsAsync(new ListDefinitionsRequest(), deadline: d).ResponseAsync),
        ["JobDefinitions/ListRuns"] = (Operator, (c, d) => c.JobDefinitions.ListRunsAsync(new ListRunsRequest { Name = NoJob }, deadline: d).ResponseAsync),
        ["JobDefinitions/RunNow"] = (Operator, (c, d) => c.JobDefinitions.RunNowAsync(new DefinitionRequest { Name = NoJob }, deadline: d).ResponseAsync),
        ["JobDefinitions/SetDefinitionEnabled"] = (Operator, (c, d) => c.JobDefinitions.SetDefinitionEnabledAsync(new SetDefinitionEnabledRequest { Name = NoJob }, deadline: d).ResponseAsync),
        ["JobDefinitions/RemoveDefinition"] = (Operator, (c, d) => c.JobDefinitions.RemoveDefinitionAsync(new DefinitionRequest { Name = NoJob }, deadline: d).ResponseAsync),
        ["Relay/ExchangeOffer"] = (Party, (c, d) => c.Relay.ExchangeOfferAsync(new ExchangeOfferRequest { JobId = NoJob, Offer = ByteString.CopyFrom(1) }, deadline: d).ResponseAsync),
        ["Relay/Send"] = (Party, async (c, d) =>
        {
            using var call = c.Relay.Send(deadline: d);
            await call.RequestStream.CompleteAsync();
            await Drain(call.ResponseStream);
        }),
        ["Relay/Receive"] = (Party, (c, d) => Drain(c.Relay.Receive(new ReceiveRequest { JobId = NoJob }, deadline: d).ResponseStream)),
        ["Relay/Acknowledge"] = (Party, (c, d) => c.Relay.AcknowledgeAsync(new AcknowledgeRequest { JobId = NoJob, ConsumedUpTo = 1 }, deadline: d).ResponseAsync),
    };

    public static TheoryData<string> Methods => [.. Table.Keys];

    [Fact]
    public void The_table_covers_every_rpc_of_the_coordinator()
    {
        var served = new[] { Registry.Descriptor, Jobs.Descriptor, JobDefinitions.Descriptor, Relay.Descriptor }
            .SelectMany(s => s.Methods.Select(m => $"{s.Name}/{m.Name}")).Order().ToArray();
        Assert.Equal(served, Table.Keys.Order().ToArray());
        Assert.All(new[] { Registry.Descriptor, Jobs.Descriptor, JobDefinitions.Descriptor, Relay.Descriptor }, s => Assert.Equal("federated.transport.v1." + s.Name, s.FullName));
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public async Task Each_role_outside_the_methods_policy_is_refused_and_each_role_inside_it_is_admitted(string method)
    {
        var (admitted, call) = Table[method];
        using var op = fixture.Connect("operator");
        using var authority = CertificateFiles.Load(fixture.Certificates, CertificateFiles.AuthorityName, withPrivateKey: true);
        var extras = new[] { ("policy-music", PartyRole.Music), ("policy-external", PartyRole.External), ("policy-coordinator", PartyRole.Coordinator) };
        var callers = new List<(PartyRole Role, CoordinatorConnection Connection)> { (PartyRole.Operator, op) };
        var certificates = new List<System.Security.Cryptography.X509Certificates.X509Certificate2>();
        try
        {
            foreach (var (partyId, role) in extras)
            {
                var certificate = CertificateFactory.IssueParty(authority, partyId, role, [], TimeSpan.FromDays(1));
                certificates.Add(certificate);
                await op.Registry.EnrollPartyAsync(new EnrollPartyRequest { CertificatePem = certificate.ExportCertificatePem() });
                callers.Add((role, CoordinatorConnection.Open(fixture.Federation.CoordinatorAddress, certificate,
                    new CertificateValidator(CertificateFiles.LoadAuthority(fixture.Certificates)))));
            }

            foreach (var (role, connection) in callers)
            {
                var status = await OutcomeAsync(() => call(connection, DateTime.UtcNow.AddSeconds(2)));
                if (admitted.Contains(role))
                {
                    Assert.True(status.StatusCode is not (StatusCode.PermissionDenied or StatusCode.Unauthenticated),
                        $"{role} was refused {method}, which its policy admits: {status}");
                }
                else
                {
                    Assert.True(status.StatusCode == StatusCode.PermissionDenied, $"{role} calling {method}: {status}");
                    Assert.Contains($"has role {role}; /federated.transport.v1.{method} needs role {string.Join(" or ", admitted)}", status.Detail);
                }
            }
        }
        finally
        {
            foreach (var (_, connection) in callers.Skip(1))
                connection.Dispose();
            foreach (var certificate in certificates)
                certificate.Dispose();
            // Revoked, they are no candidates when a job names no party.
            foreach (var (partyId, _) in extras.Take(certificates.Count))
                await op.Registry.RevokePartyAsync(new RevokePartyRequest { PartyId = partyId });
        }
    }

    private static async Task<Status> OutcomeAsync(Func<Task> call)
    {
        try
        {
            await call();
            return Status.DefaultSuccess;
        }
        catch (RpcException e)
        {
            return e.Status;
        }
    }

    private static async Task Drain<T>(IAsyncStreamReader<T> stream)
    {
        while (await stream.MoveNext(CancellationToken.None))
        {
        }
    }
}
