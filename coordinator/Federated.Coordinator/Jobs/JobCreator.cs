using Federated.Coordinator.Registry;
using Federated.Coordinator.Relay;
using Federated.Security;
using Grpc.Core;

namespace Federated.Coordinator.Jobs;

/// <summary>
/// The one path that creates a job, for an operator's request and for a scheduled run: picks the parties (the named
/// ones, or the only enrolled one of each role), checks that both run the kind, plans a train job's label-DP cap with
/// the privacy ledger (refused when the partner's budget is spent), stores the job, opens its relay and writes its
/// <c>created</c> audit event and its reservation. Refusals are <see cref="RpcException"/>s with the status the operator sees.
/// </summary>
public sealed class JobCreator(JobStore jobs, PartyRegistry registry, RelayHub relay, AuditTrail audit, Privacy.PrivacyLedger privacy, ILogger<JobCreator> logger)
{
    public JobRecord Create(string kind, IReadOnlyDictionary<string, string> parameters, string? musicPartyId, string? externalPartyId,
        string createdBy, IReadOnlyDictionary<string, object?>? facts = null)
    {
        if (string.IsNullOrWhiteSpace(kind))
            throw new RpcException(new Status(StatusCode.InvalidArgument, "kind is empty"));
        var music = PickParty(musicPartyId, PartyRole.Music);
        var external = PickParty(externalPartyId, PartyRole.External);
        foreach (var party in new[] { music, external })
            if (party.SupportedJobKinds.Count > 0 && !party.SupportedJobKinds.Contains(kind))
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"party '{party.PartyId}' does not run job kind '{kind}' (it runs: {string.Join(", ", party.SupportedJobKinds)})"));

        // A train job spends label-DP ε of M's labels towards E: its cap comes from the partner's budget (refused when spent).
        var (planned, reservation) = privacy.Plan(kind, parameters, external.PartyId);
        var job = jobs.Create(kind, planned, music.PartyId, external.PartyId);
        relay.For(job.Attempt.Value, job.MusicPartyId, job.ExternalPartyId);
        audit.JobCreated(job, createdBy, music.Fingerprint, external.Fingerprint, facts);
        if (reservation is not null) privacy.Reserved(job, reservation);
        logger.LogInformation("{CreatedBy} created job {JobId} ({Kind}) between {Music} and {External}", createdBy, job.Attempt.Value, job.Kind, music.PartyId, external.PartyId);
        return job;
    }

    private PartyRecord PickParty(string? requested, PartyRole role)
    {
        var candidates = registry.List().Where(p => p.Role == role && !p.Revoked).ToList();
        if (!string.IsNullOrEmpty(requested))
            return candidates.FirstOrDefault(p => p.PartyId == requested)
                ?? throw new RpcException(new Status(StatusCode.NotFound, $"no enrolled, unrevoked {role} party '{requested}'"));
        return candidates.Count switch
        {
            1 => candidates[0],
            0 => throw new RpcException(new Status(StatusCode.FailedPrecondition, $"no {role} party is enrolled")),
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, $"{candidates.Count} {role} parties are enrolled; name one")),
        };
    }
}
