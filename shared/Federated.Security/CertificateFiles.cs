using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Federated.Security;

/// <summary>
/// Reads and writes certificates as PEM files: <c>&lt;name&gt;.crt.pem</c> (certificate) and
/// <c>&lt;name&gt;.key.pem</c> (PKCS#8 private key, created with file mode 0600 on Unix).
/// </summary>
public static class CertificateFiles
{
    /// <summary>File name of the authority certificate in a certificate folder (without the ".crt.pem").</summary>
    public const string AuthorityName = "ca";

    /// <summary>The parties of a local development federation: coordinator, music, external, operator.</summary>
    public static IReadOnlyList<(string PartyId, PartyRole Role)> DevelopmentParties { get; } =
    [
        ("coordinator", PartyRole.Coordinator),
        ("music", PartyRole.Music),
        ("external", PartyRole.External),
        ("operator", PartyRole.Operator),
    ];

    /// <summary>Path of the certificate file for <paramref name="name"/> in <paramref name="directory"/>.</summary>
    public static string CertificatePath(string directory, string name) => Path.Combine(directory, name + ".crt.pem");

    /// <summary>Path of the private key file for <paramref name="name"/> in <paramref name="directory"/>.</summary>
    public static string KeyPath(string directory, string name) => Path.Combine(directory, name + ".key.pem");

    /// <summary>
    /// Writes the certificate, and its private key when it has one, as PEM. Files are written to a temporary name
    /// and renamed, so a reader never sees half a file; the key file is readable by its owner only.
    /// </summary>
    public static void Save(X509Certificate2 certWithKey, string directory, string name)
    {
        ArgumentNullException.ThrowIfNull(certWithKey);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        CertificateFactory.ValidatePartyId(name);
        Directory.CreateDirectory(directory);

        if (certWithKey.HasPrivateKey)
        {
            using var key = certWithKey.GetECDsaPrivateKey()
                ?? throw new ArgumentException($"certificate '{certWithKey.Subject}' has a private key that is not ECDSA", nameof(certWithKey));
            // Byte and char arrays rather than strings, so the key material can be wiped after writing.
            var der = key.ExportPkcs8PrivateKey();
            var pem = PemEncoding.Write("PRIVATE KEY", der);
            try { WriteAtomically(KeyPath(directory, name), pem, ownerOnly: true); }
            finally
            {
                CryptographicOperations.ZeroMemory(der);
                Array.Clear(pem);
            }
        }
        WriteAtomically(CertificatePath(directory, name), certWithKey.ExportCertificatePem().ToCharArray(), ownerOnly: false);
    }

    /// <summary>Loads <c>&lt;name&gt;.crt.pem</c>, with <c>&lt;name&gt;.key.pem</c> when <paramref name="withPrivateKey"/> is true.</summary>
    /// <exception cref="FileNotFoundException">A file is missing (the message names it).</exception>
    /// <exception cref="InvalidDataException">A file is not a PEM certificate / key, or the key does not match.</exception>
    public static X509Certificate2 Load(string directory, string name, bool withPrivateKey)
    {
        var certPath = CertificatePath(directory, name);
        if (!File.Exists(certPath))
            throw new FileNotFoundException($"certificate file '{certPath}' does not exist", certPath);
        if (!withPrivateKey)
        {
            try { return X509Certificate2.CreateFromPem(File.ReadAllText(certPath)); }
            catch (CryptographicException e)
            {
                throw new InvalidDataException($"'{certPath}' is not a PEM certificate: {e.Message}", e);
            }
        }

        var keyPath = KeyPath(directory, name);
        if (!File.Exists(keyPath))
            throw new FileNotFoundException($"private key file '{keyPath}' does not exist (needed with '{certPath}')", keyPath);
        try { return X509Certificate2.CreateFromPemFile(certPath, keyPath); }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new InvalidDataException(
                $"could not load '{certPath}' with key '{keyPath}': {e.Message} (is the key the one for this certificate?)", e);
        }
    }

    /// <summary>Loads the authority certificate <c>ca.crt.pem</c> (public part only) from a certificate folder.</summary>
    public static X509Certificate2 LoadAuthority(string directory) => Load(directory, AuthorityName, withPrivateKey: false);

    /// <summary>
    /// Creates a development certificate set: a fresh authority (<c>ca.crt.pem</c>, <c>ca.key.pem</c>, valid two
    /// years) and one certificate per party (valid one year), each with its key. Refuses to overwrite an existing
    /// set unless <paramref name="overwrite"/> is true.
    /// </summary>
    /// <param name="directory">Folder to write into (created if absent).</param>
    /// <param name="parties">Party ids and roles; <see cref="DevelopmentParties"/> gives the usual four.</param>
    /// <param name="overwrite">Replace files that already exist.</param>
    /// <param name="coordinatorNames">Further DNS names or IP addresses in the coordinator-role certificates, besides
    /// localhost and 127.0.0.1: where the parties reach the coordinator when it is not on their loopback.</param>
    /// <returns>The paths written, authority first.</returns>
    public static IReadOnlyList<string> CreateDevelopmentSet(string directory,
        IEnumerable<(string PartyId, PartyRole Role)> parties, bool overwrite = false, IReadOnlyList<string>? coordinatorNames = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(parties);
        var list = parties.ToList();
        if (list.Count == 0) throw new ArgumentException("at least one party is needed", nameof(parties));
        var duplicate = list.GroupBy(p => p.PartyId, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"party id '{duplicate.Key}' appears {duplicate.Count()} times", nameof(parties));
        if (list.Any(p => p.PartyId == AuthorityName))
            throw new ArgumentException($"party id '{AuthorityName}' is reserved for the authority", nameof(parties));

        var names = new[] { AuthorityName }.Concat(list.Select(p => p.PartyId)).ToList();
        if (!overwrite)
        {
            var existing = names.SelectMany(n => new[] { CertificatePath(directory, n), KeyPath(directory, n) })
                .Where(File.Exists).ToList();
            if (existing.Count > 0)
                throw new IOException(
                    $"certificate files already exist: {string.Join(", ", existing)}; pass overwrite to replace them");
        }

        var written = new List<string>();
        using var authority = CertificateFactory.CreateAuthority("Federated Development CA", TimeSpan.FromDays(730));
        Save(authority, directory, AuthorityName);
        written.Add(CertificatePath(directory, AuthorityName));
        written.Add(KeyPath(directory, AuthorityName));
        foreach (var (partyId, role) in list)
        {
            using var party = CertificateFactory.IssueParty(authority, partyId, role,
                role == PartyRole.Coordinator ? coordinatorNames ?? [] : [], TimeSpan.FromDays(365));
            Save(party, directory, partyId);
            written.Add(CertificatePath(directory, partyId));
            written.Add(KeyPath(directory, partyId));
        }
        return written;
    }

    private static void WriteAtomically(string path, char[] contents, bool ownerOnly)
    {
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (ownerOnly && !OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(contents);
                writer.Write('\n');
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
