namespace Federated.Learning.Model;

/// <summary>Shape of E's bottom tower: categorical columns (cardinality each) and dense features -> MLP -> α of width k.</summary>
public sealed record ExternalTowerOptions
{
    public required IReadOnlyList<int> CategoricalCardinalities { get; init; }
    public int EmbeddingWidth { get; init; } = 16;
    public required int DenseWidth { get; init; }
    public IReadOnlyList<int> HiddenWidths { get; init; } = new[] { 256 };
    /// <summary>k, the width of α (bounded to (-1, 1) by tanh so CKKS values cannot wrap).</summary>
    public required int OutputWidth { get; init; }

    public void Validate()
    {
        Checks.Cardinalities(CategoricalCardinalities, nameof(CategoricalCardinalities));
        Checks.Positive(EmbeddingWidth, nameof(EmbeddingWidth));
        if (DenseWidth < 0) throw new ArgumentOutOfRangeException(nameof(DenseWidth), DenseWidth, "DenseWidth must not be negative");
        if (CategoricalCardinalities.Count == 0 && DenseWidth == 0)
            throw new ArgumentException("E's tower needs at least one categorical column or one dense feature");
        foreach (var h in HiddenWidths) Checks.Positive(h, nameof(HiddenWidths));
        Checks.Positive(OutputWidth, nameof(OutputWidth));
    }
}

/// <summary>M's own user part from its sparse user features; users new to M take a learned "unknown" vector.</summary>
public sealed record MusicUserOptions
{
    public required IReadOnlyList<int> CategoricalCardinalities { get; init; }
    public int EmbeddingWidth { get; init; } = 16;

    public void Validate()
    {
        Checks.Cardinalities(CategoricalCardinalities, nameof(CategoricalCardinalities));
        if (CategoricalCardinalities.Count == 0) throw new ArgumentException("M's user part needs at least one categorical column");
        Checks.Positive(EmbeddingWidth, nameof(EmbeddingWidth));
    }
}

/// <summary>Shape of the item tower: song ID embedding + metadata embeddings + an audio encoder over the descriptor vector.</summary>
public sealed record ItemTowerOptions
{
    public required int SongCount { get; init; }
    /// <summary>Width of the song ID embedding, equal to the audio encoder's output so cold IDs can start from it.</summary>
    public int IdEmbeddingWidth { get; init; } = 32;
    public required IReadOnlyList<int> MetadataCardinalities { get; init; }
    public int MetadataEmbeddingWidth { get; init; } = 8;
    public required int AudioWidth { get; init; }
    public int AudioHiddenWidth { get; init; } = 64;
    public int HiddenWidth { get; init; } = 128;

    public void Validate()
    {
        Checks.Positive(SongCount, nameof(SongCount));
        Checks.Positive(IdEmbeddingWidth, nameof(IdEmbeddingWidth));
        Checks.Cardinalities(MetadataCardinalities, nameof(MetadataCardinalities));
        Checks.Positive(MetadataEmbeddingWidth, nameof(MetadataEmbeddingWidth));
        Checks.Positive(AudioWidth, nameof(AudioWidth));
        Checks.Positive(AudioHiddenWidth, nameof(AudioHiddenWidth));
        Checks.Positive(HiddenWidth, nameof(HiddenWidth));
    }
}

public enum RecallLossKind
{
    /// <summary>In-batch sampled softmax with log-popularity (logQ) correction.</summary>
    InBatchSoftmax,
    /// <summary>Binary cross-entropy on the positive and popularity-sampled negatives.</summary>
    SampledBinaryCrossEntropy,
}

/// <summary>M's top model: user vector from z_E (+ M's user part), item tower, cosine / temperature, the loss.</summary>
public sealed record MusicTopOptions
{
    /// <summary>d, the width of z_E, of M's user part and of the item vector.</summary>
    public required int InteractiveWidth { get; init; }
    public required ItemTowerOptions Items { get; init; }
    /// <summary>M's own user part, or null when M uses no user features of its own.</summary>
    public MusicUserOptions? Users { get; init; }
    public double Temperature { get; init; } = 0.05;
    public RecallLossKind Loss { get; init; } = RecallLossKind.InBatchSoftmax;
    /// <summary>Negatives per row for <see cref="RecallLossKind.SampledBinaryCrossEntropy"/>, drawn from popularity.</summary>
    public int SampledNegatives { get; init; } = 8;
    /// <summary>A song's ID embedding starts from the audio encoder's output the first time it appears in training.</summary>
    public bool InitialiseNewSongsFromAudio { get; init; } = true;

    public void Validate()
    {
        Checks.Positive(InteractiveWidth, nameof(InteractiveWidth));
        Items.Validate();
        Users?.Validate();
        if (!(Temperature > 0)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Temperature must be positive");
        if (Loss == RecallLossKind.SampledBinaryCrossEntropy) Checks.Positive(SampledNegatives, nameof(SampledNegatives));
    }
}

internal static class Checks
{
    public static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
    }

    public static void Cardinalities(IReadOnlyList<int>? cardinalities, string name)
    {
        if (cardinalities is null) throw new ArgumentNullException(name);
        for (int i = 0; i < cardinalities.Count; i++)
            if (cardinalities[i] <= 0) throw new ArgumentOutOfRangeException(name, $"{name}[{i}] = {cardinalities[i]}: a cardinality must be positive");
    }
}
