using Federated.Coordinator.Registry;
using Federated.Security;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Federated.Coordinator.Security;

/// <summary>
/// Resolves the caller of an RPC from its TLS client certificate (already checked against the CA by Kestrel)
/// through the party registry, and enforces roles. Unknown or revoked certificates get Unauthenticated /
/// PermissionDenied; calls outside the caller's role get PermissionDenied. Request fields never name the caller.
/// </summary>
public sealed class CallerIdentity(PartyRegistry registry, ILogger<CallerIdentity> logger)
{
    public PartyRecord Require(ServerCallContext context, params PartyRole[] allowedRoles)
    {
        var http = context.GetHttpContext();
        var certificate = http.Connection.ClientCertificate
            ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "no client certificate was presented"));
        var fingerprint = CertificateFactory.Fingerprint(certificate);
        var party = registry.FindByFingerprint(fingerprint);
        if (party is null)
        {
            logger.LogWarning("Refused {Method} from unenrolled certificate {Subject} ({Fingerprint})", context.Method, certificate.Subject, fingerprint);
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"certificate '{certificate.Subject}' (fingerprint {fingerprint}) is not enrolled in this federation's party registry"));
        }
        if (party.Revoked)
        {
            logger.LogWarning("Refused {Method} from revoked party {PartyId} ({Fingerprint})", context.Method, party.PartyId, fingerprint);
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"party '{party.PartyId}' (certificate {fingerprint}) is revoked"));
        }
        if (!allowedRoles.Contains(party.Role))
        {
            logger.LogWarning("Refused {Method} from {PartyId}: role {Role} may not call it", context.Method, party.PartyId, party.Role);
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"party '{party.PartyId}' has role {party.Role}; {context.Method} needs role {string.Join(" or ", allowedRoles)}"));
        }
        return party;
    }

    public static readonly PartyRole[] Parties = [PartyRole.Music, PartyRole.External];
    public static readonly PartyRole[] Operators = [PartyRole.Operator];
    public static readonly PartyRole[] Anyone = [PartyRole.Music, PartyRole.External, PartyRole.Operator];
}
