using Federated.Learning.Privacy;
using static TorchSharp.torch;

namespace Federated.Learning.Split;

/// <summary>
/// M's label protection on δ = ∂L/∂z_E (L the batch mean loss). Each row's per-example gradient B·δ_r is clipped to
/// norm C, gets N(0, (σC)²) noise per coordinate from M's secret randomness (a CSPRNG key, the step's own stream,
/// floating-point-hardened Gaussians: <see cref="SecretRandomness"/>), and is scaled back by 1/B:
/// δ̃ = (clip_C(B·δ) + σC·N) / B. The ledger composes the sampled Gaussian mechanism over steps with q = B / N.
/// </summary>
public sealed class LabelDpMechanism
{
    private readonly LabelDpOptions? _options;
    private const string NoisePurpose = "label-dp-noise";
    private SecretRandomness _secret;
    private readonly long _alignedRows;
    private readonly Dictionary<double, double[]> _perStepRdp = new();
    private readonly double[] _composedRdp;

    public LabelDpMechanism(LabelDpOptions? options, long alignedRows, SecretRandomness secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        options?.Validate();
        _options = options;
        _alignedRows = alignedRows;
        _secret = secret;
        _composedRdp = new double[RenyiDpAccountant.DefaultOrders.Count];
    }

    public bool Enabled => _options is not null;
    public long Steps { get; private set; }

    /// <summary>δ̃ for δ (float32 [B, d]); returns a new float64 tensor. Records one step in the ledger.</summary>
    public Tensor Apply(Tensor delta)
    {
        using var scope = NewDisposeScope();
        var d64 = delta.detach().to_type(ScalarType.Float64);
        if (_options is null) return d64.clone().MoveToOuterDisposeScope();
        long rows = delta.shape[0];
        var perExample = d64.Times(rows);
        var norms = perExample.norm(1, keepdim: true);
        var factor = norms.ClampMin(1e-300).Into(_options.ClipNorm).ClampMax(1.0);
        var clipped = perExample * factor;
        var noise = _secret.Gaussian(NoisePurpose, (ulong)Steps, clipped.shape, _options.NoiseMultiplier * _options.ClipNorm);
        Record(rows);
        return clipped.Plus(noise).DividedBy(rows).MoveToOuterDisposeScope();
    }

    /// <summary>ε spent so far at the configured δ; null when label DP is off.</summary>
    public PrivacySpent? Spent()
    {
        if (_options is null) return null;
        if (Steps == 0) return new PrivacySpent(0, _options.Delta, double.NaN);
        return RenyiDpAccountant.EpsilonFromRdp(RenyiDpAccountant.DefaultOrders, _composedRdp, _options.Delta);
    }

    /// <summary>What a checkpoint keeps: the steps taken (each step's noise is the secret stream of its index) and the composed RDP.</summary>
    internal sealed record Ledger(long Steps, double[] ComposedRdp);

    internal Ledger ExportLedger() => new(Steps, (double[])_composedRdp.Clone());

    internal void RestoreLedger(Ledger ledger, SecretRandomness secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (ledger.ComposedRdp is null || ledger.ComposedRdp.Length != _composedRdp.Length)
            throw new InvalidDataException($"saved ledger holds {ledger.ComposedRdp?.Length ?? 0} RDP orders, the accountant uses {_composedRdp.Length}");
        _secret = secret;
        ledger.ComposedRdp.CopyTo(_composedRdp, 0);
        Steps = ledger.Steps;
    }

    private void Record(long batchRows)
    {
        AddStep(_composedRdp, _perStepRdp, _options!.NoiseMultiplier, batchRows, _alignedRows);
        Steps++;
    }

    /// <summary>
    /// ε that training over batches of these sizes will have spent at its end, computed before it starts with the
    /// ledger's own per-step accounting (so it equals what <see cref="Spent"/> reports after the same steps); null
    /// when label DP is off.
    /// </summary>
    public static PrivacySpent? Project(LabelDpOptions? options, long alignedRows, IEnumerable<int> batchRows)
    {
        ArgumentNullException.ThrowIfNull(batchRows);
        if (options is null) return null;
        options.Validate();
        var composed = new double[RenyiDpAccountant.DefaultOrders.Count];
        var cache = new Dictionary<double, double[]>();
        long steps = 0;
        foreach (var rows in batchRows)
        {
            AddStep(composed, cache, options.NoiseMultiplier, rows, alignedRows);
            steps++;
        }
        return steps == 0 ? new PrivacySpent(0, options.Delta, double.NaN) : RenyiDpAccountant.EpsilonFromRdp(RenyiDpAccountant.DefaultOrders, composed, options.Delta);
    }

    private static void AddStep(double[] composed, Dictionary<double, double[]> cache, double noiseMultiplier, long batchRows, long alignedRows)
    {
        double q = Math.Min(1.0, (double)batchRows / alignedRows);
        if (!cache.TryGetValue(q, out var perStep))
        {
            var orders = RenyiDpAccountant.DefaultOrders;
            perStep = new double[orders.Count];
            for (int i = 0; i < orders.Count; i++) perStep[i] = RenyiDpAccountant.SampledGaussianRdp(q, noiseMultiplier, orders[i]);
            cache[q] = perStep;
        }
        for (int i = 0; i < perStep.Length; i++) composed[i] += perStep[i];
    }
}
