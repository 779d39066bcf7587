namespace Federated.Vectors;

/// <summary>How an index scores a (query, item) pair; the highest score ranks first.</summary>
public enum VectorMetric
{
    /// <summary>The dot product of the query and the item vector as given: the two-tower recall score.</summary>
    InnerProduct = 0,

    /// <summary>The cosine of the angle: both vectors are scaled to unit length (the index stores the scaled item vectors).</summary>
    Cosine = 1,
}

/// <summary>Which search structure an index is.</summary>
public enum VectorIndexKind
{
    /// <summary>Brute force over every vector: exact, linear in the catalogue.</summary>
    Exact = 1,

    /// <summary>A navigable small-world graph (HNSW, USearch): approximate, sub-linear.</summary>
    Hnsw = 2,
}

/// <summary>One search result: the item's id and its score under the index's metric.</summary>
public readonly record struct VectorHit<TKey>(TKey Id, float Score) where TKey : notnull;

/// <summary>A failure of the native index library, or a file that is not a vector index of this format.</summary>
public sealed class VectorIndexException : Exception
{
    public VectorIndexException(string message) : base(message) { }
    public VectorIndexException(string message, Exception inner) : base(message, inner) { }
}
