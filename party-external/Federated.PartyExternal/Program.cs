using Federated.Hosting;
using Federated.Hosting.Agent;
using Federated.Security;

// The external party: runs its side of each job through the handlers registered here; the protocol lives in the
// shared libraries. Later job kinds (PSI, training) are added with services.AddJobHandler<T>().
return await FederatedHost.RunAsync(() =>
{
    var builder = FederatedHost.CreateBuilder(args, "external", PartyRole.External);
    builder.Services.AddPartyAgent(builder.Configuration);
    builder.Services.AddJobHandler<Federated.PartyJobs.PsiJobHandler>();
    builder.Services.AddJobHandler<Federated.PartyJobs.TrainJobHandler>();
    var app = builder.Build();
    app.MapFederatedHealth();
    return app;
});
