using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Federated.Coordinator.Dashboard;

/// <summary>
/// The web dashboard ("Coordinator:Dashboard" section): its own HTTPS listener (the coordinator's server certificate,
/// a client certificate optional), the bearer tokens that open it and their roles, and where M's model-version API is.
/// </summary>
public sealed class DashboardOptions
{
    public const string SectionName = "Coordinator:Dashboard";

    /// <summary>TCP port of the dashboard's HTTPS listener; 0 (default) = no dashboard.</summary>
    public int Port { get; set; }

    /// <summary>IP address of the dashboard listener (default loopback).</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>Who may open the dashboard without an operator certificate: a name, a role and the token (or its SHA-256).</summary>
    public List<DashboardTokenOptions> Tokens { get; set; } = [];

    /// <summary>
    /// The music host's address (https://host:port) for model versions and rollback; the coordinator calls it with its
    /// own certificate, so M must list the coordinator among its <c>Serving:Administrators</c>. Empty = not shown.
    /// </summary>
    public string ModelsAddress { get; set; } = "";

    /// <summary>How long a browser session opened with a token lasts.</summary>
    public int SessionMinutes { get; set; } = 480;

    /// <summary>Checks the settings once at start; the message names the key. Returns the listener address (null: off).</summary>
    public IPAddress? Validate(int hostPort, int metricsPort)
    {
        if (Port is < 0 or > 65535)
            throw new InvalidOperationException($"{SectionName}:Port {Port} is not a TCP port (1-65535, or 0 for no dashboard)");
        if (SessionMinutes is < 1 or > 7 * 24 * 60)
            throw new InvalidOperationException($"{SectionName}:SessionMinutes {SessionMinutes} must be between 1 and {7 * 24 * 60}");
        if (!string.IsNullOrWhiteSpace(ModelsAddress) &&
            (!Uri.TryCreate(ModelsAddress, UriKind.Absolute, out var models) || models.Scheme != Uri.UriSchemeHttps))
            throw new InvalidOperationException($"{SectionName}:ModelsAddress '{ModelsAddress}' is not an https:// address");
        var names = new HashSet<string>(StringComparer.Ordinal);
        var hashes = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Tokens.Count; i++)
        {
            var token = Tokens[i];
            var key = $"{SectionName}:Tokens:{i}";
            if (string.IsNullOrWhiteSpace(token.Name))
                throw new InvalidOperationException($"{key}:Name is empty");
            if (!names.Add(token.Name))
                throw new InvalidOperationException($"{key}:Name '{token.Name}' is given twice");
            if (!DashboardRoles.TryParse(token.Role, out _))
                throw new InvalidOperationException($"{key}:Role '{token.Role}' is not {DashboardRoles.Operator} or {DashboardRoles.Auditor}");
            var plain = !string.IsNullOrEmpty(token.Token);
            var hashed = !string.IsNullOrEmpty(token.Sha256);
            if (plain == hashed)
                throw new InvalidOperationException($"{key} needs exactly one of Token and Sha256");
            if (plain && token.Token.Length < DashboardTokenOptions.MinimumLength)
                throw new InvalidOperationException($"{key}:Token is shorter than {DashboardTokenOptions.MinimumLength} characters");
            if (hashed && (token.Sha256.Length != 64 || !token.Sha256.All(Uri.IsHexDigit)))
                throw new InvalidOperationException($"{key}:Sha256 is not 64 hexadecimal digits (the SHA-256 of the token's UTF-8 bytes)");
            if (!hashes.Add(Convert.ToHexString(token.Hash())))
                throw new InvalidOperationException($"{key} is the same token as an earlier one");
        }
        if (Port == 0)
            return null;
        if (!IPAddress.TryParse(Address, out var address))
            throw new InvalidOperationException($"{SectionName}:Address '{Address}' is not an IP address");
        if (Port == hostPort || Port == metricsPort)
            throw new InvalidOperationException($"{SectionName}:Port {Port} is also Host:Port or Host:MetricsPort; the dashboard needs a port of its own");
        return address;
    }
}

/// <summary>One dashboard token: who holds it, the role it grants, and the token itself or (better) its SHA-256.</summary>
public sealed class DashboardTokenOptions
{
    public const int MinimumLength = 16;

    public string Name { get; set; } = "";

    /// <summary><c>operator</c> or <c>auditor</c>.</summary>
    public string Role { get; set; } = "";

    /// <summary>The token in clear (at least 16 characters); prefer <see cref="Sha256"/>.</summary>
    public string Token { get; set; } = "";

    /// <summary>SHA-256 of the token's UTF-8 bytes, in hexadecimal.</summary>
    public string Sha256 { get; set; } = "";

    /// <summary>The SHA-256 the presented token is compared against.</summary>
    public byte[] Hash() => string.IsNullOrEmpty(Sha256) ? HashOf(Token) : Convert.FromHexString(Sha256);

    public static byte[] HashOf(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}

/// <summary>The dashboard's two roles: an operator sees everything and may roll back; an auditor only sees.</summary>
public static class DashboardRoles
{
    public const string Operator = "operator";
    public const string Auditor = "auditor";

    public static bool TryParse(string? value, out string role)
    {
        role = value?.Trim().ToLowerInvariant() switch { Operator => Operator, Auditor => Auditor, _ => "" };
        return role.Length > 0;
    }
}
