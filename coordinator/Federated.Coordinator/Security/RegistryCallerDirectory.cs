using System.Security.Cryptography.X509Certificates;
using Federated.Coordinator.Registry;
using Federated.Hosting.Access;
using Federated.Security;
using Grpc.Core;

namespace Federated.Coordinator.Security;

/// <summary>
/// Resolves the caller of an RPC from its TLS client certificate (already checked against the CA) through the party
/// registry: the fingerprint must be enrolled and not revoked; party id and role are the registry's. Unknown and
/// revoked certificates get PermissionDenied. What each role may call is the methods' authorization policies.
/// </summary>
public sealed class RegistryCallerDirectory(PartyRegistry registry, PartyCertificates certificates) : ICallerDirectory
{
    public FederatedCaller Resolve(X509Certificate2 certificate)
    {
        var fingerprint = CertificateFactory.Fingerprint(certificate);
        var party = registry.FindByFingerprint(fingerprint)
            ?? throw new CallerRefusedException(StatusCode.PermissionDenied,
                $"certificate '{certificate.Subject}' (fingerprint {fingerprint}) is not enrolled in this federation's party registry");
        if (party.Revoked)
            throw new CallerRefusedException(StatusCode.PermissionDenied, $"party '{party.PartyId}' (certificate {fingerprint}) is revoked");
        certificates.Presented(fingerprint, certificate);
        return new FederatedCaller(party.PartyId, party.Role);
    }
}
