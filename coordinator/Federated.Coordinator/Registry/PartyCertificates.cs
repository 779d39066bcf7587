using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;

namespace Federated.Coordinator.Registry;

/// <summary>The certificate a party last authenticated with: subject and validity (what the dashboard shows).</summary>
public sealed record PartyCertificateView(string Subject, string Issuer, DateTimeOffset NotBefore, DateTimeOffset NotAfter, DateTimeOffset SeenAt);

/// <summary>Subject and validity of each party's certificate as last presented (in memory; the registry pins only fingerprints).</summary>
public sealed class PartyCertificates(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, PartyCertificateView> _byFingerprint = new(StringComparer.Ordinal);

    public void Presented(string fingerprint, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        _byFingerprint[fingerprint] = new PartyCertificateView(certificate.Subject, certificate.Issuer,
            new DateTimeOffset(certificate.NotBefore.ToUniversalTime()), new DateTimeOffset(certificate.NotAfter.ToUniversalTime()), time.GetUtcNow());
    }

    public PartyCertificateView? Find(string fingerprint) => _byFingerprint.GetValueOrDefault(fingerprint);
}
