using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Serialization;

namespace Federated.Security;

/// <summary>
/// A party's signed statement that the coordinator showed it this head of the audit log's hash chain at a job
/// milestone: record <see cref="Index"/> of the log has hash <see cref="Hash"/>. Since every record's hash covers the
/// one before it, the receipt binds the coordinator to records 1..<see cref="Index"/> exactly as they were. The party
/// keeps its receipts (<see cref="AuditReceiptFile"/>); an auditor collects them and checks them against the log.
/// The party's certificate is carried in the receipt, so a receipt is checked with the federation's CA alone.
/// </summary>
/// <param name="Format">Always <see cref="AuditReceipts.FormatVersion"/>.</param>
/// <param name="Party">The signing party's id (its certificate's CN).</param>
/// <param name="JobId">The job whose milestone this is.</param>
/// <param name="Milestone">The job milestone: <c>started</c>, <c>resumed</c>, <c>completed</c>, <c>failed</c>.</param>
/// <param name="Index">The number of records in the log when the coordinator answered (the head record's index; 0 for an empty log).</param>
/// <param name="Hash">The head record's hash, 64 lowercase hex characters (64 zeros for an empty log).</param>
/// <param name="HeadJobId">The head record's job, as the coordinator reported it ("" for an empty log).</param>
/// <param name="HeadTime">The head record's time as the log stores it ("" for an empty log).</param>
/// <param name="Time">When the party signed, UTC, <c>yyyy-MM-ddTHH:mm:ss.fffffffZ</c>.</param>
/// <param name="Certificate">The party's certificate, DER, base64.</param>
/// <param name="Signature">ECDSA P-256 SHA-256 signature (IEEE P1363, base64) over <see cref="AuditReceipts.SignedBytes"/>.</param>
public sealed record AuditReceipt(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("party")] string Party,
    [property: JsonPropertyName("job")] string JobId,
    [property: JsonPropertyName("milestone")] string Milestone,
    [property: JsonPropertyName("index")] long Index,
    [property: JsonPropertyName("hash")] string Hash,
    [property: JsonPropertyName("headJob")] string HeadJobId,
    [property: JsonPropertyName("headTime")] string HeadTime,
    [property: JsonPropertyName("time")] string Time,
    [property: JsonPropertyName("certificate")] string Certificate,
    [property: JsonPropertyName("signature")] string Signature)
{
    /// <summary>How a message names this receipt: party, job, milestone and the record it holds.</summary>
    public override string ToString() => $"{Party}'s '{Milestone}' receipt of job {JobId} (record {Index})";
}

/// <summary>The outcome of <see cref="AuditReceipts.Verify"/>: valid, or what is wrong.</summary>
/// <param name="IsValid">True when the certificate chains to the CA, names the party, and the signature verifies.</param>
/// <param name="Problem">What is wrong; null when valid.</param>
public sealed record AuditReceiptCheck(bool IsValid, string? Problem)
{
    /// <summary>The successful outcome.</summary>
    public static AuditReceiptCheck Valid { get; } = new(true, null);
}

/// <summary>Signs and checks <see cref="AuditReceipt"/>s with party certificates.</summary>
public static class AuditReceipts
{
    /// <summary>The receipt format; part of what is signed.</summary>
    public const string FormatVersion = "federated.audit-receipt.v1";

    /// <summary>The hash of "no record yet" (an empty log's head), as the audit chain defines it.</summary>
    public static readonly string GenesisHash = new('0', 64);

    private const int MaxFieldLength = 256;

    /// <summary>
    /// Signs a receipt for <paramref name="jobId"/> at <paramref name="milestone"/> with the party's certificate key.
    /// </summary>
    /// <param name="partyCertificate">The party's certificate with its ECDSA private key.</param>
    /// <param name="jobId">The job.</param>
    /// <param name="milestone">Lowercase letters and '-', for example <c>started</c>.</param>
    /// <param name="index">The head record's index (0 for an empty log).</param>
    /// <param name="hash">The head record's hash, 64 lowercase hex characters.</param>
    /// <param name="headJobId">The head record's job as the coordinator reported it.</param>
    /// <param name="headTime">The head record's time as the coordinator reported it.</param>
    /// <param name="time">The signing time.</param>
    /// <exception cref="ArgumentException">A field is malformed, or the certificate has no ECDSA private key (the message says which).</exception>
    public static AuditReceipt Sign(X509Certificate2 partyCertificate, string jobId, string milestone, long index, string hash,
        string headJobId, string headTime, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(partyCertificate);
        var problem = FieldProblem(jobId, milestone, index, hash, headJobId, headTime);
        if (problem is not null)
            throw new ArgumentException($"audit receipt: {problem}");
        var (party, _) = CertificateFactory.ReadIdentity(partyCertificate);
        using var key = partyCertificate.GetECDsaPrivateKey()
            ?? throw new ArgumentException($"certificate '{partyCertificate.Subject}' has no ECDSA private key to sign audit receipts with", nameof(partyCertificate));
        var unsigned = new AuditReceipt(FormatVersion, party, jobId, milestone, index, hash, headJobId, headTime,
            time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture),
            Convert.ToBase64String(partyCertificate.RawData), "");
        var signature = key.SignData(SignedBytes(unsigned), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return unsigned with { Signature = Convert.ToBase64String(signature) };
    }

    /// <summary>
    /// Checks a receipt on its own: format and fields, that its certificate passes <paramref name="validator"/> (the
    /// federation's CA, TLS client use), that the certificate names the receipt's party with a data party's role
    /// (music or external), and that the signature verifies under the certificate's key. Never throws.
    /// Whether the audit log agrees with the receipt is the audit library's check.
    /// </summary>
    public static AuditReceiptCheck Verify(AuditReceipt receipt, CertificateValidator validator)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        ArgumentNullException.ThrowIfNull(validator);
        if (receipt.Format != FormatVersion)
            return Bad($"its format is '{receipt.Format}', expected '{FormatVersion}'");
        if (string.IsNullOrEmpty(receipt.Party) || receipt.Party.Length > MaxFieldLength)
            return Bad("it names no party");
        if (FieldProblem(receipt.JobId, receipt.Milestone, receipt.Index, receipt.Hash, receipt.HeadJobId, receipt.HeadTime) is { } field)
            return Bad(field);
        if (string.IsNullOrEmpty(receipt.Time) || receipt.Time.Length > MaxFieldLength)
            return Bad("it has no signing time");

        X509Certificate2 certificate;
        byte[] signature;
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(receipt.Certificate ?? ""));
            signature = Convert.FromBase64String(receipt.Signature ?? "");
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            return Bad($"its certificate or signature cannot be decoded: {e.Message}");
        }
        using (certificate)
        {
            var check = validator.Validate(certificate, CertificatePurpose.Client);
            if (!check.IsValid)
                return Bad($"its certificate is not accepted by the federation's CA: {check.Reason}");
            string party;
            PartyRole role;
            try { (party, role) = CertificateFactory.ReadIdentity(certificate); }
            catch (InvalidDataException e) { return Bad(e.Message); }
            if (party != receipt.Party)
                return Bad($"it says party '{receipt.Party}' but its certificate is party '{party}'");
            if (role is not (PartyRole.Music or PartyRole.External))
                return Bad($"its certificate's role is {role}; only the music and external parties sign receipts");
            using var key = certificate.GetECDsaPublicKey();
            if (key is null)
                return Bad($"its certificate '{certificate.Subject}' has no ECDSA key");
            if (!key.VerifyData(SignedBytes(receipt), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
                return Bad("its signature does not verify under the party's certificate: the receipt was altered after signing, or forged");
        }
        return AuditReceiptCheck.Valid;
    }

    /// <summary>
    /// What is signed: <c>LP("federated.audit-receipt.v1") || LP(party) || LP(job) || LP(milestone) || i64be(index) ||
    /// LP(hash) || LP(head job) || LP(head time) || LP(time) || LP(certificate DER)</c>, LP = 4-byte big-endian
    /// length || UTF-8 (or the bytes).
    /// </summary>
    public static byte[] SignedBytes(AuditReceipt receipt)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        byte[] certificate;
        try { certificate = Convert.FromBase64String(receipt.Certificate ?? ""); }
        catch (FormatException) { certificate = System.Text.Encoding.UTF8.GetBytes(receipt.Certificate ?? ""); }
        return new CanonicalWriter().Text(FormatVersion).Text(receipt.Party ?? "").Text(receipt.JobId ?? "").Text(receipt.Milestone ?? "")
            .Int64(receipt.Index).Text(receipt.Hash ?? "").Text(receipt.HeadJobId ?? "").Text(receipt.HeadTime ?? "").Text(receipt.Time ?? "")
            .Bytes(certificate).ToArray();
    }

    /// <summary>True for 64 lowercase hexadecimal characters (a SHA-256 as the audit chain writes it).</summary>
    public static bool IsSha256Hex(string? value)
        => value is { Length: 64 } && value.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    private static string? FieldProblem(string? jobId, string? milestone, long index, string? hash, string? headJobId, string? headTime)
    {
        if (string.IsNullOrWhiteSpace(jobId) || jobId.Length > MaxFieldLength)
            return $"job id '{jobId}' is empty or longer than {MaxFieldLength} characters";
        if (string.IsNullOrEmpty(milestone) || milestone.Length > 32 || !milestone.All(c => c is >= 'a' and <= 'z' or '-'))
            return $"milestone '{milestone}' is not 1-32 lowercase letters and '-'";
        if (index < 0)
            return $"record index {index} is negative";
        if (!IsSha256Hex(hash))
            return $"hash '{hash}' is not 64 lowercase hexadecimal characters";
        if (index == 0 && hash != GenesisHash)
            return "record index 0 (an empty log) must come with the genesis hash (64 zeros)";
        if (headJobId is null || headJobId.Length > MaxFieldLength || headTime is null || headTime.Length > MaxFieldLength)
            return "the head record's job or time is missing or too long";
        return null;
    }

    private static AuditReceiptCheck Bad(string problem) => new(false, problem);
}
