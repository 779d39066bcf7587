using Federated.Coordinator;
using Federated.Coordinator.Dashboard;
using Federated.Coordinator.Jobs;
using Federated.Coordinator.Registry;
using Federated.Coordinator.Relay;
using Federated.Coordinator.Scheduling;
using Federated.Coordinator.Security;
using Federated.Coordinator.Services;
using Federated.Hosting;
using Federated.Hosting.Access;
using Federated.Scheduling;
using Federated.Security;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.DependencyInjection.Extensions;

return await FederatedHost.RunAsync(() =>
{
    var builder = FederatedHost.CreateBuilder(args, "coordinator", PartyRole.Coordinator);
    builder.RequirePrivateFolders(($"{CoordinatorOptions.SectionName}:{nameof(CoordinatorOptions.DataDirectory)}", new CoordinatorOptions().DataDirectory));
    builder.Services.AddOptions<CoordinatorOptions>().Bind(builder.Configuration.GetSection(CoordinatorOptions.SectionName))
        .Validate(o => { o.Validate(); return true; }).ValidateOnStart();
    builder.Services.AddSingleton<PartyRegistry>();
    builder.Services.AddSingleton<JobStore>();
    builder.Services.AddSingleton<RelayHub>();
    builder.Services.AddSingleton<RelayGuard>();
    builder.Services.AddSingleton<AuditTrail>();
    builder.Services.Replace(ServiceDescriptor.Singleton<ICallerDirectory, RegistryCallerDirectory>());
    builder.Services.AddSingleton<Federated.Coordinator.Privacy.PrivacyLedger>();
    builder.Services.AddSingleton<JobCreator>();
    builder.Services.AddHostedService<JobWatchdog>();
    builder.Services.AddSingleton<JobRetryService>();
    builder.Services.AddHostedService(sp => sp.GetRequiredService<JobRetryService>());
    // Job definitions and the scheduler (schedules.db beside coordinator.db); the clock is injectable.
    builder.Services.TryAddSingleton(TimeProvider.System);
    builder.Services.AddSingleton(sp => new ScheduleStore(sp.GetRequiredService<IOptions<CoordinatorOptions>>().Value.SchedulesDatabasePath));
    builder.Services.AddSingleton<RegistryDefinitionParties>();
    builder.Services.AddSingleton<IRunLauncher, CoordinatorRunLauncher>();
    builder.Services.AddSingleton<IRunJournal, AuditRunJournal>();
    builder.Services.AddSingleton(sp => new ScheduleEngine(sp.GetRequiredService<ScheduleStore>(), sp.GetRequiredService<IRunLauncher>(),
        sp.GetRequiredService<IRunJournal>(), sp.GetRequiredService<TimeProvider>()));
    builder.Services.AddHostedService<JobScheduler>();
    builder.Services.AddServiceHealth<CoordinatorHealth>(CoordinatorHealth.ServiceName);
    builder.AddFederatedDashboard(); // the web dashboard's listener, access and read-only API (Coordinator:Dashboard)

    var app = builder.Build();
    // Open the registry (enrols configured certificates) and the audit log before accepting calls.
    app.Services.GetRequiredService<PartyRegistry>();
    app.Services.GetRequiredService<AuditTrail>();
    app.Services.GetRequiredService<ScheduleStore>(); // reads every stored definition again: a broken one stops the start
    CoordinatorMetrics.Observe(app.Services.GetRequiredService<JobStore>(), app.Services.GetRequiredService<RelayHub>());
    app.MapGrpcService<RegistryService>();
    app.MapGrpcService<JobsService>();
    app.MapGrpcService<JobDefinitionsService>();
    app.MapGrpcService<RelayService>();
    app.MapFederatedHealth();
    app.MapFederatedDashboard();
    return app;
});
