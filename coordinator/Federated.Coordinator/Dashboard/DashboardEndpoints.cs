using System.Reflection;
using System.Security.Claims;
using Federated.Coordinator.Relay;
using Federated.Coordinator.Registry;
using Federated.Hosting;
using Federated.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator.Dashboard;

/// <summary>
/// The coordinator's web dashboard: with <c>Coordinator:Dashboard:Port</c> set, its own HTTPS listener (HTTP/1.1 and
/// HTTP/2, the coordinator's server certificate, a client certificate optional) serves the page under
/// <c>/dashboard/</c> and the read-only JSON API under <c>/api/</c>; nothing else of the host is reachable there, and
/// neither is reachable on the gRPC port. Every API call needs an operator certificate, a token or a session.
/// </summary>
public static class DashboardEndpoints
{
    /// <summary>The header every state-changing call (POST, DELETE) must carry, so no other site can forge one.</summary>
    public const string RequestHeader = "X-Federated-Dashboard";

    public static WebApplicationBuilder AddFederatedDashboard(this WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(DashboardOptions.SectionName);
        var options = section.Get<DashboardOptions>() ?? new();
        var host = builder.Configuration.GetSection(FederatedHostOptions.SectionName).Get<FederatedHostOptions>() ?? new();
        var address = options.Validate(host.Port, host.MetricsPort);
        builder.Services.AddOptions<DashboardOptions>().Bind(section)
            .Validate(o => { o.Validate(host.Port, host.MetricsPort); return true; }).ValidateOnStart();
        builder.Services.AddSingleton<RelayProgress>();
        builder.Services.AddSingleton<DashboardTokens>();
        builder.Services.AddSingleton<DashboardSessions>();
        builder.Services.AddSingleton<DashboardData>();
        builder.Services.AddSingleton<DashboardModels>();
        builder.Services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, DashboardAuthentication>(DashboardAuthentication.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(DashboardPolicies.Viewer, p => p.AddAuthenticationSchemes(DashboardAuthentication.SchemeName)
                .RequireClaim(DashboardPolicies.RoleClaim, DashboardRoles.Operator, DashboardRoles.Auditor))
            .AddPolicy(DashboardPolicies.Operator, p => p.AddAuthenticationSchemes(DashboardAuthentication.SchemeName)
                .RequireClaim(DashboardPolicies.RoleClaim, DashboardRoles.Operator));
        if (address is null)
            return builder;
        builder.Services.AddSingleton<IStartupFilter>(new DashboardListenerGuard(options.Port));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, options.Port, listen =>
        {
            var identity = kestrel.ApplicationServices.GetRequiredService<TlsIdentity>();
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(https =>
            {
                https.ServerCertificate = identity.Certificate;
                https.ClientCertificateMode = ClientCertificateMode.AllowCertificate; // an operator's, or a token instead
                https.CheckCertificateRevocation = false;
                https.ClientCertificateValidation = (certificate, _, _) => identity.Validator.Validate(certificate, CertificatePurpose.Client).IsValid;
            });
        }));
        return builder;
    }

    public static WebApplication MapFederatedDashboard(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<DashboardOptions>>().Value.Port == 0)
            return app;
        app.MapGet("/", () => Asset("index.html")).AllowAnonymous();
        // The page itself holds no data: it asks the API, which needs a credential.
        app.MapGet("/dashboard/{file?}", (string? file) => Asset(file ?? "index.html")).AllowAnonymous();

        var api = app.MapGroup("/api").RequireAuthorization(DashboardPolicies.Viewer);
        api.MapPost("/session", OpenSession).AllowAnonymous();
        api.MapDelete("/session", CloseSession).AllowAnonymous().AddEndpointFilter(RequireDashboardHeader);
        api.MapGet("/me", (ClaimsPrincipal user) => Caller(user));
        api.MapGet("/parties", (DashboardData data) => data.Parties());
        api.MapGet("/jobs", (DashboardData data, int? max) => data.Jobs(max ?? 50));
        api.MapGet("/jobs/{jobId}", async (string jobId, DashboardData data, DashboardModels models, CancellationToken ct) =>
        {
            if (data.Job(jobId) is not { } job)
                return Results.NotFound(new { error = $"job '{jobId}' does not exist" });
            ModelVersionView? version = null;
            if (job.Kind == "train" && job.State == "Completed" && models.Configured)
                version = (await models.ListAsync(ct).ConfigureAwait(false)).Versions.FirstOrDefault(v => v.AttemptId == jobId);
            return Results.Ok(data.Detail(jobId, version));
        });
        api.MapGet("/jobs/{jobId}/plots/{plot}", (string jobId, string plot, DashboardData data) =>
        {
            if (data.Job(jobId) is null)
                return Results.NotFound();
            var records = data.JobRecords(jobId);
            return plot switch
            {
                "traffic.svg" => Results.Content(DashboardCharts.Traffic(Audit.AuditJobReport.Build(
                    app.Services.GetRequiredService<AuditTrail>().Path, jobId).Traffic), "image/svg+xml"),
                "timeline.svg" => Results.Content(DashboardCharts.Timeline(records), "image/svg+xml"),
                _ => Results.NotFound(),
            };
        });
        api.MapGet("/privacy", (DashboardData data) => data.Privacy());
        api.MapGet("/schedules", (DashboardData data, int? runs) => data.Schedules(Math.Clamp(runs ?? 10, 1, 100)));
        api.MapGet("/models", (DashboardModels models, CancellationToken ct) => models.ListAsync(ct));
        api.MapPost("/models/rollback", async (RollbackBody? body, DashboardModels models, ClaimsPrincipal user, CancellationToken ct) =>
        {
            try
            {
                return Results.Ok(await models.RollbackAsync(string.IsNullOrWhiteSpace(body?.Version) ? null : body.Version, user.Identity?.Name ?? "?", ct)
                    .ConfigureAwait(false));
            }
            catch (ModelsCallException e)
            {
                return Results.Json(new { error = e.Message }, statusCode: e.Status);
            }
        }).RequireAuthorization(DashboardPolicies.Operator).AddEndpointFilter(RequireDashboardHeader);
        api.MapGet("/audit", (DashboardData data, string? q, string? job, string? kind, int? max, CancellationToken ct) =>
            data.SearchAudit(q, job, kind, max ?? 200, ct));
        api.MapPost("/audit/verify", (DashboardData data) => data.VerifyAudit()).AddEndpointFilter(RequireDashboardHeader);
        return app;
    }

    public sealed record RollbackBody(string? Version);

    public sealed record SessionBody(string? Token);

    private static DashboardCaller Caller(ClaimsPrincipal user)
    {
        var role = user.FindFirstValue(DashboardPolicies.RoleClaim) ?? "";
        return new DashboardCaller(user.Identity?.Name ?? "", role, user.FindFirstValue("federated:dashboard-credential") ?? "", role == DashboardRoles.Operator);
    }

    private static IResult OpenSession(SessionBody? body, HttpContext context, DashboardTokens tokens, DashboardSessions sessions)
    {
        if (string.IsNullOrEmpty(body?.Token) || tokens.Find(body.Token) is not { } holder)
            return Results.Json(new { error = "unknown dashboard token" }, statusCode: StatusCodes.Status401Unauthorized);
        var id = sessions.Open(holder.Name, holder.Role);
        context.Response.Cookies.Append(DashboardSessions.CookieName, id, new CookieOptions
        {
            HttpOnly = true, Secure = true, SameSite = SameSiteMode.Strict, Path = "/", MaxAge = sessions.Lifetime,
        });
        return Results.Ok(new DashboardCaller(holder.Name, holder.Role, "session", holder.Role == DashboardRoles.Operator));
    }

    private static IResult CloseSession(HttpContext context, DashboardSessions sessions)
    {
        if (context.Request.Cookies.TryGetValue(DashboardSessions.CookieName, out var id))
            sessions.Close(id);
        context.Response.Cookies.Delete(DashboardSessions.CookieName, new CookieOptions { Secure = true, SameSite = SameSiteMode.Strict, Path = "/" });
        return Results.NoContent();
    }

    private static async ValueTask<object?> RequireDashboardHeader(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        context.HttpContext.Request.Headers.ContainsKey(RequestHeader)
            ? await next(context).ConfigureAwait(false)
            : Results.Json(new { error = $"a {context.HttpContext.Request.Method} needs the {RequestHeader} header" }, statusCode: StatusCodes.Status400BadRequest);

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8", [".js"] = "text/javascript; charset=utf-8", [".css"] = "text/css; charset=utf-8",
    };

    private static IResult Asset(string file)
    {
        var extension = Path.GetExtension(file);
        if (!ContentTypes.TryGetValue(extension, out var type) || file.Contains('/', StringComparison.Ordinal))
            return Results.NotFound();
        var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("dashboard/" + file);
        return stream is null ? Results.NotFound() : Results.Stream(stream, type);
    }
}

/// <summary>
/// First in the pipeline: the dashboard listener serves only <c>/</c>, <c>/dashboard/...</c> and <c>/api/...</c>
/// (everything else 404, gRPC included), and the gRPC port serves none of those.
/// </summary>
internal sealed class DashboardListenerGuard(int port) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, inner) =>
        {
            var path = context.Request.Path;
            var dashboardPath = path == "/" || path.StartsWithSegments("/dashboard") || path.StartsWithSegments("/api");
            if ((context.Connection.LocalPort == port) != dashboardPath)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            if (context.Connection.LocalPort == port)
            {
                context.Response.Headers.XContentTypeOptions = "nosniff";
                context.Response.Headers["Content-Security-Policy"] = "default-src 'self'; img-src 'self'; frame-ancestors 'none'";
                context.Response.Headers.CacheControl = "no-store";
            }
            await inner(context).ConfigureAwait(false);
        });
        next(app);
    };
}
