using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Federated.Security.Tests;

public sealed class CertificateTests(TestCertificates certificates) : IClassFixture<TestCertificates>
{
    private const string EcdsaSha256Oid = "1.2.840.10045.4.3.2";

    [Fact]
    public void Authority_is_a_p256_certificate_authority_that_signs_certificates()
    {
        var authority = certificates.Authority;
        var constraints = authority.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints.CertificateAuthority);
        Assert.True(constraints.Critical);
        var usage = authority.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.True(usage.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign));
        Assert.Equal(EcdsaSha256Oid, authority.SignatureAlgorithm.Value);
        using var key = authority.GetECDsaPublicKey()!;
        Assert.Equal(256, key.KeySize);
        Assert.Equal(authority.Subject, authority.Issuer);
    }

    [Fact]
    public void A_further_name_that_is_an_ip_address_is_written_as_an_ip_address_entry()
    {
        using var coordinator = CertificateFactory.IssueParty(certificates.Authority, "coordinator", PartyRole.Coordinator,
            ["10.201.7.2", "coordinator.example.org", "127.0.0.1"], TimeSpan.FromDays(1));

        var names = coordinator.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["localhost", "coordinator.example.org"], names.EnumerateDnsNames().ToArray());
        Assert.Equal(["127.0.0.1", "10.201.7.2"], names.EnumerateIPAddresses().Select(a => a.ToString()).ToArray());
    }

    [Fact]
    public void Party_certificate_carries_identity_names_and_usages()
    {
        using var party = CertificateFactory.IssueParty(certificates.Authority, "external", PartyRole.External,
            ["external.example.org"], TimeSpan.FromDays(3));

        Assert.True(party.HasPrivateKey);
        Assert.Equal(EcdsaSha256Oid, party.SignatureAlgorithm.Value);
        Assert.Equal(certificates.Authority.Subject, party.Issuer);
        Assert.Contains("CN=external", party.Subject);
        Assert.Contains("OU=External", party.Subject);
        Assert.Contains("O=Federated", party.Subject);
        Assert.Equal(("external", PartyRole.External), CertificateFactory.ReadIdentity(party));

        var names = party.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        Assert.Equal(["localhost", "external.example.org"], names.EnumerateDnsNames().ToArray());
        Assert.Equal([System.Net.IPAddress.Loopback], names.EnumerateIPAddresses().ToArray());

        var usages = party.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages
            .Cast<Oid>().Select(o => o.Value).ToArray();
        Assert.Contains(CertificateFactory.ServerAuthOid, usages);
        Assert.Contains(CertificateFactory.ClientAuthOid, usages);
        Assert.False(party.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.True(party.NotAfter <= DateTime.Now.AddDays(3).AddMinutes(1));
    }

    [Fact]
    public void Party_validity_never_exceeds_the_authority()
    {
        using var shortAuthority = CertificateFactory.CreateAuthority("Short CA", TimeSpan.FromDays(1));
        using var party = CertificateFactory.IssueParty(shortAuthority, "music", PartyRole.Music, [], TimeSpan.FromDays(365));
        Assert.True(party.NotAfter <= shortAuthority.NotAfter);
    }

    [Fact]
    public void Fingerprint_is_lowercase_sha256_hex_and_differs_between_certificates()
    {
        var music = CertificateFactory.Fingerprint(certificates.Music);
        var external = CertificateFactory.Fingerprint(certificates.External);
        Assert.Matches("^[0-9a-f]{64}$", music);
        Assert.NotEqual(music, external);
        Assert.Equal(music, CertificateFactory.Fingerprint(TestCertificates.PublicOnly(certificates.Music)));
    }

    [Fact]
    public void Reading_identity_from_a_certificate_without_role_names_what_is_missing()
    {
        var error = Assert.Throws<InvalidDataException>(() => CertificateFactory.ReadIdentity(certificates.Authority));
        Assert.Contains("OU", error.Message);
        Assert.Contains("Test CA", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("music party")]
    [InlineData("music,OU=Coordinator")]
    public void Invalid_party_ids_are_refused(string partyId)
    {
        Assert.Throws<ArgumentException>(() =>
            CertificateFactory.IssueParty(certificates.Authority, partyId, PartyRole.Music, [], TimeSpan.FromDays(1)));
    }

    [Fact]
    public void Validator_accepts_parties_of_its_authority_for_client_and_server_use()
    {
        Assert.Equal(CertificateCheck.Valid, certificates.Validator.Validate(TestCertificates.PublicOnly(certificates.Music)));
        Assert.True(certificates.Validator.Validate(certificates.Coordinator, CertificatePurpose.Server).IsValid);
    }

    [Fact]
    public void Validator_refuses_a_certificate_from_another_authority()
    {
        using var otherAuthority = CertificateFactory.CreateAuthority("Test CA", TimeSpan.FromDays(30)); // same name, other key
        using var impostor = CertificateFactory.IssueParty(otherAuthority, "music", PartyRole.Music, [], TimeSpan.FromDays(1));

        var check = certificates.Validator.Validate(impostor);

        Assert.False(check.IsValid);
        Assert.Contains("does not chain to the trusted authority", check.Reason);
    }

    [Fact]
    public void Validator_refuses_expired_and_not_yet_valid_certificates()
    {
        var later = new CertificateValidator(certificates.Authority, [], new FixedTime(DateTimeOffset.UtcNow.AddDays(11)));
        var check = later.Validate(certificates.Music);
        Assert.False(check.IsValid);
        Assert.Contains("expired", check.Reason);

        var earlier = new CertificateValidator(certificates.Authority, [], new FixedTime(DateTimeOffset.UtcNow.AddDays(-1)));
        Assert.Contains("not valid before", earlier.Validate(certificates.Music).Reason);
    }

    [Fact]
    public void Validator_refuses_the_authority_itself_and_certificates_without_the_usage()
    {
        Assert.Contains("certificate authority", certificates.Validator.Validate(certificates.Authority).Reason);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=music, OU=Music, O=Federated", key, HashAlgorithmName.SHA256);
        using var authorityKey = certificates.Authority.GetECDsaPrivateKey()!;
        using var noUsage = request.Create(certificates.Authority.SubjectName, X509SignatureGenerator.CreateForECDsa(authorityKey),
            DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3]);
        Assert.Contains("extended key usage", certificates.Validator.Validate(noUsage).Reason);
    }

    [Fact]
    public void Validator_needs_an_authority()
        => Assert.Throws<ArgumentException>(() => new CertificateValidator(certificates.Music));

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
