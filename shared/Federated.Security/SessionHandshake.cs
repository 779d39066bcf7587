using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NSec.Cryptography;

using Federated.Core.Jobs;

namespace Federated.Security;

/// <summary>
/// One side of the authenticated key exchange that gives two parties a per-job session key through the relay.
/// Each side makes an ephemeral X25519 key pair and a fresh 32-byte nonce, and signs (ECDSA P-256 / SHA-256 with its
/// party certificate's key) an offer that binds the job id, its own and the peer's party id, the ephemeral public key
/// and the nonce. <see cref="Complete(ReadOnlySpan{byte}, CertificateValidator)"/> checks the peer's certificate, identity, role, job binding and signature,
/// then derives one key per direction with HKDF-SHA-256 over the X25519 secret, salted with a hash of both offers.
/// </summary>
/// <remarks>Single use: call <see cref="Start"/>, send <see cref="Offer"/>, call <see cref="Complete(ReadOnlySpan{byte}, CertificateValidator)"/> once.</remarks>
public sealed class SessionHandshake : IDisposable
{
    internal const string OfferDomain = "federated.handshake-offer.v1";
    private const string TranscriptDomain = "federated.handshake-transcript.v1";
    private const string KeyDomain = "federated.session-key.v1";
    internal const int NonceSize = 32;
    private const int MaxCertificateBytes = 16 * 1024;
    private const int MaxJobIdBytes = 256;
    private const int MaxPartyIdBytes = 64;
    private const int MaxSignatureBytes = 256;

    private readonly string _jobId;
    private readonly string _ownPartyId;
    private readonly string _peerPartyId;
    private readonly PartyRole _expectedPeerRole;
    private Key? _ephemeral;
    private readonly byte[] _ephemeralPublic;
    private readonly byte[] _nonce;
    private bool _completed;
    private bool _disposed;

    private SessionHandshake(string jobId, string ownPartyId, string peerPartyId, PartyRole expectedPeerRole,
        Key ephemeral, byte[] nonce, byte[] offer)
    {
        _jobId = jobId;
        _ownPartyId = ownPartyId;
        _peerPartyId = peerPartyId;
        _expectedPeerRole = expectedPeerRole;
        _ephemeral = ephemeral;
        _ephemeralPublic = ephemeral.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        _nonce = nonce;
        Offer = offer;
    }

    /// <summary>The signed offer to send to the peer through the relay. It contains no secret.</summary>
    public byte[] Offer { get; }

    /// <summary>
    /// Starts a handshake. The certificate's CN must be <paramref name="ownPartyId"/>; its role decides the peer's
    /// expected role (Music expects External and vice versa).
    /// </summary>
    /// <param name="ownCertificateWithKey">This party's certificate with its ECDSA private key.</param>
    /// <param name="attempt">The job attempt the session key is for.</param>
    /// <param name="ownPartyId">This party's id.</param>
    /// <param name="peerPartyId">The other party's id.</param>
    /// <exception cref="ArgumentException">The certificate has no ECDSA key, names another party, or has a role that does not seal.</exception>
    public static SessionHandshake Start(X509Certificate2 ownCertificateWithKey, AttemptId attempt, string ownPartyId, string peerPartyId)
    {
        ArgumentNullException.ThrowIfNull(ownCertificateWithKey);
        var (certificateParty, role) = ReadOwnIdentity(ownCertificateWithKey);
        if (certificateParty != ownPartyId)
            throw new ArgumentException(
                $"the certificate is for party '{certificateParty}' but the handshake is started as '{ownPartyId}'", nameof(ownPartyId));
        var expectedPeerRole = role switch
        {
            PartyRole.Music => PartyRole.External,
            PartyRole.External => PartyRole.Music,
            _ => throw new ArgumentException(
                $"party '{ownPartyId}' has role {role}; only {PartyRole.Music} and {PartyRole.External} parties seal payloads to each other",
                nameof(ownCertificateWithKey)),
        };
        using var signer = ownCertificateWithKey.GetECDsaPrivateKey()
            ?? throw new ArgumentException($"certificate '{ownCertificateWithKey.Subject}' has no ECDSA private key", nameof(ownCertificateWithKey));
        return StartCore(ownCertificateWithKey, signer, attempt.Value, ownPartyId, peerPartyId, expectedPeerRole);
    }

    /// <summary>
    /// Builds and signs an offer presenting <paramref name="presented"/> but signed with <paramref name="signer"/>.
    /// <see cref="Start"/> passes the certificate's own key; tests pass another key to play a man in the middle.
    /// </summary>
    internal static SessionHandshake StartCore(X509Certificate2 presented, ECDsa signer, string jobId,
        string ownPartyId, string peerPartyId, PartyRole expectedPeerRole)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobId);
        if (System.Text.Encoding.UTF8.GetByteCount(jobId) > MaxJobIdBytes)
            throw new ArgumentException($"job id is longer than {MaxJobIdBytes} bytes", nameof(jobId));
        CertificateFactory.ValidatePartyId(ownPartyId);
        CertificateFactory.ValidatePartyId(peerPartyId);
        if (ownPartyId == peerPartyId)
            throw new ArgumentException($"own and peer party id are both '{ownPartyId}'", nameof(peerPartyId));

        var ephemeral = Key.Create(KeyAgreementAlgorithm.X25519,
            new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None });
        try
        {
            var nonce = RandomNumberGenerator.GetBytes(NonceSize);
            var body = new CanonicalWriter()
                .Text(OfferDomain)
                .Bytes(presented.RawData)
                .Text(jobId).Text(ownPartyId).Text(peerPartyId)
                .Bytes(ephemeral.PublicKey.Export(KeyBlobFormat.RawPublicKey))
                .Bytes(nonce)
                .ToArray();
            var signature = signer.SignData(body, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            var offer = new CanonicalWriter().Bytes(body).Bytes(signature).ToArray();
            return new SessionHandshake(jobId, ownPartyId, peerPartyId, expectedPeerRole, ephemeral, nonce, offer);
        }
        catch
        {
            ephemeral.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks the peer's offer and derives the session key: the peer certificate must chain to the validator's
    /// authority, name the expected peer id (CN) and role (OU), the offer must be for this job and addressed to this
    /// party, and its signature must verify under the certificate's key.
    /// </summary>
    /// <exception cref="SealingException">Any check failed; the message says which.</exception>
    public SessionKey Complete(ReadOnlySpan<byte> peerOffer, CertificateValidator validator)
        => Complete(peerOffer, validator, verifySignature: true);

    /// <summary>
    /// <see cref="Complete(ReadOnlySpan{byte}, CertificateValidator)"/>, with the signature check switchable so a
    /// test can show the man-in-the-middle attack it prevents. Production code never passes false.
    /// </summary>
    internal SessionKey Complete(ReadOnlySpan<byte> peerOffer, CertificateValidator validator, bool verifySignature)
    {
        ArgumentNullException.ThrowIfNull(validator);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed || _ephemeral is null)
            throw new InvalidOperationException("this handshake was already completed; start a new one for a new session");

        var offer = ParseOffer(peerOffer);
        using var certificate = LoadCertificate(offer.Certificate);

        var check = validator.Validate(certificate, CertificatePurpose.Client);
        if (!check.IsValid)
            throw new SealingException($"peer certificate refused: {check.Reason}");
        (string PartyId, PartyRole Role) identity;
        try { identity = CertificateFactory.ReadIdentity(certificate); }
        catch (InvalidDataException e) { throw new SealingException($"peer certificate has no party identity: {e.Message}", e); }
        if (identity.PartyId != _peerPartyId)
            throw new SealingException($"peer certificate is for party '{identity.PartyId}', expected '{_peerPartyId}'");
        if (identity.Role != _expectedPeerRole)
            throw new SealingException($"peer certificate for '{identity.PartyId}' has role {identity.Role}, expected {_expectedPeerRole}");
        if (offer.JobId != _jobId)
            throw new SealingException($"peer offer is for job '{offer.JobId}', expected job '{_jobId}'");
        if (offer.Sender != _peerPartyId || offer.Receiver != _ownPartyId)
            throw new SealingException(
                $"peer offer is from '{offer.Sender}' to '{offer.Receiver}', expected from '{_peerPartyId}' to '{_ownPartyId}'");

        if (verifySignature)
        {
            using var publicKey = certificate.GetECDsaPublicKey()
                ?? throw new SealingException($"peer certificate for '{identity.PartyId}' has no ECDSA public key");
            if (!publicKey.VerifyData(offer.Body, offer.Signature, HashAlgorithmName.SHA256,
                    DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
                throw new SealingException(
                    $"peer offer signature does not verify under the certificate of '{identity.PartyId}' (offer altered in transit or signed by another key)");
        }

        if (offer.EphemeralPublic.SequenceEqual(_ephemeralPublic) || offer.Nonce.SequenceEqual(_nonce))
            throw new SealingException("peer offer carries this party's own ephemeral key or nonce (reflected offer)");

        var ownFirst = string.CompareOrdinal(_ownPartyId, _peerPartyId) < 0;
        var salt = SHA256.HashData(new CanonicalWriter()
            .Text(TranscriptDomain)
            .Bytes(ownFirst ? Offer : peerOffer)
            .Bytes(ownFirst ? peerOffer : Offer)
            .ToArray());

        if (!NSec.Cryptography.PublicKey.TryImport(KeyAgreementAlgorithm.X25519, offer.EphemeralPublic, KeyBlobFormat.RawPublicKey, out var peerPublic)
            || peerPublic is null)
            throw new SealingException("peer offer carries a malformed X25519 ephemeral public key");

        SharedSecret? shared;
        try
        {
            shared = KeyAgreementAlgorithm.X25519.Agree(_ephemeral, peerPublic,
                new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.None });
        }
        catch (CryptographicException e)
        {
            throw new SealingException("X25519 agreement failed (peer ephemeral key is a low-order point)", e);
        }
        if (shared is null)
            throw new SealingException("X25519 agreement failed (peer ephemeral key is a low-order point)");

        Key? send = null, receive = null;
        try
        {
            using (shared)
            {
                var parameters = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None };
                send = KeyDerivationAlgorithm.HkdfSha256.DeriveKey(shared, salt,
                    KeyInfo(_jobId, _ownPartyId, _peerPartyId), SessionKey.Algorithm, parameters);
                receive = KeyDerivationAlgorithm.HkdfSha256.DeriveKey(shared, salt,
                    KeyInfo(_jobId, _peerPartyId, _ownPartyId), SessionKey.Algorithm, parameters);
            }
            var sessionKey = new SessionKey(_jobId, _ownPartyId, _peerPartyId, send, receive, ownFirst,
                CertificateFactory.Fingerprint(certificate));
            _completed = true;
            _ephemeral.Dispose();
            _ephemeral = null;
            return sessionKey;
        }
        catch
        {
            send?.Dispose();
            receive?.Dispose();
            throw;
        }
    }

    /// <summary>Forgets the ephemeral private key (NSec keeps it in memory it wipes on dispose).</summary>
    public void Dispose()
    {
        _ephemeral?.Dispose();
        _ephemeral = null;
        _disposed = true;
    }

    private static byte[] KeyInfo(string jobId, string sender, string receiver)
        => new CanonicalWriter().Text(KeyDomain).Text(jobId).Text(sender).Text(receiver).ToArray();

    private static (string PartyId, PartyRole Role) ReadOwnIdentity(X509Certificate2 certificate)
    {
        try { return CertificateFactory.ReadIdentity(certificate); }
        catch (InvalidDataException e) { throw new ArgumentException(e.Message, nameof(certificate), e); }
    }

    private static X509Certificate2 LoadCertificate(byte[] der)
    {
        try { return X509CertificateLoader.LoadCertificate(der); }
        catch (CryptographicException e)
        {
            throw new SealingException($"peer offer carries a certificate that cannot be decoded: {e.Message}", e);
        }
    }

    /// <summary>The fields of a parsed offer.</summary>
    internal sealed record ParsedOffer(byte[] Body, byte[] Certificate, string JobId, string Sender, string Receiver,
        byte[] EphemeralPublic, byte[] Nonce, byte[] Signature);

    internal static ParsedOffer ParseOffer(ReadOnlySpan<byte> offer)
    {
        var outer = new CanonicalReader(offer, "handshake offer");
        var body = outer.Bytes("body", 64 * 1024);
        var signature = outer.Bytes("signature", MaxSignatureBytes);
        outer.End();

        var reader = new CanonicalReader(body, "handshake offer");
        var domain = reader.Text("domain", 64);
        if (domain != OfferDomain)
            throw new SealingException($"handshake offer has format '{domain}', expected '{OfferDomain}'");
        var certificate = reader.Bytes("certificate", MaxCertificateBytes).ToArray();
        var jobId = reader.Text("job id", MaxJobIdBytes);
        var sender = reader.Text("sender", MaxPartyIdBytes);
        var receiver = reader.Text("receiver", MaxPartyIdBytes);
        var ephemeral = reader.Bytes("ephemeral key", 64).ToArray();
        if (ephemeral.Length != KeyAgreementAlgorithm.X25519.PublicKeySize)
            throw new SealingException(
                $"handshake offer: ephemeral key is {ephemeral.Length} bytes, expected {KeyAgreementAlgorithm.X25519.PublicKeySize}");
        var nonce = reader.Bytes("nonce", NonceSize).ToArray();
        if (nonce.Length != NonceSize)
            throw new SealingException($"handshake offer: nonce is {nonce.Length} bytes, expected {NonceSize}");
        reader.End();
        return new ParsedOffer(body.ToArray(), certificate, jobId, sender, receiver, ephemeral, nonce, signature.ToArray());
    }
}
