using System.Security.Cryptography.X509Certificates;
using Federated.Security;

namespace Federated.Hosting;

/// <summary>What reading the certificate files again found.</summary>
public enum CertificateReloadOutcome
{
    /// <summary>The files hold the certificate in use.</summary>
    Unchanged,
    /// <summary>The files hold a new certificate for the same party and role; it is in use from now on.</summary>
    Rotated,
    /// <summary>The files hold something this host will not use; the certificate in use stays.</summary>
    Refused,
}

/// <summary>The result of <see cref="TlsIdentity.Reload"/>: the outcome, the fingerprints before and after, and why a file was refused.</summary>
public sealed record CertificateReload(CertificateReloadOutcome Outcome, string Fingerprint, string? PreviousFingerprint = null, string? Reason = null);

/// <summary>
/// This host's certificate (with key), its identity, and the validator that trusts only the federation's CA.
/// The certificate can be rotated while the host runs: <see cref="Reload"/> reads the files again and takes a new
/// certificate for the same party id and role when it chains to the authority, is valid now and matches its key.
/// New TLS connections (server and client side) use <see cref="Certificate"/> as it is when they are made; the ones
/// already open keep the certificate they were made with.
/// </summary>
public sealed class TlsIdentity : IDisposable
{
    private readonly object _gate = new();
    private readonly List<X509Certificate2> _retired = [];
    private readonly string? _directory;
    private readonly string? _name;
    private volatile X509Certificate2 _certificate;
    private volatile string _fingerprint;

    public TlsIdentity(X509Certificate2 certificate, X509Certificate2 authority) : this(certificate, authority, null, null) { }

    private TlsIdentity(X509Certificate2 certificate, X509Certificate2 authority, string? directory, string? name)
    {
        _certificate = certificate;
        Authority = authority;
        Validator = new CertificateValidator(authority);
        (PartyId, Role) = CertificateFactory.ReadIdentity(certificate);
        _fingerprint = CertificateFactory.Fingerprint(certificate);
        _directory = directory;
        _name = name;
    }

    /// <summary>The certificate new connections present (the newest one accepted by <see cref="Reload"/>).</summary>
    public X509Certificate2 Certificate => _certificate;
    public X509Certificate2 Authority { get; }
    public CertificateValidator Validator { get; }
    public string PartyId { get; }
    public PartyRole Role { get; }
    /// <summary>SHA-256 fingerprint of <see cref="Certificate"/>.</summary>
    public string Fingerprint => _fingerprint;

    /// <summary>The certificate file this identity was loaded from (null when built from certificates in memory).</summary>
    public string? CertificatePath => _directory is null ? null : CertificateFiles.CertificatePath(_directory, _name!);

    /// <summary>Raised after a rotation, with the certificate before and the one now in use.</summary>
    public event Action<X509Certificate2, X509Certificate2>? Rotated;

    /// <summary>Loads the identity named by <paramref name="options"/>, with errors naming the file and the setting.</summary>
    public static TlsIdentity Load(TlsOptions options, PartyRole expectedRole)
    {
        if (string.IsNullOrWhiteSpace(options.CertificateName))
            throw new InvalidOperationException("Tls:CertificateName is not set (the stem of <name>.crt.pem in Tls:CertificateDirectory)");
        options.Validate();
        var directory = Path.GetFullPath(options.CertificateDirectory);
        var authorityDirectory = Path.GetFullPath(options.AuthorityDirectory ?? options.CertificateDirectory);
        X509Certificate2 certificate;
        X509Certificate2 authority;
        try
        {
            certificate = CertificateFiles.Load(directory, options.CertificateName, withPrivateKey: true);
        }
        catch (Exception e) when (IsFileProblem(e))
        {
            throw new InvalidOperationException(
                $"cannot load certificate '{options.CertificateName}' from {directory} ({CertificateFiles.CertificatePath(directory, options.CertificateName)} and its key): {e.Message}", e);
        }
        try
        {
            authority = CertificateFiles.LoadAuthority(authorityDirectory);
        }
        catch (Exception e) when (IsFileProblem(e))
        {
            throw new InvalidOperationException($"cannot load the federation authority {CertificateFiles.CertificatePath(authorityDirectory, CertificateFiles.AuthorityName)}: {e.Message}", e);
        }

        var identity = new TlsIdentity(certificate, authority, directory, options.CertificateName);
        var check = identity.Validator.Validate(certificate, CertificatePurpose.Server);
        if (!check.IsValid)
            throw new InvalidOperationException(
                $"certificate {CertificateFiles.CertificatePath(directory, options.CertificateName)} is not usable with authority {authorityDirectory}: {check.Reason}");
        if (identity.Role != expectedRole)
            throw new InvalidOperationException(
                $"certificate {CertificateFiles.CertificatePath(directory, options.CertificateName)} is for party '{identity.PartyId}' with role {identity.Role}; this host needs role {expectedRole}");
        return identity;
    }

    /// <summary>
    /// Reads the certificate files again. A new certificate is taken only when it is for the same party id and role,
    /// chains to the authority, is valid now for both TLS purposes and matches its private key; otherwise the one in
    /// use stays and the result says why. Never throws for a bad file.
    /// </summary>
    public CertificateReload Reload()
    {
        if (_directory is null)
            return new CertificateReload(CertificateReloadOutcome.Unchanged, Fingerprint);
        var path = CertificateFiles.CertificatePath(_directory, _name!);
        lock (_gate)
        {
            X509Certificate2 candidate;
            try
            {
                using (var publicPart = CertificateFiles.Load(_directory, _name!, withPrivateKey: false))
                {
                    if (CertificateFactory.Fingerprint(publicPart) == _fingerprint)
                        return new CertificateReload(CertificateReloadOutcome.Unchanged, _fingerprint);
                }
                candidate = CertificateFiles.Load(_directory, _name!, withPrivateKey: true);
            }
            catch (Exception e) when (IsFileProblem(e))
            {
                return new CertificateReload(CertificateReloadOutcome.Refused, _fingerprint, Reason: $"{path} (and its key) cannot be loaded: {e.Message}");
            }

            var fingerprint = CertificateFactory.Fingerprint(candidate);
            var refusal = CheckReplacement(candidate);
            if (refusal is not null)
            {
                candidate.Dispose();
                return new CertificateReload(CertificateReloadOutcome.Refused, _fingerprint, Reason: $"{path} (fingerprint {fingerprint}): {refusal}");
            }
            var previous = _certificate;
            var previousFingerprint = _fingerprint;
            _retired.Add(previous); // connections made with it may still be open; disposed with the identity
            _certificate = candidate;
            _fingerprint = fingerprint;
            Rotated?.Invoke(previous, candidate);
            return new CertificateReload(CertificateReloadOutcome.Rotated, fingerprint, previousFingerprint);
        }
    }

    private string? CheckReplacement(X509Certificate2 candidate)
    {
        (string PartyId, PartyRole Role) identity;
        try
        {
            identity = CertificateFactory.ReadIdentity(candidate);
        }
        catch (InvalidDataException e)
        {
            return e.Message;
        }
        if (identity.PartyId != PartyId || identity.Role != Role)
            return $"it is for party '{identity.PartyId}' with role {identity.Role}; this host is '{PartyId}' with role {Role}";
        foreach (var purpose in new[] { CertificatePurpose.Server, CertificatePurpose.Client })
        {
            var check = Validator.Validate(candidate, purpose);
            if (!check.IsValid)
                return check.Reason;
        }
        return null;
    }

    private static bool IsFileProblem(Exception e) =>
        e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException or InvalidDataException;

    public void Dispose()
    {
        lock (_gate)
        {
            _certificate.Dispose();
            foreach (var old in _retired)
                old.Dispose();
            _retired.Clear();
        }
        Authority.Dispose();
    }
}
