namespace Federated.Scheduling;

/// <summary>
/// A job definition refused: <see cref="Field"/> is the path of the wrong field (<c>schedule.cron</c>,
/// <c>parties.music</c>, <c>parameters.epochs</c>), and the message starts with it.
/// </summary>
public sealed class JobDefinitionException(string field, string problem) : Exception($"{field}: {problem}")
{
    public string Field { get; } = field;
    public string Problem { get; } = problem;
}

/// <summary>A request about definitions or runs that cannot be done (unknown definition, a run already active).</summary>
public sealed class ScheduleException(string message, bool notFound = false) : Exception(message)
{
    /// <summary>True when the named definition does not exist.</summary>
    public bool NotFound { get; } = notFound;
}
