namespace Federated.PartyJobs;

/// <summary>Anchor type for the party job handlers assembly (handlers are registered by the party hosts).</summary>
internal static class PartyJobsMarker;
