using Federated.Agent;
using Federated.Hosting;
using Federated.PartyJobs.Serving;
using Federated.Security;

namespace Federated.PartyJobs;

/// <summary>
/// A party host: the shared bootstrap, the party agent runtime and the protocol job kinds (psi, train, infer) beside the
/// built-in ones; the music host also serves its published model versions. Both party hosts are this with their own
/// name and role; the protocol lives in the libraries.
/// </summary>
public static class PartyHost
{
    public static Task<int> RunAsync(string[] args, string hostName, PartyRole role) => FederatedHost.RunAsync(() =>
    {
        var builder = FederatedHost.CreateBuilder(args, hostName, role);
        builder.RequirePrivateFolders(($"{PartyAgentOptions.SectionName}:{nameof(PartyAgentOptions.StateDirectory)}", new PartyAgentOptions().StateDirectory));
        builder.Services.AddPartyAgent(builder.Configuration);
        builder.Services.AddJobHandler<PsiJobHandler>();
        builder.Services.AddJobHandler<TrainJobHandler>();
        builder.Services.AddJobHandler<InferJobHandler>();
        if (role == PartyRole.Music) builder.Services.AddMusicServing(builder.Configuration);
        var app = builder.Build();
        app.MapFederatedHealth();
        if (role == PartyRole.Music) app.MapMusicServing();
        return app;
    });
}
