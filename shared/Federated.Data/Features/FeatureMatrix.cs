namespace Federated.Data.Features;

/// <summary>
/// Encoded rows as flat row-major arrays, ready to wrap in tensors: <see cref="Categorical"/> is
/// RowCount × CategoricalWidth ids, <see cref="Dense"/> is RowCount × DenseWidth floats, and each
/// multi-categorical column is a bag in offsets form (for an EmbeddingBag).
/// </summary>
public sealed class FeatureMatrix
{
    /// <summary>The key of each row (null entries when the table has no key).</summary>
    public required string?[] Keys { get; init; }
    public required int RowCount { get; init; }
    public required int CategoricalWidth { get; init; }
    public required int DenseWidth { get; init; }
    public required int[] Categorical { get; init; }
    public required float[] Dense { get; init; }
    public required TokenBags[] MultiCategorical { get; init; }

    public ReadOnlySpan<int> CategoricalRow(int row) => Categorical.AsSpan(row * CategoricalWidth, CategoricalWidth);

    public ReadOnlySpan<float> DenseRow(int row) => Dense.AsSpan(row * DenseWidth, DenseWidth);
}

/// <summary>Variable-length id lists: row r's ids are Ids[Offsets[r]..Offsets[r+1]].</summary>
public sealed record TokenBags(int[] Offsets, int[] Ids)
{
    public ReadOnlySpan<int> Row(int row) => Ids.AsSpan(Offsets[row], Offsets[row + 1] - Offsets[row]);
}
