using System.Net;
using System.Security.Cryptography.X509Certificates;
using Federated.Core;
using Federated.Hosting.Access;
using Federated.Security;
using Federated.Transport.Relay;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;
using Serilog;

namespace Federated.Hosting;

/// <summary>
/// The common bootstrap of the coordinator and the two party hosts: configuration (appsettings.json, FEDERATED_*
/// and plain environment variables, command line), Serilog, Kestrel on HTTP/2 with mutual TLS against the
/// federation's CA only, certificate authentication with the federation's role policies (<see cref="FederatedAuthentication"/>),
/// gRPC, the standard gRPC health service, the Prometheus metrics listener, the ready file and the parent watchdog.
/// </summary>
public static class FederatedHost
{
    public static WebApplicationBuilder CreateBuilder(string[] args, string hostName, PartyRole role)
    {
        PrivateFiles.RestrictProcessUmask(); // everything this host writes from here on is 0600 / 0700
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddEnvironmentVariables("FEDERATED_");
        builder.Configuration.AddCommandLine(args); // keep the command line on top

        builder.Services.AddOptions<FederatedHostOptions>().Bind(builder.Configuration.GetSection(FederatedHostOptions.SectionName));
        builder.Services.AddOptions<TlsOptions>().Bind(builder.Configuration.GetSection(TlsOptions.SectionName));
        builder.Services.AddOptions<RelayLimits>().Bind(builder.Configuration.GetSection(RelayLimits.SectionName))
            .Validate(l => { l.Validate(); return true; });

        var hostOptions = builder.Configuration.GetSection(FederatedHostOptions.SectionName).Get<FederatedHostOptions>() ?? new();
        var tlsOptions = builder.Configuration.GetSection(TlsOptions.SectionName).Get<TlsOptions>() ?? new();
        var limits = builder.Configuration.GetSection(RelayLimits.SectionName).Get<RelayLimits>() ?? new();
        limits.Validate();

        builder.Services.AddSerilog((_, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration)
                .Enrich.FromLogContext()
                .Enrich.WithProperty("Host", hostName)
                .WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Host}: {Message:lj}{NewLine}{Exception}");
            if (!string.IsNullOrWhiteSpace(hostOptions.LogFile))
                logger.WriteTo.File(hostOptions.LogFile, outputTemplate:
                    "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {Host} {SourceContext}: {Message:lj}{NewLine}{Exception}");
        });

        var identity = TlsIdentity.Load(tlsOptions, role);
        builder.Services.AddSingleton(identity);
        builder.Services.AddSingleton(identity.Validator);
        builder.Services.AddFederatedAuthentication(identity);

        var (address, metricsAddress) = hostOptions.Validate();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.Http2.InitialConnectionWindowSize = 4 * 1024 * 1024;
            kestrel.Limits.Http2.InitialStreamWindowSize = 2 * 1024 * 1024;
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(address, hostOptions.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.UseHttps(https =>
                {
                    https.ServerCertificateSelector = (_, _) => identity.Certificate; // the newest certificate, rotated without a restart
                    https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    https.CheckCertificateRevocation = false; // revocation is the registry's pinned fingerprints
                    https.ClientCertificateValidation = (certificate, _, _) =>
                    {
                        var check = identity.Validator.Validate(certificate, CertificatePurpose.Client);
                        if (!check.IsValid)
                            Log.Warning("Refused TLS client certificate {Subject} ({Fingerprint}): {Reason}",
                                certificate.Subject, CertificateFactory.Fingerprint(certificate), check.Reason);
                        return check.IsValid;
                    };
                });
            });
            // Metrics only: plain HTTP/1.1 without a client certificate, for a scraper beside the host (loopback by
            // default); everything but GET /metrics is refused on it (MapFederatedHealth).
            if (metricsAddress is not null)
                kestrel.Listen(metricsAddress, hostOptions.MetricsPort, listen => listen.Protocols = HttpProtocols.Http1);
        });

        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = limits.GrpcMessageBytes;
            grpc.MaxSendMessageSize = limits.GrpcMessageBytes;
            grpc.EnableDetailedErrors = false;
        });
        builder.Services.AddGrpcHealthChecks().AddCheck("self", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());
        builder.Services.AddSingleton(hostOptions);
        if (metricsAddress is not null)
            builder.Services.AddSingleton<IStartupFilter>(new MetricsListenerGuard(hostOptions.MetricsPort));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddHostedService<CertificateWatcher>();
        builder.Services.AddHostedService<ReadyFileWriter>();
        builder.Services.AddHostedService<ParentWatchdog>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        return builder;
    }

    /// <summary>
    /// The start-up check of this host's private folders, given by their configuration keys with the default each
    /// takes when unset: a missing folder is created 0700; one open to other users refuses the start, or with
    /// <c>Host:FolderPermissions=warn</c> is reported on standard error.
    /// </summary>
    public static void RequirePrivateFolders(this WebApplicationBuilder builder, params (string Key, string Default)[] folders)
    {
        var options = builder.Configuration.GetSection(FederatedHostOptions.SectionName).Get<FederatedHostOptions>() ?? new();
        foreach (var (key, fallback) in folders)
        {
            var value = builder.Configuration[key];
            var path = string.IsNullOrWhiteSpace(value) ? fallback : value;
            if (PrivateFiles.CheckFolder(key, path, options.FolderPermissions) is { } warning)
                Console.Error.WriteLine($"warning: {warning}");
        }
    }

    /// <summary>
    /// A health check of this host's own service, reported by the gRPC health service under <paramref name="serviceName"/>
    /// (for example "federated.coordinator") and within the overall status (service ""), which is NOT_SERVING while any
    /// check fails.
    /// </summary>
    public static IServiceCollection AddServiceHealth<TCheck>(this IServiceCollection services, string serviceName)
        where TCheck : class, Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck
    {
        services.AddHealthChecks().AddCheck<TCheck>(serviceName, tags: [serviceName]);
        services.Configure<Grpc.AspNetCore.HealthChecks.GrpcHealthChecksOptions>(o =>
            o.Services.Map(serviceName, check => check.Tags.Contains(serviceName)));
        return services;
    }

    /// <summary>
    /// Maps the standard gRPC health service (grpc.health.v1.Health), open to every client the TLS handshake accepted,
    /// and, with Host:MetricsPort set, <c>GET /metrics</c> (Prometheus text format) on the metrics listener only.
    /// </summary>
    public static WebApplication MapFederatedHealth(this WebApplication app)
    {
        app.MapGrpcHealthChecksService().AllowAnonymous();
        var options = app.Services.GetRequiredService<FederatedHostOptions>();
        if (options.MetricsPort != 0)
        {
            app.MapMetrics("/metrics").RequireHost($"*:{options.MetricsPort}").AllowAnonymous();
        }
        return app;
    }

    /// <summary>Runs a host and turns startup failures into one clear log line and exit code 1.</summary>
    public static async Task<int> RunAsync(Func<WebApplication> build)
    {
        try
        {
            var app = build();
            await app.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or OptionsValidationException)
        {
            await Console.Error.WriteLineAsync($"fatal: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            await Log.CloseAndFlushAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Writes the ready file once Kestrel listens, so launchers learn the actual port (Host:Port=0).</summary>
internal sealed class ReadyFileWriter(IServer server, IHostApplicationLifetime lifetime, IOptions<FederatedHostOptions> options,
    TlsIdentity identity, ILogger<ReadyFileWriter> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            var address = server.Features.Get<IServerAddressesFeature>()?.Addresses
                .FirstOrDefault(a => a.StartsWith("https:", StringComparison.Ordinal)) ?? "";
            address = address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal);
            logger.LogInformation("{PartyId} ({Role}) listening on {Address} with mutual TLS", identity.PartyId, identity.Role, address);
            var path = options.Value.ReadyFile;
            if (string.IsNullOrWhiteSpace(path))
                return;
            new HostReadyFile(Environment.ProcessId, address, identity.PartyId, identity.Role.ToString()).Write(path);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Stops the host when its launching process is gone, so a killed launcher leaves no orphans.</summary>
internal sealed class ParentWatchdog(IOptions<FederatedHostOptions> options, IHostApplicationLifetime lifetime, ILogger<ParentWatchdog> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.ParentProcessId is not { } parent)
            return;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (!IsAlive(parent))
            {
                logger.LogWarning("Parent process {ParentProcessId} is gone; stopping", parent);
                lifetime.StopApplication();
                return;
            }
            try { await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    private static bool IsAlive(int processId)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}

/// <summary>
/// First in the pipeline (before routing and authentication): on the plain-HTTP metrics listener every request but
/// <c>GET /metrics</c> is answered 404, so nothing else of the host is reachable without the mutual-TLS port.
/// </summary>
internal sealed class MetricsListenerGuard(int port) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, inner) =>
        {
            if (context.Connection.LocalPort == port && !(HttpMethods.IsGet(context.Request.Method) && context.Request.Path == "/metrics"))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            await inner(context).ConfigureAwait(false);
        });
        next(app);
    };
}
