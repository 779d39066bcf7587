using System.Security.Cryptography.X509Certificates;
using Federated.Security;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator.Registry;

/// <summary>One enrolled party; <see cref="Fingerprint"/> is its newest certificate.</summary>
public sealed record PartyRecord(string PartyId, PartyRole Role, string Fingerprint, bool Revoked, DateTimeOffset EnrolledAt,
    DateTimeOffset? LastSeen, IReadOnlyList<string> SupportedJobKinds);

/// <summary>
/// One certificate a party has been enrolled with. A replaced certificate stays accepted until <see cref="RetiresAt"/>
/// (the rotation's overlap), so connections and jobs running on it are not cut off; null = the party's current one.
/// </summary>
/// Subject and expiry are null for a certificate pinned by a registry from before rotation (only its fingerprint was kept).
public sealed record EnrolledCertificate(string Fingerprint, string PartyId, string? Subject, DateTimeOffset? NotAfter,
    DateTimeOffset EnrolledAt, DateTimeOffset? RetiresAt)
{
    /// <summary>Accepted at <paramref name="now"/>: not past its overlap and not expired.</summary>
    public bool AcceptedAt(DateTimeOffset now) => (RetiresAt is null || now < RetiresAt) && (NotAfter is null || now <= NotAfter);
}

/// <summary>
/// The party registry: party id, role, pinned certificate fingerprints, revoked flag (SQLite, next to the audit log).
/// A certificate is only accepted when its fingerprint is enrolled, not retired and its party not revoked; its role
/// decides what it may call. Enrolling a new certificate for an enrolled party rotates it: the new one is pinned and
/// the previous one stays accepted for <see cref="CoordinatorOptions.CertificateOverlapSeconds"/> (or is retired at
/// once when asked), so a party can switch certificates while its jobs run.
/// </summary>
public sealed class PartyRegistry : IDisposable
{
    private readonly SqliteConnection _db;
    private readonly object _gate = new();
    private readonly ILogger<PartyRegistry> _logger;
    private readonly TimeSpan _overlap;
    private readonly TimeProvider _time;

    public PartyRegistry(IOptions<CoordinatorOptions> options, ILogger<PartyRegistry> logger, TimeProvider? time = null)
    {
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _overlap = TimeSpan.FromSeconds(options.Value.CertificateOverlapSeconds);
        var path = options.Value.RegistryDatabasePath;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _db.Open();
        Execute("""
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS parties (
              party_id TEXT PRIMARY KEY,
              role TEXT NOT NULL,
              fingerprint TEXT NOT NULL UNIQUE,
              revoked INTEGER NOT NULL DEFAULT 0,
              enrolled_at TEXT NOT NULL,
              last_seen TEXT NULL,
              job_kinds TEXT NOT NULL DEFAULT '');
            CREATE TABLE IF NOT EXISTS certificates (
              fingerprint TEXT PRIMARY KEY,
              party_id TEXT NOT NULL,
              subject TEXT NULL,
              not_after TEXT NULL,
              enrolled_at TEXT NOT NULL,
              retires_at TEXT NULL);
            """);
        // A registry from before rotation pinned one fingerprint per party: it stays that party's current certificate.
        Execute("""
            INSERT OR IGNORE INTO certificates (fingerprint, party_id, subject, not_after, enrolled_at, retires_at)
            SELECT fingerprint, party_id, NULL, NULL, enrolled_at, NULL FROM parties;
            """);
        foreach (var file in options.Value.EnrollCertificates)
            EnrollFromFile(file);
    }

    private void EnrollFromFile(string file)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadCertificateFromFile(Path.GetFullPath(file));
        }
        catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Coordinator:EnrollCertificates: cannot read certificate {Path.GetFullPath(file)}: {e.Message}", e);
        }
        using (certificate)
        {
            var party = Enroll(certificate);
            _logger.LogInformation("Enrolled {PartyId} ({Role}) from {File}, fingerprint {Fingerprint}", party.PartyId, party.Role, file, party.Fingerprint);
        }
    }

    /// <summary>
    /// Enrols a party from its certificate, or rotates an enrolled party to a new certificate: the new one is pinned;
    /// the previous one stays accepted for the overlap, or is retired at once with <paramref name="retirePrevious"/>
    /// (a compromised key). The current certificate again with <paramref name="retirePrevious"/> ends the overlap of
    /// those it replaced (the party has switched). A revoked party's certificate stays refused.
    /// </summary>
    public PartyRecord Enroll(X509Certificate2 certificate, bool retirePrevious = false) => EnrollCore(certificate, retirePrevious).Party;

    /// <summary>As <see cref="Enroll"/>, also returning the certificate it replaced (null for a first enrolment or the same certificate).</summary>
    public (PartyRecord Party, EnrolledCertificate? Replaced) EnrollCore(X509Certificate2 certificate, bool retirePrevious)
    {
        var (partyId, role) = CertificateFactory.ReadIdentity(certificate);
        var fingerprint = CertificateFactory.Fingerprint(certificate);
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            var existing = Find(partyId);
            if (existing is { Revoked: true } && existing.Fingerprint == fingerprint)
                throw new InvalidOperationException($"party '{partyId}' with certificate {fingerprint} is revoked; issue a new certificate to enrol it again");
            var known = FindCertificate(fingerprint);
            if (known is not null && known.PartyId != partyId)
                throw new InvalidOperationException($"certificate {fingerprint} is already enrolled for party '{known.PartyId}'");
            if (known is { RetiresAt: not null } && existing?.Fingerprint != fingerprint)
                throw new InvalidOperationException($"certificate {fingerprint} of party '{partyId}' was replaced and retires at {known.RetiresAt:O}; enrol a newer certificate");

            // Everything read before the transaction: a command on this connection inside it must name it.
            var previousCurrent = existing is not null && existing.Fingerprint != fingerprint ? FindCertificate(existing.Fingerprint) : null;
            var overlapping = existing is not null ? Certificates(partyId).FirstOrDefault(c => c.Fingerprint != fingerprint && c.AcceptedAt(now)) : null;
            using var transaction = _db.BeginTransaction();
            EnrolledCertificate? replaced = null;
            if (existing is not null && existing.Fingerprint != fingerprint)
            {
                replaced = previousCurrent;
                var retiresAt = retirePrevious || existing.Revoked ? now : now + _overlap;
                if (replaced?.NotAfter is { } expires && retiresAt > expires) retiresAt = expires;
                using var retire = _db.CreateCommand();
                retire.Transaction = transaction;
                retire.CommandText = "UPDATE certificates SET retires_at = $at WHERE fingerprint = $fp AND (retires_at IS NULL OR retires_at > $at)";
                retire.Parameters.AddWithValue("$fp", existing.Fingerprint);
                retire.Parameters.AddWithValue("$at", retiresAt.ToString("O"));
                retire.ExecuteNonQuery();
                replaced = replaced is null ? null : replaced with { RetiresAt = retiresAt };
            }
            else if (existing is not null && retirePrevious)
            {
                // The current certificate again, with retirePrevious: end the overlap of the ones it replaced now.
                replaced = overlapping;
                using var retire = _db.CreateCommand();
                retire.Transaction = transaction;
                retire.CommandText = "UPDATE certificates SET retires_at = $at WHERE party_id = $id AND fingerprint <> $fp AND (retires_at IS NULL OR retires_at > $at)";
                retire.Parameters.AddWithValue("$id", partyId);
                retire.Parameters.AddWithValue("$fp", fingerprint);
                retire.Parameters.AddWithValue("$at", now.ToString("O"));
                retire.ExecuteNonQuery();
                replaced = replaced is null ? null : replaced with { RetiresAt = now };
            }
            using (var command = _db.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = """
                    INSERT INTO parties (party_id, role, fingerprint, revoked, enrolled_at) VALUES ($id, $role, $fp, 0, $now)
                    ON CONFLICT(party_id) DO UPDATE SET role = excluded.role, fingerprint = excluded.fingerprint, revoked = 0, enrolled_at = excluded.enrolled_at
                    WHERE parties.fingerprint <> excluded.fingerprint OR parties.role <> excluded.role;
                    INSERT INTO certificates (fingerprint, party_id, subject, not_after, enrolled_at, retires_at) VALUES ($fp, $id, $subject, $notAfter, $now, NULL)
                    ON CONFLICT(fingerprint) DO NOTHING;
                    """;
                command.Parameters.AddWithValue("$id", partyId);
                command.Parameters.AddWithValue("$role", role.ToString());
                command.Parameters.AddWithValue("$fp", fingerprint);
                command.Parameters.AddWithValue("$subject", certificate.Subject);
                command.Parameters.AddWithValue("$notAfter", new DateTimeOffset(certificate.NotAfter.ToUniversalTime()).ToString("O"));
                command.Parameters.AddWithValue("$now", now.ToString("O"));
                command.ExecuteNonQuery();
            }
            transaction.Commit();
            return (Find(partyId)!, replaced);
        }
    }

    /// <summary>The certificates a party has been enrolled with, newest first.</summary>
    public IReadOnlyList<EnrolledCertificate> Certificates(string partyId) =>
        QueryCertificates("WHERE party_id = $v ORDER BY enrolled_at DESC", partyId);

    /// <summary>An enrolled certificate by fingerprint (accepted or not), or null.</summary>
    public EnrolledCertificate? FindCertificate(string fingerprint) => QueryCertificates("WHERE fingerprint = $v", fingerprint).FirstOrDefault();

    private List<EnrolledCertificate> QueryCertificates(string where, string value)
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = $"SELECT fingerprint, party_id, subject, not_after, enrolled_at, retires_at FROM certificates {where}";
            command.Parameters.AddWithValue("$v", value);
            using var reader = command.ExecuteReader();
            var result = new List<EnrolledCertificate>();
            while (reader.Read())
                result.Add(new EnrolledCertificate(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.IsDBNull(3) ? null : ParseTime(reader.GetString(3)),
                    ParseTime(reader.GetString(4)), reader.IsDBNull(5) ? null : ParseTime(reader.GetString(5))));
            return result;
        }
    }

    private static DateTimeOffset ParseTime(string value) => DateTimeOffset.Parse(value, System.Globalization.CultureInfo.InvariantCulture);

    public PartyRecord Revoke(string partyId)
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = "UPDATE parties SET revoked = 1 WHERE party_id = $id";
            command.Parameters.AddWithValue("$id", partyId);
            if (command.ExecuteNonQuery() == 0)
                throw new KeyNotFoundException($"party '{partyId}' is not enrolled");
            return Find(partyId)!;
        }
    }

    public PartyRecord? Find(string partyId) => Query("WHERE party_id = $v", partyId).FirstOrDefault();

    public IReadOnlyList<PartyRecord> List() => Query("ORDER BY party_id", null);

    public void MarkSeen(string partyId, IEnumerable<string>? jobKinds = null)
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = jobKinds is null
                ? "UPDATE parties SET last_seen = $now WHERE party_id = $id"
                : "UPDATE parties SET last_seen = $now, job_kinds = $kinds WHERE party_id = $id";
            command.Parameters.AddWithValue("$id", partyId);
            command.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToString("O"));
            if (jobKinds is not null)
                command.Parameters.AddWithValue("$kinds", string.Join(',', jobKinds));
            command.ExecuteNonQuery();
        }
    }

    private List<PartyRecord> Query(string where, string? value)
    {
        lock (_gate)
        {
            using var command = _db.CreateCommand();
            command.CommandText = $"SELECT party_id, role, fingerprint, revoked, enrolled_at, last_seen, job_kinds FROM parties {where}";
            if (value is not null)
                command.Parameters.AddWithValue("$v", value);
            using var reader = command.ExecuteReader();
            var result = new List<PartyRecord>();
            while (reader.Read())
            {
                result.Add(new PartyRecord(
                    reader.GetString(0),
                    Enum.Parse<PartyRole>(reader.GetString(1)),
                    reader.GetString(2),
                    reader.GetInt64(3) != 0,
                    DateTimeOffset.Parse(reader.GetString(4), System.Globalization.CultureInfo.InvariantCulture),
                    reader.IsDBNull(5) ? null : DateTimeOffset.Parse(reader.GetString(5), System.Globalization.CultureInfo.InvariantCulture),
                    reader.GetString(6).Split(',', StringSplitOptions.RemoveEmptyEntries)));
            }
            return result;
        }
    }

    private void Execute(string sql)
    {
        using var command = _db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose() => _db.Dispose();
}
