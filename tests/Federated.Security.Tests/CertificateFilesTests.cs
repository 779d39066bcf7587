using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Federated.Security.Tests;

public sealed class CertificateFilesTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "federated-certs-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Development_set_writes_every_party_and_each_validates_against_the_written_authority()
    {
        var written = CertificateFiles.CreateDevelopmentSet(_directory, CertificateFiles.DevelopmentParties);

        Assert.Equal(10, written.Count);
        Assert.All(written, path => Assert.True(File.Exists(path), path));
        var validator = new CertificateValidator(CertificateFiles.LoadAuthority(_directory));
        foreach (var (partyId, role) in CertificateFiles.DevelopmentParties)
        {
            using var certificate = CertificateFiles.Load(_directory, partyId, withPrivateKey: true);
            Assert.True(certificate.HasPrivateKey);
            Assert.Equal((partyId, role), CertificateFactory.ReadIdentity(certificate));
            Assert.True(validator.Validate(certificate).IsValid, partyId);
        }
    }

    [Fact]
    public void Key_files_are_owner_only_and_the_loaded_key_matches_the_certificate()
    {
        CertificateFiles.CreateDevelopmentSet(_directory, [("music", PartyRole.Music)]);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(CertificateFiles.KeyPath(_directory, "music")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(CertificateFiles.KeyPath(_directory, "ca")));
        }

        using var withKey = CertificateFiles.Load(_directory, "music", withPrivateKey: true);
        using var publicOnly = CertificateFiles.Load(_directory, "music", withPrivateKey: false);
        Assert.False(publicOnly.HasPrivateKey);
        var data = "proof of possession"u8.ToArray();
        using var signer = withKey.GetECDsaPrivateKey()!;
        using var verifier = publicOnly.GetECDsaPublicKey()!;
        Assert.True(verifier.VerifyData(data, signer.SignData(data, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256));
    }

    [Fact]
    public void Saved_authority_with_key_can_issue_more_parties()
    {
        CertificateFiles.CreateDevelopmentSet(_directory, [("music", PartyRole.Music)]);
        using var authority = CertificateFiles.Load(_directory, CertificateFiles.AuthorityName, withPrivateKey: true);
        using var late = CertificateFactory.IssueParty(authority, "external-2", PartyRole.External, [], TimeSpan.FromDays(1));
        Assert.True(new CertificateValidator(CertificateFiles.LoadAuthority(_directory)).Validate(late).IsValid);
    }

    [Fact]
    public void Development_set_refuses_to_overwrite_unless_asked()
    {
        CertificateFiles.CreateDevelopmentSet(_directory, [("music", PartyRole.Music)]);
        var before = File.ReadAllText(CertificateFiles.CertificatePath(_directory, "ca"));

        var error = Assert.Throws<IOException>(() => CertificateFiles.CreateDevelopmentSet(_directory, [("music", PartyRole.Music)]));
        Assert.Contains("ca.crt.pem", error.Message);
        Assert.Equal(before, File.ReadAllText(CertificateFiles.CertificatePath(_directory, "ca")));

        CertificateFiles.CreateDevelopmentSet(_directory, [("music", PartyRole.Music)], overwrite: true);
        Assert.NotEqual(before, File.ReadAllText(CertificateFiles.CertificatePath(_directory, "ca")));
    }

    [Fact]
    public void Missing_and_malformed_files_are_named_in_the_error()
    {
        var missing = Assert.Throws<FileNotFoundException>(() => CertificateFiles.Load(_directory, "music", withPrivateKey: false));
        Assert.Contains("music.crt.pem", missing.Message);

        Directory.CreateDirectory(_directory);
        File.WriteAllText(CertificateFiles.CertificatePath(_directory, "music"), "not a certificate");
        var malformed = Assert.Throws<InvalidDataException>(() => CertificateFiles.Load(_directory, "music", withPrivateKey: false));
        Assert.Contains("music.crt.pem", malformed.Message);

        var noKey = Assert.Throws<FileNotFoundException>(() => CertificateFiles.Load(_directory, "music", withPrivateKey: true));
        Assert.Contains("music.key.pem", noKey.Message);
    }

    [Fact]
    public void A_key_that_belongs_to_another_certificate_is_refused()
    {
        CertificateFiles.CreateDevelopmentSet(_directory, [("music", PartyRole.Music), ("external", PartyRole.External)]);
        File.Copy(CertificateFiles.KeyPath(_directory, "external"), CertificateFiles.KeyPath(_directory, "music"), overwrite: true);
        var error = Assert.Throws<InvalidDataException>(() => CertificateFiles.Load(_directory, "music", withPrivateKey: true));
        Assert.Contains("music.key.pem", error.Message);
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }
}
