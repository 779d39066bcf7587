using System.Globalization;
using System.Text;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Federated.Hosting.Access;

/// <summary>
/// Answers a refused gRPC call with a gRPC status and a message that says why, instead of a bare HTTP 401/403
/// (which a gRPC client only sees as "Bad gRPC response"): an unknown or revoked certificate gets the directory's
/// status (PermissionDenied), a missing or invalid one Unauthenticated, a caller outside the method's roles
/// PermissionDenied naming the roles it needs. Each refusal is logged once.
/// </summary>
internal sealed class GrpcRefusalResultHandler(ILogger<GrpcRefusalResultHandler> logger) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded || !IsGrpc(context.Request))
        {
            await _default.HandleAsync(next, context, policy, authorizeResult).ConfigureAwait(false);
            return;
        }
        var method = context.Request.Path.Value ?? "";
        var (status, message) = authorizeResult.Forbidden && FederatedCaller.From(context.User) is { } caller
            ? (StatusCode.PermissionDenied, RoleRefusal(caller, method, authorizeResult.AuthorizationFailure))
            : await AuthenticationRefusalAsync(context).ConfigureAwait(false);
        logger.LogWarning("Refused {Method} ({Status}): {Reason}", method, status, message);
        WriteTrailersOnly(context.Response, status, message);
    }

    private static string RoleRefusal(FederatedCaller caller, string method, AuthorizationFailure? failure)
    {
        var roles = failure?.FailedRequirements.OfType<RolesAuthorizationRequirement>().SelectMany(r => r.AllowedRoles).ToList() ?? [];
        return roles.Count > 0
            ? $"party '{caller.PartyId}' has role {caller.Role}; {method} needs role {string.Join(" or ", roles)}"
            : $"party '{caller.PartyId}' (role {caller.Role}) may not call {method}";
    }

    private static async Task<(StatusCode, string)> AuthenticationRefusalAsync(HttpContext context)
    {
        // The handler keeps its result for the request, so this reads the outcome of the authentication middleware.
        var result = await context.AuthenticateAsync().ConfigureAwait(false);
        return result.Failure switch
        {
            CallerRefusedException refused => (refused.Status, refused.Message),
            { } other => (StatusCode.Unauthenticated, $"client certificate refused: {other.Message}"),
            null when context.Connection.ClientCertificate is null => (StatusCode.Unauthenticated, "no client certificate was presented"),
            null => (StatusCode.Unauthenticated, "the client certificate did not authenticate a caller"),
        };
    }

    private static bool IsGrpc(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    /// <summary>A trailers-only gRPC response: HTTP 200 with grpc-status and grpc-message in the headers and no body.</summary>
    private static void WriteTrailersOnly(HttpResponse response, StatusCode status, string message)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)status).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = PercentEncode(message);
    }

    /// <summary>grpc-message encoding: UTF-8, with '%' and bytes outside printable ASCII written as %XX.</summary>
    internal static string PercentEncode(string message)
    {
        var builder = new StringBuilder(message.Length);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
                builder.Append((char)b);
            else
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }
}
