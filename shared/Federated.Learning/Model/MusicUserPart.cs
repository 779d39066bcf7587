using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Federated.Learning.Model;

/// <summary>
/// M's own contribution to the user vector, from its sparse user features. Users new to M (no features at M) take a
/// learned "unknown" vector instead, so cold-start users are scored from z_E alone plus one shared offset.
/// </summary>
public sealed class MusicUserPart : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding embeddings;
    private readonly Linear projection;
    private readonly Parameter unknown;
    private readonly long[] _offsets;
    private readonly int _columns;

    public MusicUserPart(MusicUserOptions options, int outputWidth) : base(nameof(MusicUserPart))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Checks.Positive(outputWidth, nameof(outputWidth));
        Options = options;
        _columns = options.CategoricalCardinalities.Count;
        _offsets = Layers.ColumnOffsets(options.CategoricalCardinalities);
        embeddings = nn.Embedding(options.CategoricalCardinalities.Sum(c => (long)c), options.EmbeddingWidth);
        projection = nn.Linear(_columns * options.EmbeddingWidth, outputWidth);
        unknown = nn.Parameter(zeros(outputWidth));
        RegisterComponents();
    }

    public MusicUserOptions Options { get; }

    /// <summary>ids: int64 [B, C] (ignored where unknown); known: bool [B]. Returns float32 [B, d].</summary>
    public override Tensor forward(Tensor ids, Tensor known)
    {
        using var scope = NewDisposeScope();
        // Unknown rows may carry any id; route them to id 0 so the lookup stays in range.
        var safeIds = ids.MaskedFill(known.logical_not().unsqueeze(1), 0L).Plus(tensor(_offsets, ScalarType.Int64).unsqueeze(0));
        var fromFeatures = projection.forward(embeddings.forward(safeIds).reshape(ids.shape[0], _columns * Options.EmbeddingWidth));
        return where(known.unsqueeze(1), fromFeatures, unknown.unsqueeze(0).expand_as(fromFeatures)).MoveToOuterDisposeScope();
    }
}
