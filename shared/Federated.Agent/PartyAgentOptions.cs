namespace Federated.Agent;

/// <summary>The party agent's settings ("Agent" section).</summary>
public sealed class PartyAgentOptions
{
    public const string SectionName = "Agent";

    /// <summary>The coordinator, for example https://coordinator.example.org:7443.</summary>
    public string CoordinatorAddress { get; set; } = "";

    /// <summary>This party's private state (job checkpoints). Never shared.</summary>
    public string StateDirectory { get; set; } = "state";

    /// <summary>How long a job waits for the peer party to join its session.</summary>
    public int PeerJoinTimeoutSeconds { get; set; } = 120;

    /// <summary>How long a finishing job waits for the peer to confirm its last messages.</summary>
    public int CompletionTimeoutSeconds { get; set; } = 60;
}
