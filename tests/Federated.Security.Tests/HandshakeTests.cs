using Federated.Core.Jobs;
using System.Security.Cryptography.X509Certificates;
using static Federated.Security.Tests.TestCertificates;

namespace Federated.Security.Tests;

public sealed class HandshakeTests(TestCertificates certs) : IClassFixture<TestCertificates>
{
    [Fact]
    public void Two_parties_with_development_certificates_derive_working_keys_in_both_directions()
    {
        var (music, external) = certs.Handshake();
        using (music)
        using (external)
        {
            var toExternal = new SealedHeader(JobId, "psi.m-blinded", "music", "external", 1, 0);
            var toMusic = new SealedHeader(JobId, "psi.e-blinded", "external", "music", 1, 0);
            Assert.Equal("from M"u8.ToArray(), external.Open(toExternal, music.Seal(toExternal, "from M"u8)));
            Assert.Equal("from E"u8.ToArray(), music.Open(toMusic, external.Seal(toMusic, "from E"u8)));
            Assert.Equal(CertificateFactory.Fingerprint(certs.External), music.PeerCertificateFingerprint);
            Assert.Equal(CertificateFactory.Fingerprint(certs.Music), external.PeerCertificateFingerprint);
        }
    }

    [Fact]
    public void Each_handshake_gives_a_fresh_key()
    {
        var (music1, external1) = certs.Handshake();
        var (music2, external2) = certs.Handshake();
        using (music1) using (external1) using (music2) using (external2)
        {
            var header = new SealedHeader(JobId, "ping", "music", "external", 1, 0);
            var sealedOnce = music1.Seal(header, "same"u8);
            Assert.NotEqual(sealedOnce, music2.Seal(header, "same"u8));
            Assert.Throws<SealingException>(() => external2.Open(header, sealedOnce));
        }
    }

    [Fact]
    public void A_peer_certificate_from_another_authority_is_refused()
    {
        using var otherAuthority = CertificateFactory.CreateAuthority("Test CA", TimeSpan.FromDays(30));
        using var impostor = CertificateFactory.IssueParty(otherAuthority, "external", PartyRole.External, [], TimeSpan.FromDays(1));
        var error = CompleteMusicWith(impostor, "external", JobId);
        Assert.Contains("peer certificate refused", error.Message);
        Assert.Contains("does not chain to the trusted authority", error.Message);
    }

    [Fact]
    public void A_certificate_for_another_party_id_is_refused()
    {
        using var other = CertificateFactory.IssueParty(certs.Authority, "external-2", PartyRole.External, [], TimeSpan.FromDays(1));
        var error = CompleteMusicWith(other, "external-2", JobId);
        Assert.Contains("is for party 'external-2', expected 'external'", error.Message);
    }

    [Fact]
    public void A_certificate_with_the_wrong_role_is_refused()
    {
        // Right name, wrong role: the authority made "external" a Music party.
        using var wrongRole = CertificateFactory.IssueParty(certs.Authority, "external", PartyRole.Music, [], TimeSpan.FromDays(1));
        var error = CompleteMusicWith(wrongRole, "external", JobId);
        Assert.Contains("has role Music, expected External", error.Message);
    }

    [Fact]
    public void The_coordinator_cannot_take_part_in_a_handshake()
    {
        var error = Assert.Throws<ArgumentException>(() => SessionHandshake.Start(certs.Coordinator, JobId, "coordinator", "music"));
        Assert.Contains("only Music and External", error.Message);
    }

    [Fact]
    public void An_offer_for_another_job_is_refused()
    {
        var error = CompleteMusicWith(certs.External, "external", new AttemptId("job-other"));
        Assert.Contains("for job 'job-other', expected job 'job-2026-11-23-a'", error.Message);
    }

    [Fact]
    public void An_offer_addressed_to_another_party_is_refused()
    {
        using var music = SessionHandshake.Start(certs.Music, JobId, "music", "external");
        using var external = SessionHandshake.Start(certs.External, JobId, "external", "music-2");
        var error = Assert.Throws<SealingException>(() => music.Complete(external.Offer, certs.Validator));
        Assert.Contains("from 'external' to 'music-2'", error.Message);
    }

    [Fact]
    public void A_tampered_offer_signature_is_refused()
    {
        using var music = SessionHandshake.Start(certs.Music, JobId, "music", "external");
        using var external = SessionHandshake.Start(certs.External, JobId, "external", "music");
        var offer = external.Offer.ToArray();
        offer[^1] ^= 0x01; // last byte of the signature

        var error = Assert.Throws<SealingException>(() => music.Complete(offer, certs.Validator));
        Assert.Contains("signature does not verify", error.Message);
    }

    [Fact]
    public void A_substituted_ephemeral_key_breaks_the_signature()
    {
        using var music = SessionHandshake.Start(certs.Music, JobId, "music", "external");
        using var external = SessionHandshake.Start(certs.External, JobId, "external", "music");
        var offer = external.Offer.ToArray();
        var ephemeral = SessionHandshake.ParseOffer(offer).EphemeralPublic;
        var at = offer.AsSpan().IndexOf(ephemeral);
        Assert.True(at > 0);
        offer[at + 5] ^= 0x40;

        var error = Assert.Throws<SealingException>(() => music.Complete(offer, certs.Validator));
        Assert.Contains("signature does not verify", error.Message);
    }

    [Fact]
    public void Man_in_the_middle_with_its_own_ephemeral_key_succeeds_only_when_signatures_are_not_checked()
    {
        // The relay replaces music's offer with one that presents music's (public) certificate but carries the relay's
        // own ephemeral key. Lacking music's private key, it signs with its own certificate's key.
        using var external = SessionHandshake.Start(certs.External, JobId, "external", "music");
        using var relayKey = certs.Coordinator.GetECDsaPrivateKey()!;
        using var forged = SessionHandshake.StartCore(PublicOnly(certs.Music), relayKey, JobId.Value, "music", "external", PartyRole.External);
        var forgedOffer = forged.Offer;

        // Without the signature check the attack works: the relay reads what external seals for music.
        using (var externalKey = external.Complete(forgedOffer, certs.Validator, verifySignature: false))
        using (var relayAsMusic = forged.Complete(external.Offer, certs.Validator))
        {
            var header = new SealedHeader(JobId, "train.g", "external", "music", 1, 3);
            var secret = "gradient for the bottom tower"u8.ToArray();
            Assert.Equal(secret, relayAsMusic.Open(header, externalKey.Seal(header, secret)));
        }

        // With the check (the only public path) the same forged offer is refused.
        using var honestExternal = SessionHandshake.Start(certs.External, JobId, "external", "music");
        var error = Assert.Throws<SealingException>(() => honestExternal.Complete(forgedOffer, certs.Validator));
        Assert.Contains("signature does not verify", error.Message);
    }

    [Fact]
    public void A_reflected_own_offer_is_refused()
    {
        using var music = SessionHandshake.Start(certs.Music, JobId, "music", "external");
        Assert.Throws<SealingException>(() => music.Complete(music.Offer, certs.Validator));
    }

    [Fact]
    public void Truncated_or_garbage_offers_fail_with_a_sealing_error_only()
    {
        using var music = SessionHandshake.Start(certs.Music, JobId, "music", "external");
        using var external = SessionHandshake.Start(certs.External, JobId, "external", "music");
        var offer = external.Offer;
        for (var length = 0; length < offer.Length; length += 7)
            Assert.Throws<SealingException>(() => music.Complete(offer.AsSpan(0, length), certs.Validator));
        Assert.Throws<SealingException>(() => music.Complete(new byte[] { 0, 0, 0, 9, 1, 2 }, certs.Validator));
        Assert.Throws<SealingException>(() => music.Complete([.. offer, 0], certs.Validator));

        // After all that, the genuine offer still completes.
        using var key = music.Complete(offer, certs.Validator);
        Assert.Equal("external", key.PeerPartyId);
    }

    [Fact]
    public void A_handshake_completes_only_once()
    {
        using var music = SessionHandshake.Start(certs.Music, JobId, "music", "external");
        using var external = SessionHandshake.Start(certs.External, JobId, "external", "music");
        using var key = music.Complete(external.Offer, certs.Validator);
        Assert.Throws<InvalidOperationException>(() => music.Complete(external.Offer, certs.Validator));

        var disposed = SessionHandshake.Start(certs.Music, JobId, "music", "external");
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => disposed.Complete(external.Offer, certs.Validator));
    }

    [Fact]
    public void Starting_with_a_certificate_of_another_party_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => SessionHandshake.Start(certs.Music, JobId, "external", "music"));
        Assert.Contains("for party 'music'", error.Message);
    }

    private SealingException CompleteMusicWith(X509Certificate2 peerCertificate, string peerId, AttemptId peerJobId)
    {
        using var peer = SessionHandshake.Start(peerCertificate, peerJobId, peerId, "music");
        using var expectingExternal = SessionHandshake.Start(certs.Music, JobId, "music", "external");
        return Assert.Throws<SealingException>(() => expectingExternal.Complete(peer.Offer, certs.Validator));
    }
}
