namespace Federated.Learning.Split;

/// <summary>Protections a job may explicitly switch off. Every report names the ones in effect.</summary>
[Flags]
public enum InsecureAllowances
{
    None = 0,
    /// <summary>Run the plaintext reference backend (interactive-layer values cross unencrypted).</summary>
    PlaintextReference = 1,
    /// <summary>Run without label DP (no clipping, no noise on δ): E's gradient reveals label information.</summary>
    NoLabelNoise = 2,
    /// <summary>
    /// Derive the parties' secret randomness (label-DP noise, masks, weight halves) from the job's seed, for reproducible
    /// test runs: whoever knows the seed can recompute M's noise and E's masks.
    /// </summary>
    FixedSeed = 4,
}

/// <summary>Label DP on δ: each row's per-example gradient is clipped to <see cref="ClipNorm"/> and gets N(0, (σ·C)²) noise.</summary>
public sealed record LabelDpOptions
{
    /// <summary>C, the per-row L2 clipping norm of the per-example gradient of the loss w.r.t. z_E.</summary>
    public required double ClipNorm { get; init; }
    /// <summary>σ, the noise multiplier: noise std = σ·C per coordinate.</summary>
    public required double NoiseMultiplier { get; init; }
    /// <summary>δ at which ε is reported.</summary>
    public double Delta { get; init; } = 1e-5;

    public void Validate()
    {
        if (!(ClipNorm > 0) || !double.IsFinite(ClipNorm)) throw new ArgumentOutOfRangeException(nameof(ClipNorm), ClipNorm, "clip norm must be positive and finite");
        if (!(NoiseMultiplier >= 0) || !double.IsFinite(NoiseMultiplier)) throw new ArgumentOutOfRangeException(nameof(NoiseMultiplier), NoiseMultiplier, "noise multiplier must not be negative");
        if (!(Delta > 0 && Delta < 1)) throw new ArgumentOutOfRangeException(nameof(Delta), Delta, "δ must be in (0, 1)");
    }
}

/// <summary>Job-level settings both roles must agree on (the key announcement carries k and d to check that).</summary>
public sealed record SplitTrainingOptions
{
    public const uint ProtocolVersion = 1;

    public required string JobId { get; init; }
    /// <summary>k, the width of E's bottom output α.</summary>
    public required int BottomWidth { get; init; }
    /// <summary>d, the output width of the interactive layer.</summary>
    public required int InteractiveWidth { get; init; }
    /// <summary>η, the plain-SGD learning rate of the interactive layer (the noise cancellation needs plain SGD).</summary>
    public double InteractiveLearningRate { get; init; } = 0.05;
    /// <summary>Variance of the intended init of W; each half starts with half of it. Null: Glorot, 2 / (k + d).</summary>
    public double? InteractiveInitVariance { get; init; }
    /// <summary>Std of E's gradient mask Ξ/η, which hides ∇W from M. W_M and A drift apart by about η·this·√steps.</summary>
    public double GradientMaskStd { get; init; } = 0.1;
    /// <summary>Label DP on δ; null only with <see cref="InsecureAllowances.NoLabelNoise"/>.</summary>
    public LabelDpOptions? LabelDp { get; init; }
    /// <summary>Number of aligned users N, so the accountant's sampling rate is B / N.</summary>
    public long AlignedRows { get; init; }
    public InsecureAllowances Insecure { get; init; }

    public double InitVariance => InteractiveInitVariance ?? 2.0 / (BottomWidth + InteractiveWidth);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(JobId)) throw new ArgumentException("JobId is required", nameof(JobId));
        if (BottomWidth <= 0) throw new ArgumentOutOfRangeException(nameof(BottomWidth), BottomWidth, "k must be positive");
        if (InteractiveWidth <= 0) throw new ArgumentOutOfRangeException(nameof(InteractiveWidth), InteractiveWidth, "d must be positive");
        if (!(InteractiveLearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(InteractiveLearningRate), InteractiveLearningRate, "η must be positive");
        if (!(InitVariance > 0)) throw new ArgumentOutOfRangeException(nameof(InteractiveInitVariance), InitVariance, "init variance must be positive");
        if (!(GradientMaskStd >= 0)) throw new ArgumentOutOfRangeException(nameof(GradientMaskStd), GradientMaskStd, "gradient mask std must not be negative");
        if (LabelDp is null)
        {
            if (!Insecure.HasFlag(InsecureAllowances.NoLabelNoise))
                throw new InvalidOperationException("label DP is off (LabelDp is null); that is refused unless Insecure includes NoLabelNoise");
        }
        else
        {
            LabelDp.Validate();
            if (LabelDp.NoiseMultiplier == 0 && !Insecure.HasFlag(InsecureAllowances.NoLabelNoise))
                throw new InvalidOperationException("label DP noise multiplier σ = 0 is refused unless Insecure includes NoLabelNoise");
            if (AlignedRows <= 0) throw new ArgumentOutOfRangeException(nameof(AlignedRows), AlignedRows, "AlignedRows (N) is needed for the DP accountant's sampling rate");
        }
    }
}
