using Federated.Agent.Jobs;
using Federated.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Federated.Agent;

public static class PartyAgentRegistration
{
    /// <summary>Adds the party agent with the built-in diagnostic job kinds (ping, stream).</summary>
    public static IServiceCollection AddPartyAgent(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PartyAgentOptions>().Bind(configuration.GetSection(PartyAgentOptions.SectionName));
        services.AddJobHandler<PingJobHandler>();
        services.AddJobHandler<StreamJobHandler>();
        services.AddSingleton<CoordinatorLink>();
        services.AddServiceHealth<PartyHealth>(PartyHealth.ServiceName);
        services.AddHostedService<PartyAgentService>();
        return services;
    }

    /// <summary>Registers a job handler; the agent dispatches assignments by <see cref="IJobHandler.Kind"/>.</summary>
    public static IServiceCollection AddJobHandler<THandler>(this IServiceCollection services) where THandler : class, IJobHandler
    {
        services.AddSingleton<IJobHandler, THandler>();
        return services;
    }
}
