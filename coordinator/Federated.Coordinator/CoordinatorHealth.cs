using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Federated.Coordinator;

/// <summary>
/// The coordinator's health (gRPC health service "federated.coordinator"): healthy while the registry and jobs
/// database and the audit log can both be opened for writing and their write lock taken. Each probe opens its own
/// connection and rolls back, so it writes no record and does not touch the audit chain.
/// </summary>
public sealed class CoordinatorHealth(IOptions<CoordinatorOptions> options) : IHealthCheck
{
    public const string ServiceName = "federated.coordinator";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var problems = new List<string>();
        foreach (var (what, path) in new[] { ("registry", options.Value.RegistryDatabasePath), ("audit log", options.Value.AuditDatabasePath) })
        {
            if (Probe(path) is { } problem)
                problems.Add($"{what} {path}: {problem}");
        }
        return Task.FromResult(problems.Count == 0
            ? HealthCheckResult.Healthy("registry and audit log writable")
            : HealthCheckResult.Unhealthy(string.Join("; ", problems)));
    }

    private static string? Probe(string path)
    {
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false, DefaultTimeout = 5,
            }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "BEGIN IMMEDIATE; ROLLBACK;";
            command.ExecuteNonQuery();
            return null;
        }
        catch (SqliteException e)
        {
            return e.Message;
        }
    }
}
