using System.Security.Cryptography.X509Certificates;
using Federated.Security;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator.Registry;

/// <summary>One enrolled party.</summary>
public sealed record PartyRecord(string PartyId, PartyRole Role, string Fingerprint, bool Revoked, DateTimeOffset EnrolledAt,
    DateTimeOffset? LastSeen, IReadOnlyList<string> SupportedJobKinds);

/// <summary>
/// The party registry: party id, role, pinned certificate fingerprint, revoked flag (SQLite, next to the audit log).
/// A certificate is only accepted when its fingerprint is enrolled and not revoked; its role decides what it may call.
/// </summary>
public sealed class PartyRegistry : IDisposable
{
    private readonly SqliteConnection _db;
    private readonly object _gate = new();
    private readonly ILogger<PartyRegistry> _logger;

    public PartyRegistry(IOptions<CoordinatorOptions> options, ILogger<PartyRegistry> logger)
    {
        _logger = logger;
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

    /// <summary>Enrols (or re-pins) a party from its certificate. A revoked party id stays revoked.</summary>
    public PartyRecord Enroll(X509Certificate2 certificate)
    {
        var (partyId, role) = CertificateFactory.ReadIdentity(certificate);
        var fingerprint = CertificateFactory.Fingerprint(certificate);
        lock (_gate)
        {
            var existing = Find(partyId);
            if (existing is { Revoked: true } && existing.Fingerprint == fingerprint)
                throw new InvalidOperationException($"party '{partyId}' with certificate {fingerprint} is revoked; issue a new certificate to enrol it again");
            using var command = _db.CreateCommand();
            command.CommandText = """
                INSERT INTO parties (party_id, role, fingerprint, revoked, enrolled_at) VALUES ($id, $role, $fp, 0, $now)
                ON CONFLICT(party_id) DO UPDATE SET role = excluded.role, fingerprint = excluded.fingerprint, revoked = 0, enrolled_at = excluded.enrolled_at
                WHERE parties.fingerprint <> excluded.fingerprint OR parties.role <> excluded.role;
                """;
            command.Parameters.AddWithValue("$id", partyId);
            command.Parameters.AddWithValue("$role", role.ToString());
            command.Parameters.AddWithValue("$fp", fingerprint);
            command.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToString("O"));
            command.ExecuteNonQuery();
            return Find(partyId)!;
        }
    }

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

    public PartyRecord? FindByFingerprint(string fingerprint) => Query("WHERE fingerprint = $v", fingerprint).FirstOrDefault();

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
