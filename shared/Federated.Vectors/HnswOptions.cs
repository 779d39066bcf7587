namespace Federated.Vectors;

/// <summary>
/// The settings of an HNSW index. <see cref="Connectivity"/> (M) and <see cref="ExpansionAdd"/> fix the graph when it
/// is built; <see cref="ExpansionSearch"/> (ef) trades recall for latency at query time and can be changed on a built
/// index. A search for K results explores at least K candidates whatever ef says.
/// </summary>
public sealed record HnswOptions
{
    /// <summary>Neighbours kept per node and layer (M; the bottom layer keeps 2M).</summary>
    public int Connectivity { get; init; } = 16;

    /// <summary>Candidates explored when a vector is inserted (efConstruction).</summary>
    public int ExpansionAdd { get; init; } = 128;

    /// <summary>Candidates explored per query (ef).</summary>
    public int ExpansionSearch { get; init; } = 128;

    /// <summary>Threads that insert in a batch add and search in a batch search.</summary>
    public int Threads { get; init; } = 2;

    public static HnswOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Connectivity is < 2 or > 1024)
            throw new ArgumentOutOfRangeException(nameof(Connectivity), Connectivity, "HNSW connectivity (M) must be between 2 and 1024");
        if (ExpansionAdd is < 1 or > 1 << 16)
            throw new ArgumentOutOfRangeException(nameof(ExpansionAdd), ExpansionAdd, "HNSW expansion_add must be between 1 and 65536");
        if (ExpansionSearch is < 1 or > 1 << 16)
            throw new ArgumentOutOfRangeException(nameof(ExpansionSearch), ExpansionSearch, "HNSW expansion_search must be between 1 and 65536");
        if (Threads is < 1 or > 1024)
            throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "HNSW threads must be between 1 and 1024");
    }
}
