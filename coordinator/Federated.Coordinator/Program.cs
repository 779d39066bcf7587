using Federated.Coordinator;
using Federated.Coordinator.Jobs;
using Federated.Coordinator.Registry;
using Federated.Coordinator.Relay;
using Federated.Coordinator.Security;
using Federated.Coordinator.Services;
using Federated.Hosting;
using Federated.Hosting.Access;
using Federated.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;

return await FederatedHost.RunAsync(() =>
{
    var builder = FederatedHost.CreateBuilder(args, "coordinator", PartyRole.Coordinator);
    builder.RequirePrivateFolders(($"{CoordinatorOptions.SectionName}:{nameof(CoordinatorOptions.DataDirectory)}", new CoordinatorOptions().DataDirectory));
    builder.Services.AddOptions<CoordinatorOptions>().Bind(builder.Configuration.GetSection(CoordinatorOptions.SectionName));
    builder.Services.AddSingleton<PartyRegistry>();
    builder.Services.AddSingleton<JobStore>();
    builder.Services.AddSingleton<RelayHub>();
    builder.Services.AddSingleton<AuditTrail>();
    builder.Services.Replace(ServiceDescriptor.Singleton<ICallerDirectory, RegistryCallerDirectory>());
    builder.Services.AddHostedService<JobWatchdog>();
    builder.Services.AddHostedService<JobRetryService>();

    var app = builder.Build();
    // Open the registry (enrols configured certificates) and the audit log before accepting calls.
    app.Services.GetRequiredService<PartyRegistry>();
    app.Services.GetRequiredService<AuditTrail>();
    app.MapGrpcService<RegistryService>();
    app.MapGrpcService<JobsService>();
    app.MapGrpcService<RelayService>();
    app.MapFederatedHealth();
    return app;
});
