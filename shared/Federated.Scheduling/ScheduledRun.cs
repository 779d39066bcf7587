namespace Federated.Scheduling;

/// <summary>Where a run of a definition stands.</summary>
public enum RunState
{
    /// <summary>Due, waiting for both parties to be online (at most the round timeout).</summary>
    Waiting,

    /// <summary>Its job was created and has not finished.</summary>
    Running,

    Completed,
    Failed,
    Stopped,

    /// <summary>Not run: the previous run was still active, or the slot was missed under misfire policy skip.</summary>
    Skipped,
}

/// <summary>Why a run exists.</summary>
public enum RunTrigger
{
    /// <summary>Its slot came due while the coordinator was running.</summary>
    Schedule,

    /// <summary>The one run for slots missed while the coordinator was not running (misfire policy run-once).</summary>
    Misfire,

    /// <summary>An operator asked for it (<c>fedctl jobs run-now</c>).</summary>
    OnDemand,
}

/// <summary>
/// One run of a job definition: its slot (null for an on-demand run), the job it started (through the coordinator's
/// job store, so retries, the watchdog and the audit log apply as to any job), its state and reason. <see cref="Summary"/>
/// is a JSON object for what a run reports beyond its state (its job's summary now; metrics and a publication verdict
/// have their place there).
/// </summary>
public sealed record ScheduledRun(
    string RunId,
    string Definition,
    DateTimeOffset? Slot,
    RunTrigger Trigger,
    RunState State,
    string? JobId,
    string Reason,
    DateTimeOffset Created,
    DateTimeOffset? Started,
    DateTimeOffset? Finished,
    RunPlan Plan,
    string Summary = "{}")
{
    public bool IsActive => State is RunState.Waiting or RunState.Running;

    public static string StateText(RunState state) => state.ToString().ToLowerInvariant();

    public static string TriggerText(RunTrigger trigger) => trigger switch
    {
        RunTrigger.Schedule => "schedule",
        RunTrigger.Misfire => "misfire",
        _ => "on-demand",
    };
}

/// <summary>
/// A stored definition: its YAML as submitted, whether it is enabled, and its horizon: slots after that instant are
/// still to come (the newest slot handled, or when it was submitted or enabled again, whichever is later).
/// </summary>
public sealed record StoredDefinition(JobDefinition Definition, string Source, bool Enabled, DateTimeOffset Submitted, DateTimeOffset Horizon, int Revision)
{
    public string Name => Definition.Name;
}
