namespace Federated.Core.Jobs;

/// <summary>The job kinds the party agents know (the coordinator only relays; it does not interpret them).</summary>
public static class JobKinds
{
    public const string Ping = "ping";
    public const string Stream = "stream";
    public const string Psi = "psi";
    public const string Train = "train";
}

/// <summary>Job parameter names that more than one process reads: the coordinator's retries and the parties' job kinds.</summary>
public static class JobParameterNames
{
    /// <summary>The logical training job (<see cref="TrainingJobName"/>), the same for every attempt.</summary>
    public const string TrainingJob = "trainingJob";

    /// <summary>Added by the coordinator to a retry: the attempt it replaces.</summary>
    public const string RetryOf = "retryOf";

    /// <summary>Added by the coordinator to a retry: its attempt number (2 for the first retry).</summary>
    public const string Attempt = "attempt";

    /// <summary>Optional: the most attempts the coordinator makes of the job (default Coordinator:MaxJobAttempts).</summary>
    public const string MaxAttempts = "maxAttempts";

    /// <summary>The largest <see cref="MaxAttempts"/> a job may ask for.</summary>
    public const int MaxAttemptsLimit = 100;
}
