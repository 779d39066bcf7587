using Federated.Core.Jobs;
using System.Security.Cryptography.X509Certificates;

namespace Federated.Security.Tests;

/// <summary>One development authority with a music and an external party, shared by the tests of a class.</summary>
public sealed class TestCertificates : IDisposable
{
    public static readonly AttemptId JobId = new("job-2026-11-23-a");

    public TestCertificates()
    {
        Authority = CertificateFactory.CreateAuthority("Test CA", TimeSpan.FromDays(30));
        Music = CertificateFactory.IssueParty(Authority, "music", PartyRole.Music, [], TimeSpan.FromDays(10));
        External = CertificateFactory.IssueParty(Authority, "external", PartyRole.External, [], TimeSpan.FromDays(10));
        Coordinator = CertificateFactory.IssueParty(Authority, "coordinator", PartyRole.Coordinator, [], TimeSpan.FromDays(10));
        Validator = new CertificateValidator(PublicOnly(Authority));
    }

    public X509Certificate2 Authority { get; }
    public X509Certificate2 Music { get; }
    public X509Certificate2 External { get; }
    public X509Certificate2 Coordinator { get; }
    public CertificateValidator Validator { get; }

    public static X509Certificate2 PublicOnly(X509Certificate2 certificate) => X509CertificateLoader.LoadCertificate(certificate.RawData);

    /// <summary>Runs a full handshake and returns (music's session, external's session).</summary>
    public (SessionKey Music, SessionKey External) Handshake(AttemptId? attempt = null)
    {
        var jobId = attempt ?? JobId;
        using var music = SessionHandshake.Start(Music, jobId, "music", "external");
        using var external = SessionHandshake.Start(External, jobId, "external", "music");
        var musicKey = music.Complete(external.Offer, Validator);
        var externalKey = external.Complete(music.Offer, Validator);
        return (musicKey, externalKey);
    }

    public void Dispose()
    {
        Authority.Dispose();
        Music.Dispose();
        External.Dispose();
        Coordinator.Dispose();
    }
}
