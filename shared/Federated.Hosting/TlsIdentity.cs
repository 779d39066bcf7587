using System.Security.Cryptography.X509Certificates;
using Federated.Security;

namespace Federated.Hosting;

/// <summary>This host's certificate (with key), its identity, and the validator that trusts only the federation's CA.</summary>
public sealed class TlsIdentity : IDisposable
{
    public TlsIdentity(X509Certificate2 certificate, X509Certificate2 authority)
    {
        Certificate = certificate;
        Authority = authority;
        Validator = new CertificateValidator(authority);
        (PartyId, Role) = CertificateFactory.ReadIdentity(certificate);
        Fingerprint = CertificateFactory.Fingerprint(certificate);
    }

    public X509Certificate2 Certificate { get; }
    public X509Certificate2 Authority { get; }
    public CertificateValidator Validator { get; }
    public string PartyId { get; }
    public PartyRole Role { get; }
    public string Fingerprint { get; }

    /// <summary>Loads the identity named by <paramref name="options"/>, with errors naming the file and the setting.</summary>
    public static TlsIdentity Load(TlsOptions options, PartyRole expectedRole)
    {
        if (string.IsNullOrWhiteSpace(options.CertificateName))
            throw new InvalidOperationException("Tls:CertificateName is not set (the stem of <name>.crt.pem in Tls:CertificateDirectory)");
        var directory = Path.GetFullPath(options.CertificateDirectory);
        var authorityDirectory = Path.GetFullPath(options.AuthorityDirectory ?? options.CertificateDirectory);
        X509Certificate2 certificate;
        X509Certificate2 authority;
        try
        {
            certificate = CertificateFiles.Load(directory, options.CertificateName, withPrivateKey: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException(
                $"cannot load certificate '{options.CertificateName}' from {directory} ({CertificateFiles.CertificatePath(directory, options.CertificateName)} and its key): {e.Message}", e);
        }
        try
        {
            authority = CertificateFiles.LoadAuthority(authorityDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"cannot load the federation authority {CertificateFiles.CertificatePath(authorityDirectory, CertificateFiles.AuthorityName)}: {e.Message}", e);
        }

        var identity = new TlsIdentity(certificate, authority);
        var check = identity.Validator.Validate(certificate, CertificatePurpose.Server);
        if (!check.IsValid)
            throw new InvalidOperationException(
                $"certificate {CertificateFiles.CertificatePath(directory, options.CertificateName)} is not usable with authority {authorityDirectory}: {check.Reason}");
        if (identity.Role != expectedRole)
            throw new InvalidOperationException(
                $"certificate {CertificateFiles.CertificatePath(directory, options.CertificateName)} is for party '{identity.PartyId}' with role {identity.Role}; this host needs role {expectedRole}");
        return identity;
    }

    public void Dispose()
    {
        Certificate.Dispose();
        Authority.Dispose();
    }
}
