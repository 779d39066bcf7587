using System.Security.Cryptography.X509Certificates;

namespace Federated.Security;

/// <summary>The outcome of <see cref="CertificateValidator.Validate(System.Security.Cryptography.X509Certificates.X509Certificate2)"/>: valid, or the reason it is not.</summary>
/// <param name="IsValid">True when the certificate chains to the trusted authority and passes every check.</param>
/// <param name="Reason">Why the certificate was refused; null when valid.</param>
public sealed record CertificateCheck(bool IsValid, string? Reason)
{
    /// <summary>The successful outcome.</summary>
    public static CertificateCheck Valid { get; } = new(true, null);

    /// <summary>A refusal with its reason.</summary>
    public static CertificateCheck Refused(string reason) => new(false, reason);
}

/// <summary>What a certificate is being accepted for; decides which extended key usage it must carry.</summary>
public enum CertificatePurpose
{
    /// <summary>A TLS client or a handshake party: needs TLS client authentication (1.3.6.1.5.5.7.3.2).</summary>
    Client,

    /// <summary>A TLS server: needs TLS server authentication (1.3.6.1.5.5.7.3.1).</summary>
    Server,
}

/// <summary>
/// Checks certificates against ONE configured authority (custom root trust; the operating system's trust store is
/// never consulted): chain, validity period, that it is an end-entity certificate, and extended key usage.
/// Revocation is the party registry's job (pinned fingerprints); this class does not fetch CRLs.
/// </summary>
public sealed class CertificateValidator
{
    private readonly X509Certificate2 _authority;
    private readonly X509Certificate2Collection _intermediates;
    private readonly TimeProvider _time;

    /// <summary>Trusts only <paramref name="authority"/> (its public part is enough).</summary>
    public CertificateValidator(X509Certificate2 authority) : this(authority, [], TimeProvider.System) { }

    /// <summary>
    /// Trusts only <paramref name="authority"/>; <paramref name="intermediates"/> are untrusted helpers for building
    /// chains when an operator's CA issues party certificates from an intermediate. <paramref name="time"/> sets the
    /// clock the validity period is checked against.
    /// </summary>
    public CertificateValidator(X509Certificate2 authority, IEnumerable<X509Certificate2> intermediates, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(authority);
        ArgumentNullException.ThrowIfNull(intermediates);
        ArgumentNullException.ThrowIfNull(time);
        var constraints = authority.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (constraints is null || !constraints.CertificateAuthority)
            throw new ArgumentException(
                $"certificate '{authority.Subject}' is not a certificate authority (basic constraints CA=true missing)", nameof(authority));
        _authority = authority;
        _intermediates = [.. intermediates];
        _time = time;
    }

    /// <summary>The trusted authority.</summary>
    public X509Certificate2 Authority => _authority;

    /// <summary>Validates a certificate presented by a client or a handshake peer. Never throws.</summary>
    public CertificateCheck Validate(X509Certificate2 presented) => Validate(presented, CertificatePurpose.Client);

    /// <summary>Validates a certificate for the given purpose. Never throws.</summary>
    public CertificateCheck Validate(X509Certificate2 presented, CertificatePurpose purpose)
    {
        if (presented is null) return CertificateCheck.Refused("no certificate was presented");
        try
        {
            return ValidateCore(presented, purpose);
        }
        catch (Exception e)
        {
            return CertificateCheck.Refused($"certificate '{SafeSubject(presented)}' could not be checked: {e.Message}");
        }
    }

    private CertificateCheck ValidateCore(X509Certificate2 presented, CertificatePurpose purpose)
    {
        var subject = presented.Subject;
        var now = _time.GetUtcNow();
        if (now < presented.NotBefore.ToUniversalTime())
            return CertificateCheck.Refused($"certificate '{subject}' is not valid before {presented.NotBefore.ToUniversalTime():O}");
        if (now > presented.NotAfter.ToUniversalTime())
            return CertificateCheck.Refused($"certificate '{subject}' expired at {presented.NotAfter.ToUniversalTime():O}");

        var constraints = presented.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        if (constraints is { CertificateAuthority: true })
            return CertificateCheck.Refused($"certificate '{subject}' is a certificate authority, not a party certificate");

        var usage = presented.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault();
        var requiredOid = purpose == CertificatePurpose.Server ? CertificateFactory.ServerAuthOid : CertificateFactory.ClientAuthOid;
        if (usage is null || !usage.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Any(o => o.Value == requiredOid))
            return CertificateCheck.Refused(
                $"certificate '{subject}' lacks the extended key usage TLS {(purpose == CertificatePurpose.Server ? "server" : "client")} authentication ({requiredOid})");

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_authority);
        chain.ChainPolicy.ExtraStore.AddRange(_intermediates);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (!chain.Build(presented))
        {
            var problems = chain.ChainStatus.Where(s => s.Status != X509ChainStatusFlags.NoError)
                .Select(s => $"{s.Status}: {s.StatusInformation.Trim()}").Distinct();
            return CertificateCheck.Refused(
                $"certificate '{subject}' (issuer '{presented.Issuer}') does not chain to the trusted authority '{_authority.Subject}': {string.Join("; ", problems)}");
        }

        var root = chain.ChainElements[^1].Certificate;
        if (!root.RawDataMemory.Span.SequenceEqual(_authority.RawDataMemory.Span))
            return CertificateCheck.Refused(
                $"certificate '{subject}' chains to '{root.Subject}', not to the trusted authority '{_authority.Subject}'");
        return CertificateCheck.Valid;
    }

    private static string SafeSubject(X509Certificate2 certificate)
    {
        try { return certificate.Subject; }
        catch { return "(unreadable subject)"; }
    }
}
