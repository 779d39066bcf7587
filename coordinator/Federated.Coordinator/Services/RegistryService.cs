using Federated.Coordinator.Registry;
using Federated.Hosting.Access;
using Federated.Security;
using Federated.Transport.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using System.Security.Cryptography.X509Certificates;

namespace Federated.Coordinator.Services;

public sealed class RegistryService(PartyRegistry registry, IOptions<CoordinatorOptions> options,
    ILogger<RegistryService> logger) : Transport.V1.Registry.RegistryBase
{
    [Authorize(Policy = FederatedPolicies.Party)]
    public override Task<RegisterReply> Register(RegisterRequest request, ServerCallContext context)
    {
        var party = context.Caller();
        registry.MarkSeen(party.PartyId, request.SupportedJobKinds);
        logger.LogInformation("Party {PartyId} ({Role}, agent {Version}) registered; job kinds: {Kinds}",
            party.PartyId, party.Role, request.AgentVersion, string.Join(", ", request.SupportedJobKinds));
        return Task.FromResult(new RegisterReply
        {
            PartyId = party.PartyId,
            Role = ToProto(party.Role),
            HeartbeatIntervalSeconds = options.Value.HeartbeatSeconds,
        });
    }

    [Authorize(Policy = FederatedPolicies.Party)]
    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        var party = context.Caller();
        registry.MarkSeen(party.PartyId);
        return Task.FromResult(new HeartbeatReply());
    }

    [Authorize(Policy = FederatedPolicies.Operator)]
    public override Task<ListPartiesReply> ListParties(ListPartiesRequest request, ServerCallContext context)
    {
        var reply = new ListPartiesReply();
        reply.Parties.AddRange(registry.List().Select(ToProto));
        return Task.FromResult(reply);
    }

    [Authorize(Policy = FederatedPolicies.Operator)]
    public override Task<PartyInfo> EnrollParty(EnrollPartyRequest request, ServerCallContext context)
    {
        var op = context.Caller();
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(request.CertificatePem);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"certificate_pem is not a PEM certificate: {e.Message}"));
        }
        using (certificate)
        {
            try
            {
                var (party, replaced) = registry.EnrollCore(certificate, request.RetirePrevious);
                if (replaced is null)
                    logger.LogInformation("Operator {Operator} enrolled {PartyId} ({Role}), fingerprint {Fingerprint}", op.PartyId, party.PartyId, party.Role, party.Fingerprint);
                else
                    logger.LogWarning("Operator {Operator} rotated {PartyId} ({Role}) to certificate {Fingerprint}; {Previous} is accepted until {RetiresAt:O}",
                        op.PartyId, party.PartyId, party.Role, party.Fingerprint, replaced.Fingerprint, replaced.RetiresAt);
                return Task.FromResult(ToProto(party));
            }
            catch (Exception e) when (e is InvalidOperationException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
            }
        }
    }

    [Authorize(Policy = FederatedPolicies.Operator)]
    public override Task<PartyInfo> RevokeParty(RevokePartyRequest request, ServerCallContext context)
    {
        var op = context.Caller();
        try
        {
            var party = registry.Revoke(request.PartyId);
            logger.LogWarning("Operator {Operator} revoked {PartyId}", op.PartyId, party.PartyId);
            return Task.FromResult(ToProto(party));
        }
        catch (KeyNotFoundException e)
        {
            throw new RpcException(new Status(StatusCode.NotFound, e.Message));
        }
    }

    private PartyInfo ToProto(PartyRecord party)
    {
        var online = party.LastSeen is { } seen && DateTimeOffset.UtcNow - seen < TimeSpan.FromSeconds(options.Value.OfflineAfterSeconds) && !party.Revoked;
        var info = new PartyInfo
        {
            PartyId = party.PartyId,
            Role = ToProto(party.Role),
            CertificateFingerprint = party.Fingerprint,
            Revoked = party.Revoked,
            Online = online && party.Role is PartyRole.Music or PartyRole.External,
            LastSeen = party.LastSeen is { } s ? Timestamp.FromDateTimeOffset(s) : null,
        };
        var certificates = registry.Certificates(party.PartyId);
        if (certificates.FirstOrDefault(c => c.Fingerprint == party.Fingerprint) is { } current)
        {
            info.CertificateSubject = current.Subject ?? "";
            if (current.NotAfter is { } expires)
                info.CertificateNotAfter = Timestamp.FromDateTimeOffset(expires);
        }
        var now = DateTimeOffset.UtcNow;
        if (certificates.FirstOrDefault(c => c.Fingerprint != party.Fingerprint && c.AcceptedAt(now)) is { } previous)
        {
            info.PreviousFingerprint = previous.Fingerprint;
            info.PreviousRetiresAt = Timestamp.FromDateTimeOffset(previous.RetiresAt!.Value);
        }
        info.SupportedJobKinds.AddRange(party.SupportedJobKinds);
        return info;
    }

    public static PartyRoleKind ToProto(PartyRole role) => role switch
    {
        PartyRole.Music => PartyRoleKind.PartyRoleMusic,
        PartyRole.External => PartyRoleKind.PartyRoleExternal,
        PartyRole.Operator => PartyRoleKind.PartyRoleOperator,
        PartyRole.Coordinator => PartyRoleKind.PartyRoleCoordinator,
        _ => PartyRoleKind.PartyRoleUnspecified,
    };
}
