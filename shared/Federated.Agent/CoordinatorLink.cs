using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Federated.Agent;

/// <summary>
/// Whether this party is connected to its coordinator: registered, with the assignment stream open and the last
/// heartbeat answered. The agent updates it; the health check "federated.party" reports it.
/// </summary>
public sealed class CoordinatorLink
{
    private volatile string? _problem = "not registered with the coordinator yet";

    public bool Connected => _problem is null;

    /// <summary>Why the party is not connected (null while connected).</summary>
    public string? Problem => _problem;

    public void Up() => _problem = null;

    public void Down(string problem) => _problem = problem;
}

/// <summary>The party's health (gRPC health service "federated.party"): healthy while connected to the coordinator.</summary>
public sealed class PartyHealth(CoordinatorLink link) : IHealthCheck
{
    public const string ServiceName = "federated.party";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(link.Problem is { } problem
            ? HealthCheckResult.Unhealthy(problem)
            : HealthCheckResult.Healthy("connected to the coordinator"));
}
