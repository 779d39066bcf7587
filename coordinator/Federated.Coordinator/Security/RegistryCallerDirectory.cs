using System.Security.Cryptography.X509Certificates;
using Federated.Coordinator.Registry;
using Federated.Hosting.Access;
using Federated.Security;
using Grpc.Core;

namespace Federated.Coordinator.Security;

/// <summary>
/// Resolves the caller of an RPC from its TLS client certificate (already checked against the CA) through the party
/// registry: the fingerprint must be enrolled, not retired by a rotation's end, and its party not revoked; party id
/// and role are the registry's. Unknown, retired and revoked certificates get PermissionDenied. What each role may
/// call is the methods' authorization policies.
/// </summary>
public sealed class RegistryCallerDirectory(PartyRegistry registry, TimeProvider time) : ICallerDirectory
{
    public FederatedCaller Resolve(X509Certificate2 certificate)
    {
        var fingerprint = CertificateFactory.Fingerprint(certificate);
        var enrolled = registry.FindCertificate(fingerprint);
        var party = (enrolled is null ? null : registry.Find(enrolled.PartyId))
            ?? throw new CallerRefusedException(StatusCode.PermissionDenied,
                $"certificate '{certificate.Subject}' (fingerprint {fingerprint}) is not enrolled in this federation's party registry");
        if (!enrolled!.AcceptedAt(time.GetUtcNow()))
            throw new CallerRefusedException(StatusCode.PermissionDenied,
                $"certificate {fingerprint} of party '{party.PartyId}' was replaced by {party.Fingerprint} and retired at {enrolled.RetiresAt:O}; present the party's current certificate");
        if (party.Revoked)
            throw new CallerRefusedException(StatusCode.PermissionDenied, $"party '{party.PartyId}' (certificate {fingerprint}) is revoked");
        return new FederatedCaller(party.PartyId, party.Role);
    }
}
