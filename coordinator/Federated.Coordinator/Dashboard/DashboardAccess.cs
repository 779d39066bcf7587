using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using Federated.Hosting.Access;
using Federated.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator.Dashboard;

/// <summary>The dashboard's authorization policies (on the <see cref="DashboardAuthentication.SchemeName"/> scheme).</summary>
public static class DashboardPolicies
{
    /// <summary>Sees everything the dashboard shows: an operator or an auditor.</summary>
    public const string Viewer = "DashboardViewer";

    /// <summary>May change something (roll back M's serving version): an operator only.</summary>
    public const string Operator = "DashboardOperator";

    /// <summary>Claim type of the dashboard role (<see cref="DashboardRoles"/>).</summary>
    public const string RoleClaim = "federated:dashboard-role";
}

/// <summary>The configured tokens, kept as SHA-256 only and compared in constant time.</summary>
public sealed class DashboardTokens(IOptions<DashboardOptions> options)
{
    private readonly (string Name, string Role, byte[] Hash)[] _tokens = options.Value.Tokens
        .Select(t => (t.Name, DashboardRoles.TryParse(t.Role, out var role) ? role : throw new InvalidOperationException($"bad role of {t.Name}"), t.Hash()))
        .ToArray();

    /// <summary>The holder and role of a token; null when it is none of the configured ones. Every entry is compared.</summary>
    public (string Name, string Role)? Find(string presented)
    {
        var hash = DashboardTokenOptions.HashOf(presented);
        (string, string)? found = null;
        foreach (var (name, role, expected) in _tokens)
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
                found = (name, role);
        return found;
    }
}

/// <summary>Browser sessions opened by a token: a random id in an HttpOnly cookie, the holder and role kept here (in memory).</summary>
public sealed class DashboardSessions(IOptions<DashboardOptions> options, TimeProvider time)
{
    public const string CookieName = "federated-dashboard";
    private readonly ConcurrentDictionary<string, (string Name, string Role, DateTimeOffset Expires)> _sessions = new(StringComparer.Ordinal);

    public TimeSpan Lifetime => TimeSpan.FromMinutes(options.Value.SessionMinutes);

    public string Open(string name, string role)
    {
        var now = time.GetUtcNow();
        foreach (var (id, session) in _sessions)
            if (session.Expires <= now)
                _sessions.TryRemove(id, out _);
        var key = Base64UrlEncoder(RandomNumberGenerator.GetBytes(32));
        _sessions[key] = (name, role, now + Lifetime);
        return key;
    }

    public (string Name, string Role)? Find(string id) =>
        _sessions.TryGetValue(id, out var s) && s.Expires > time.GetUtcNow() ? (s.Name, s.Role) : null;

    public void Close(string id) => _sessions.TryRemove(id, out _);

    private static string Base64UrlEncoder(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>
/// The dashboard's authentication scheme: a bearer token (<c>Authorization: Bearer ...</c>), else the session cookie
/// a token opened, else the TLS client certificate (the federation's certificate authentication; an operator's
/// certificate gives the operator role, any other role none). A presented but unknown token or session fails; no
/// credential at all is answered 401, a known caller without the needed role 403.
/// </summary>
public sealed class DashboardAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    DashboardTokens tokens, DashboardSessions sessions) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "FederatedDashboard";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                return AuthenticateResult.Fail("the Authorization header is not a bearer token");
            return tokens.Find(header["Bearer ".Length..].Trim()) is { } holder
                ? Success(holder.Name, holder.Role, "token")
                : AuthenticateResult.Fail("unknown dashboard token");
        }
        if (Request.Cookies.TryGetValue(DashboardSessions.CookieName, out var session) && session.Length > 0)
            return sessions.Find(session) is { } holder
                ? Success(holder.Name, holder.Role, "session")
                : AuthenticateResult.Fail("the dashboard session has expired or is unknown");
        if (Context.Connection.ClientCertificate is not null)
        {
            var certificate = await Context.AuthenticateAsync(CertificateAuthenticationDefaults.AuthenticationScheme).ConfigureAwait(false);
            if (!certificate.Succeeded)
                return AuthenticateResult.Fail(certificate.Failure?.Message ?? "the client certificate did not authenticate a caller");
            var caller = FederatedCaller.From(certificate.Principal)!;
            var identity = new ClaimsIdentity(certificate.Principal.Claims, SchemeName, ClaimTypes.Name, ClaimTypes.Role);
            if (caller.Role == PartyRole.Operator)
                identity.AddClaim(new Claim(DashboardPolicies.RoleClaim, DashboardRoles.Operator));
            identity.AddClaim(new Claim("federated:dashboard-credential", "certificate"));
            return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
        }
        return AuthenticateResult.NoResult();
    }

    private AuthenticateResult Success(string name, string role, string credential) =>
        AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, name),
            new Claim(DashboardPolicies.RoleClaim, role),
            new Claim("federated:dashboard-credential", credential),
        ], SchemeName, ClaimTypes.Name, ClaimTypes.Role)), SchemeName));

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer realm=\"federated-dashboard\"";
        return Task.CompletedTask;
    }
}
