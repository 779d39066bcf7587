using Federated.Agent;
using Federated.Serving.Publication;
using Federated.Serving.Recall;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Federated.PartyJobs.Serving;

/// <summary>
/// What the music host serves beside its agent: the store of published embedding versions (one instance, shared by
/// the training job that publishes and the API that reads), the recall engine over it, and the recall and
/// model-version APIs on the host's own mutual-TLS listener, open only to the callers M lists.
/// </summary>
public static class MusicServing
{
    public static IServiceCollection AddMusicServing(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(ServingOptions.SectionName).Get<ServingOptions>() ?? new ServingOptions();
        options.Validate();
        services.AddSingleton(Options.Create(options));
        services.AddSingleton(provider =>
        {
            var agent = provider.GetRequiredService<IOptions<PartyAgentOptions>>().Value;
            var folder = Path.IsPathRooted(options.StoreDirectory)
                ? options.StoreDirectory
                : Path.Combine(Path.GetFullPath(agent.StateDirectory), options.StoreDirectory);
            return new EmbeddingVersionStore(folder, options.KeepVersions);
        });
        services.AddSingleton<LiveInference>();
        services.AddSingleton(provider => new RecallEngine(provider.GetRequiredService<EmbeddingVersionStore>(),
            new RecallLimits(options.MaxResults, options.MaxBatch)));
        services.AddSingleton<INewSongEncoder, VersionNewSongEncoder>();
        services.AddAuthorizationBuilder().AddServingPolicies(options);
        return services;
    }

    public static WebApplication MapMusicServing(this WebApplication app)
    {
        app.MapGrpcService<ModelsService>();
        app.MapGrpcService<RecallService>();
        return app;
    }
}
