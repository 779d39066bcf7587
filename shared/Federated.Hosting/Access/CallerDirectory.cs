using System.Security.Cryptography.X509Certificates;
using Federated.Security;
using Grpc.Core;

namespace Federated.Hosting.Access;

/// <summary>
/// Resolves a client certificate that already chains to the federation's CA to the caller it stands for, or refuses
/// it. The coordinator resolves through its party registry (enrolled fingerprint, not revoked); the default reads the
/// identity the CA wrote into the certificate subject.
/// </summary>
public interface ICallerDirectory
{
    /// <exception cref="CallerRefusedException">The certificate stands for no caller this host accepts.</exception>
    FederatedCaller Resolve(X509Certificate2 certificate);
}

/// <summary>A refused caller: the gRPC status and the message the client receives.</summary>
public sealed class CallerRefusedException(StatusCode status, string message) : Exception(message)
{
    public StatusCode Status { get; } = status;
}

/// <summary>The caller named by the certificate subject (CN = party id, OU = role), which the federation's CA vouches for.</summary>
public sealed class CertificateSubjectDirectory : ICallerDirectory
{
    public FederatedCaller Resolve(X509Certificate2 certificate)
    {
        try
        {
            var (partyId, role) = CertificateFactory.ReadIdentity(certificate);
            return new FederatedCaller(partyId, role);
        }
        catch (InvalidDataException e)
        {
            throw new CallerRefusedException(StatusCode.PermissionDenied, e.Message);
        }
    }
}
