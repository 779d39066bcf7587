namespace Federated.Crypto.Psi;

/// <summary>What one party knows after a PSI run. The aligned keys themselves are in a file, not in memory.</summary>
/// <param name="AlignedKeysPath">This party's IDs of the intersection, one per line, in the canonical row order.</param>
/// <param name="AlignedSourceIndexPath">Per row, the 0-based position of that ID in this party's source (int64 little-endian).</param>
/// <param name="JointSeed">32 bytes both parties contributed to (commit, then reveal); seeds the batch order.</param>
/// <param name="StateId">Identifies this round's state; a delta round names it, and both parties must agree on it.</param>
public sealed record PsiResult(
    PsiRole Role,
    string JobFolder,
    int Round,
    long OwnIdCount,
    long OwnNewIdCount,
    long PeerIdCount,
    long PeerNewIdCount,
    long IntersectionSize,
    string AlignedKeysPath,
    string AlignedSourceIndexPath,
    byte[] JointSeed,
    string StateId,
    TimeSpan Elapsed)
{
    /// <summary>M, when only M learns the intersection: per aligned row, E's ordinal of that ID (int64 little-endian).</summary>
    public string? PeerOrdinalsPath { get; init; }

    /// <summary>E, when only M learns the intersection: per ordinal E sent, its ID's source position (int64 little-endian).</summary>
    public string? OrdinalSourceIndexPath { get; init; }
}
