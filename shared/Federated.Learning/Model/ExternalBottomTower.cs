using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Federated.Learning.Model;

/// <summary>
/// E's bottom tower: one embedding per categorical column (sharing one table through column offsets), concatenated
/// with the dense features, through an MLP to α of width k, bounded by tanh so encrypted values stay in range.
/// </summary>
public sealed class ExternalBottomTower : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding? embeddings;
    private readonly Sequential mlp;
    private readonly long[] _offsets;
    private readonly int _columns;

    public ExternalBottomTower(ExternalTowerOptions options) : base(nameof(ExternalBottomTower))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _columns = options.CategoricalCardinalities.Count;
        _offsets = Layers.ColumnOffsets(options.CategoricalCardinalities);
        long vocabulary = options.CategoricalCardinalities.Sum(c => (long)c);
        if (_columns > 0) embeddings = nn.Embedding(vocabulary, options.EmbeddingWidth);
        mlp = Layers.Mlp(_columns * options.EmbeddingWidth + options.DenseWidth, options.HiddenWidths, options.OutputWidth);
        RegisterComponents();
    }

    public ExternalTowerOptions Options { get; }

    /// <summary>categorical: int64 [B, C]; dense: float32 [B, D]. Returns α, float32 [B, k] in (-1, 1).</summary>
    public override Tensor forward(Tensor categorical, Tensor dense)
    {
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>(2);
        if (embeddings is not null)
        {
            var ids = categorical.Plus(tensor(_offsets, ScalarType.Int64).unsqueeze(0));
            parts.Add(embeddings.forward(ids).reshape(categorical.shape[0], _columns * Options.EmbeddingWidth));
        }
        if (Options.DenseWidth > 0) parts.Add(dense);
        var input = parts.Count == 1 ? parts[0] : cat(parts, 1);
        return mlp.forward(input).tanh().MoveToOuterDisposeScope();
    }

    /// <summary>α for a validated batch.</summary>
    public Tensor Forward(ExternalBatch batch)
    {
        batch.Validate(Options);
        var (categorical, dense) = batch.ToTensors(Options);
        using (categorical)
        using (dense)
            return forward(categorical, dense);
    }
}
