namespace Federated.Crypto.Psi;

/// <summary>Settings of one PSI run. Both parties must use the same <see cref="Domain"/>.</summary>
public sealed class PsiOptions
{
    /// <summary>
    /// Job-specific domain separator for hash-to-group (for example the alignment's id). Keep it the same for every
    /// round of one alignment: delta rounds compare against values derived under it.
    /// </summary>
    public required string Domain { get; init; }

    /// <summary>Folder for this run's result and state. Created if missing; must not already hold a result.</summary>
    public required string JobFolder { get; init; }

    /// <summary>Job folder of the previous round: this run becomes a delta round that processes only new IDs.</summary>
    public string? PreviousJobFolder { get; init; }

    /// <summary>Full PSI reusing the secret keys of an earlier job folder (same double-blinded values, same row order).</summary>
    public string? ReuseKeysFrom { get; init; }

    /// <summary>
    /// Only M learns the intersection, with E's position (ordinal) of each match; E learns the sizes and nothing about
    /// which of its IDs matched. For requests that M pads with decoys before asking E for those rows (docs/protocol.md
    /// §4, inference for cold-start users). Both parties must set it alike; not for delta rounds.
    /// </summary>
    public bool IntersectionForMusicOnly { get; init; }

    /// <summary>Most entries per message (points, or match records). A message is at most 8 + 36 x this many bytes.</summary>
    public int ChunkPoints { get; init; } = 65536;

    /// <summary>Worker threads for hashing and scalar multiplication.</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Longest wait for the next message from the peer. It must cover the peer's blinding of all its new IDs before
    /// its first chunk (about 50 us x IDs / cores: 4 min for 10^7 IDs on 2 cores).
    /// </summary>
    public TimeSpan MessageTimeout { get; init; } = TimeSpan.FromMinutes(20);

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Domain)) throw new ArgumentException("PsiOptions.Domain must be set (the job's domain separator)");
        if (string.IsNullOrWhiteSpace(JobFolder)) throw new ArgumentException("PsiOptions.JobFolder must be set");
        if (ChunkPoints is < 1 or > 1 << 20) throw new ArgumentException($"PsiOptions.ChunkPoints must be in 1..{1 << 20}, was {ChunkPoints}");
        if (MaxDegreeOfParallelism < 1) throw new ArgumentException("PsiOptions.MaxDegreeOfParallelism must be at least 1");
        if (MessageTimeout <= TimeSpan.Zero) throw new ArgumentException("PsiOptions.MessageTimeout must be positive");
        if (IntersectionForMusicOnly && (PreviousJobFolder is not null || ReuseKeysFrom is not null))
            throw new ArgumentException("PsiOptions.IntersectionForMusicOnly is for one-off requests, not for delta rounds or reused keys");
        if (PreviousJobFolder is not null && ReuseKeysFrom is not null)
            throw new ArgumentException("set either PreviousJobFolder (delta round) or ReuseKeysFrom (full round with old keys), not both");
    }
}
