using Federated.Hosting;
using Federated.Security;
using Federated.Serving.V1;
using Federated.Transport.Client;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator.Dashboard;

/// <summary>One of M's model versions as M's model-version API describes it: ids, counts, metrics; never vectors.</summary>
public sealed record ModelVersionView(string Version, bool Current, string TrainingJob, string AttemptId, int Round, string Created,
    int Dimensions, int Items, int Users, string SchemaFingerprint, IReadOnlyDictionary<string, double> Metrics);

/// <summary>M's versions, or why they are not shown.</summary>
public sealed record ModelVersionsView(bool Configured, string? Problem, IReadOnlyList<ModelVersionView> Versions);

/// <summary>A refusal or failure of M's model-version API, with the HTTP status the dashboard answers.</summary>
public sealed class ModelsCallException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>
/// M's model-version API (list, roll back) called with the coordinator's own certificate over mutual TLS, at
/// <see cref="DashboardOptions.ModelsAddress"/>. M decides: the coordinator must be on M's <c>Serving:Administrators</c>.
/// </summary>
public sealed class DashboardModels(IOptions<DashboardOptions> options, TlsIdentity identity, ILogger<DashboardModels> logger) : IDisposable
{
    private readonly Lazy<CoordinatorConnection?> _connection = new(() => string.IsNullOrWhiteSpace(options.Value.ModelsAddress)
        ? null
        : CoordinatorConnection.Open(new Uri(options.Value.ModelsAddress), identity.Certificate, identity.Validator, expectedServerRole: PartyRole.Music));

    public bool Configured => !string.IsNullOrWhiteSpace(options.Value.ModelsAddress);

    public async Task<ModelVersionsView> ListAsync(CancellationToken ct)
    {
        if (_connection.Value is not { } connection)
            return new ModelVersionsView(false, "no models address is configured (Coordinator:Dashboard:ModelsAddress)", []);
        try
        {
            var reply = await new Models.ModelsClient(connection.Channel)
                .ListVersionsAsync(new ListVersionsRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct).ConfigureAwait(false);
            return new ModelVersionsView(true, null, reply.Versions.Select(View).ToList());
        }
        catch (RpcException e) when (!ct.IsCancellationRequested)
        {
            return new ModelVersionsView(true, $"the music host answered {e.StatusCode}: {e.Status.Detail}", []);
        }
    }

    /// <summary>Switches M's serving version to <paramref name="version"/> (null: the one before the current).</summary>
    public async Task<ModelVersionView> RollbackAsync(string? version, string caller, CancellationToken ct)
    {
        if (_connection.Value is not { } connection)
            throw new ModelsCallException(StatusCodes.Status404NotFound, "no models address is configured (Coordinator:Dashboard:ModelsAddress)");
        try
        {
            var set = await new Models.ModelsClient(connection.Channel)
                .RollbackAsync(new RollbackRequest { Version = version ?? "" }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: ct).ConfigureAwait(false);
            logger.LogWarning("Serving version of the music host rolled back to {Version} from the dashboard by {Caller}", set.Version, caller);
            return View(set);
        }
        catch (RpcException e) when (!ct.IsCancellationRequested)
        {
            var status = e.StatusCode switch
            {
                StatusCode.NotFound => StatusCodes.Status404NotFound,
                StatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
                StatusCode.FailedPrecondition => StatusCodes.Status409Conflict,
                _ => StatusCodes.Status502BadGateway,
            };
            throw new ModelsCallException(status, $"the music host answered {e.StatusCode}: {e.Status.Detail}");
        }
    }

    private static ModelVersionView View(ModelVersion v) => new(v.Version, v.Current, v.TrainingJob, v.AttemptId, v.Round, v.Created, v.Dimensions,
        v.Items, v.Users, v.SchemaFingerprint, v.Metrics.ToDictionary(StringComparer.Ordinal));

    public void Dispose()
    {
        if (_connection.IsValueCreated)
            _connection.Value?.Dispose();
    }
}
