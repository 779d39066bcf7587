using Federated.Learning.Crypto;
using Federated.Learning.Split;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Federated.Learning.Model;

/// <summary>What one centralised step computed, for comparison with the split protocol's step.</summary>
public sealed record CentralisedStepResult(double Loss, DenseMatrix InteractiveOutput, DenseMatrix InputGradient, DenseMatrix WeightGradient);

/// <summary>
/// The non-split model: E's tower, the whole interactive weight W and M's top model in one process, with all features
/// pooled. It is the quality upper bound and the reference the split protocol must reproduce step by step
/// (z_E = α·W, g = ∂L/∂α = δ·Wᵀ, ∇W = αᵀ·δ). The interactive layer runs in float64, like the split roles.
/// </summary>
public sealed class CentralisedTwoTowerModel : IDisposable
{
    private readonly ExternalBottomTower _tower;
    private readonly MusicTopModel _top;
    private readonly SongCatalog _catalog;
    private readonly optim.Optimizer _towerOptimiser;
    private readonly optim.Optimizer _topOptimiser;
    private readonly Tensor _weight;
    private readonly double _learningRate;

    public CentralisedTwoTowerModel(ExternalBottomTower tower, MusicTopModel top, SongCatalog catalog, Tensor initialWeight,
        Func<IEnumerable<Parameter>, optim.Optimizer> towerOptimiser, Func<IEnumerable<Parameter>, optim.Optimizer> topOptimiser,
        double interactiveLearningRate)
    {
        ArgumentNullException.ThrowIfNull(tower);
        ArgumentNullException.ThrowIfNull(top);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(initialWeight);
        var expected = new long[] { tower.Options.OutputWidth, top.Options.InteractiveWidth };
        if (!initialWeight.shape.SequenceEqual(expected))
            throw new ArgumentException($"W: expected shape [{string.Join(", ", expected)}], got [{string.Join(", ", initialWeight.shape)}]");
        if (!(interactiveLearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(interactiveLearningRate), interactiveLearningRate, "η must be positive");
        _tower = tower;
        _top = top;
        _catalog = catalog;
        _towerOptimiser = towerOptimiser(tower.parameters());
        _topOptimiser = topOptimiser(top.parameters());
        _weight = initialWeight.detach().to_type(ScalarType.Float64).clone().requires_grad_();
        _learningRate = interactiveLearningRate;
    }

    /// <summary>W, float64 [k, d] (a live view; do not modify).</summary>
    public Tensor Weight => _weight;
    public ExternalBottomTower Tower => _tower;
    public MusicTopModel Top => _top;

    /// <summary>How W is updated from its gradient; plain SGD unless a test swaps it.</summary>
    internal IInteractiveLayerUpdateRule UpdateRule { get; set; } = PlainSgdUpdateRule.Instance;

    /// <summary>One training step on the pooled batch.</summary>
    public CentralisedStepResult Step(ExternalBatch externalBatch, MusicBatch musicBatch, Generator? negativeSampler = null)
    {
        ArgumentNullException.ThrowIfNull(externalBatch);
        ArgumentNullException.ThrowIfNull(musicBatch);
        if (externalBatch.Rows != musicBatch.Rows)
            throw new ArgumentException($"E's batch has {externalBatch.Rows} rows, M's {musicBatch.Rows}: the batches are not aligned");
        using var scope = NewDisposeScope();
        _towerOptimiser.zero_grad();
        _topOptimiser.zero_grad();
        _weight.grad?.zero_();

        var alpha = _tower.Forward(externalBatch);
        alpha.retain_grad();
        var z = alpha.to_type(ScalarType.Float64).mm(_weight).to_type(ScalarType.Float32);
        z.retain_grad();
        var loss = _top.Loss(z, musicBatch, _catalog, negativeSampler);
        loss.backward();
        var result = new CentralisedStepResult(loss.item<float>(), DenseMatrix.FromTensor(z), DenseMatrix.FromTensor(alpha.grad!),
            DenseMatrix.FromTensor(_weight.grad!));
        _towerOptimiser.step();
        _topOptimiser.step();
        UpdateRule.Apply(_weight, _weight.grad!.clone(), _learningRate);
        return result;
    }

    /// <summary>L2-normalised user vectors for a batch (no training).</summary>
    public Tensor UserVectors(ExternalBatch externalBatch, MusicBatch musicBatch)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var z = _tower.Forward(externalBatch).to_type(ScalarType.Float64).mm(_weight).to_type(ScalarType.Float32);
        return _top.UserVectors(z, musicBatch).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _towerOptimiser.Dispose();
        _topOptimiser.Dispose();
        _weight.Dispose();
    }
}
