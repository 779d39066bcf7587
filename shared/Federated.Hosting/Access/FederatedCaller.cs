using System.Security.Claims;
using Federated.Security;
using Grpc.Core;

namespace Federated.Hosting.Access;

/// <summary>
/// The authenticated caller of an RPC: the party id and role its client certificate resolves to. Request fields
/// never name the caller.
/// </summary>
public sealed record FederatedCaller(string PartyId, PartyRole Role)
{
    /// <summary>Claim type of the caller's party id.</summary>
    public const string PartyIdClaim = "federated:party-id";

    /// <summary>Claim type of the SHA-256 fingerprint of the caller's certificate.</summary>
    public const string FingerprintClaim = "federated:certificate-fingerprint";

    /// <summary>The principal the authentication handler attaches to the request (role as <see cref="ClaimTypes.Role"/>).</summary>
    public ClaimsPrincipal ToPrincipal(string authenticationType, string fingerprint) => new(new ClaimsIdentity(
    [
        new Claim(PartyIdClaim, PartyId),
        new Claim(ClaimTypes.Name, PartyId),
        new Claim(ClaimTypes.Role, Role.ToString()),
        new Claim(FingerprintClaim, fingerprint),
    ], authenticationType, ClaimTypes.Name, ClaimTypes.Role));

    /// <summary>Reads the caller from an authenticated principal; null when it carries no federated identity.</summary>
    public static FederatedCaller? From(ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        if (principal.Identity is not { IsAuthenticated: true })
            return null;
        var partyId = principal.FindFirstValue(PartyIdClaim);
        var role = principal.FindFirstValue(ClaimTypes.Role);
        return partyId is not null && Enum.TryParse<PartyRole>(role, out var parsed) ? new FederatedCaller(partyId, parsed) : null;
    }
}

public static class FederatedCallerExtensions
{
    /// <summary>
    /// The caller of this RPC, as authenticated for the method's authorization policy. A method without a policy has
    /// no caller to read, which is a server bug, not the client's fault.
    /// </summary>
    public static FederatedCaller Caller(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return FederatedCaller.From(context.GetHttpContext().User)
            ?? throw new RpcException(new Status(StatusCode.Internal, $"{context.Method} has no authenticated caller; it needs an authorization policy"));
    }
}
