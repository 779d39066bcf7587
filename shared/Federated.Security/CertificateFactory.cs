using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Federated.Security;

/// <summary>
/// Creates the certificate authority and the party certificates of a federation (ECDSA P-256, SHA-256), and reads
/// a party's identity back out of a certificate. Development sets are made with this; production operators issue
/// equivalent certificates from their own CA (see README.md, "Bringing your own CA").
/// </summary>
public static class CertificateFactory
{
    /// <summary>Organisation written into every party subject (<c>O=Federated</c>).</summary>
    public const string Organization = "Federated";

    /// <summary>OID of TLS server authentication (extended key usage).</summary>
    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    /// <summary>OID of TLS client authentication (extended key usage).</summary>
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    // Backdating absorbs small clock differences between hosts.
    private static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Creates a self-signed certificate authority: ECDSA P-256 key, SHA-256 signature, basic constraints CA=true
    /// (path length 0: it signs party certificates only), key usage certificate signing and CRL signing.
    /// </summary>
    /// <param name="commonName">Subject common name, for example "Federated Development CA".</param>
    /// <param name="validity">How long the authority is valid from now.</param>
    /// <returns>The authority certificate with its private key.</returns>
    public static X509Certificate2 CreateAuthority(string commonName, TimeSpan validity)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commonName);
        if (validity <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(validity), validity, "validity must be positive");

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName(Organization);
        subject.AddCommonName(commonName);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));

        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now - ClockSkewAllowance, now + validity);
    }

    /// <summary>
    /// Issues a party certificate signed by <paramref name="authority"/>. Subject
    /// <c>CN=&lt;partyId&gt;, OU=&lt;role&gt;, O=Federated</c>; subject alternative names DNS <c>localhost</c>,
    /// IP <c>127.0.0.1</c> and <paramref name="extraNames"/>; key usage digital signature; extended key usage
    /// TLS server and client authentication. The validity never extends past the authority's.
    /// </summary>
    /// <param name="authority">The issuing authority, with its private key.</param>
    /// <param name="partyId">Party id, for example "music". Letters, digits, '-', '_' and '.' only.</param>
    /// <param name="role">The role the certificate grants.</param>
    /// <param name="extraNames">Further DNS names or IP addresses the party's TLS endpoint answers on (may be empty); a
    /// name that parses as an IP address is written as an IP address entry.</param>
    /// <param name="validity">How long the certificate is valid from now.</param>
    /// <returns>The party certificate with its (ECDSA P-256) private key.</returns>
    public static X509Certificate2 IssueParty(X509Certificate2 authority, string partyId, PartyRole role,
        IEnumerable<string> extraNames, TimeSpan validity)
    {
        ArgumentNullException.ThrowIfNull(authority);
        ArgumentNullException.ThrowIfNull(extraNames);
        ValidatePartyId(partyId);
        if (!Enum.IsDefined(role))
            throw new ArgumentOutOfRangeException(nameof(role), role, "unknown party role");
        if (validity <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(validity), validity, "validity must be positive");
        using var authorityKey = authority.GetECDsaPrivateKey()
            ?? throw new ArgumentException(
                $"the authority certificate '{authority.Subject}' has no ECDSA private key; load it with its key file",
                nameof(authority));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName(Organization);
        subject.AddOrganizationalUnitName(role.ToString());
        subject.AddCommonName(partyId);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            new OidCollection { new Oid(ServerAuthOid), new Oid(ClientAuthOid) }, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));

        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        foreach (var name in extraNames.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (string.IsNullOrWhiteSpace(name))
                throw new ArgumentException("extra names must not be empty", nameof(extraNames));
            if (IPAddress.TryParse(name, out var ip))
            {
                if (!ip.Equals(IPAddress.Loopback))
                    names.AddIpAddress(ip);
            }
            else if (!string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase))
                names.AddDnsName(name);
        }
        request.CertificateExtensions.Add(names.Build());

        var now = DateTimeOffset.UtcNow;
        var notBefore = now - ClockSkewAllowance;
        if (notBefore < authority.NotBefore.ToUniversalTime()) notBefore = authority.NotBefore.ToUniversalTime();
        var notAfter = now + validity;
        if (notAfter > authority.NotAfter.ToUniversalTime()) notAfter = authority.NotAfter.ToUniversalTime();

        var generator = X509SignatureGenerator.CreateForECDsa(authorityKey);
        using var issued = request.Create(authority.SubjectName, generator, notBefore, notAfter, NewSerialNumber());
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Lowercase hexadecimal SHA-256 of the certificate's DER encoding (what the party registry pins).</summary>
    public static string Fingerprint(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }

    /// <summary>
    /// Reads the party id (CN) and role (OU) from the certificate subject.
    /// </summary>
    /// <exception cref="InvalidDataException">The subject lacks exactly one CN or OU, or the OU is not a role.</exception>
    public static (string PartyId, PartyRole Role) ReadIdentity(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        string? commonName = null, unit = null;
        int commonNames = 0, units = 0;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.HasMultipleElements) continue;
            var oid = rdn.GetSingleElementType().Value;
            if (oid == "2.5.4.3") { commonName = rdn.GetSingleElementValue(); commonNames++; }
            else if (oid == "2.5.4.11") { unit = rdn.GetSingleElementValue(); units++; }
        }
        if (commonNames != 1 || string.IsNullOrWhiteSpace(commonName))
            throw new InvalidDataException(
                $"certificate '{certificate.Subject}' has {commonNames} common names (CN); a party certificate needs exactly one, the party id");
        if (units != 1 || string.IsNullOrWhiteSpace(unit))
            throw new InvalidDataException(
                $"certificate '{certificate.Subject}' has {units} organisational units (OU); a party certificate needs exactly one, the role ({string.Join(", ", Enum.GetNames<PartyRole>())})");
        if (!Enum.TryParse<PartyRole>(unit, ignoreCase: true, out var role) || !Enum.IsDefined(role) || unit.Any(char.IsDigit))
            throw new InvalidDataException(
                $"certificate '{certificate.Subject}' has OU='{unit}', which is not a role; expected one of {string.Join(", ", Enum.GetNames<PartyRole>())}");
        return (commonName, role);
    }

    /// <summary>Checks that a party id is non-empty, at most 64 characters, and only letters, digits, '-', '_', '.'.</summary>
    public static void ValidatePartyId(string partyId)
    {
        if (string.IsNullOrWhiteSpace(partyId))
            throw new ArgumentException("party id must not be empty", nameof(partyId));
        if (partyId.Length > 64)
            throw new ArgumentException($"party id '{partyId[..16]}...' is {partyId.Length} characters; at most 64 are allowed", nameof(partyId));
        foreach (var c in partyId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                throw new ArgumentException(
                    $"party id '{partyId}' contains '{c}'; only ASCII letters, digits, '-', '_' and '.' are allowed", nameof(partyId));
        }
    }

    private static byte[] NewSerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive integer, as RFC 5280 requires
        serial[0] |= 0x01; // and no leading zero byte to strip
        return serial;
    }
}
