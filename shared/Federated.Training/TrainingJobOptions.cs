using Federated.Core.Jobs;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Federated.Learning.Crypto.Ckks;
using Federated.Learning.Split;

namespace Federated.Training;

/// <summary>How the interactive layer is protected. Encrypted is the default; the reference needs an explicit insecure flag.</summary>
public enum FederationMode
{
    /// <summary>CKKS with ring masks, re-randomisation and flooding (docs/protocol.md §2).</summary>
    Encrypted,
    /// <summary>The same messages with encryption replaced by identity. INSECURE: for equivalence and overhead checks.</summary>
    PlaintextReference,
}

/// <summary>Model shape and optimiser settings. Both parties must use the same values (checked at the job hello).</summary>
public sealed record TrainingModelOptions
{
    /// <summary>k, width of E's bottom output α.</summary>
    public int BottomWidth { get; init; } = 32;
    /// <summary>d, width of z_E, M's user part and the item vectors.</summary>
    public int InteractiveWidth { get; init; } = 32;
    public int ExternalEmbeddingWidth { get; init; } = 8;
    public IReadOnlyList<int> ExternalHiddenWidths { get; init; } = new[] { 128 };
    public int MusicUserEmbeddingWidth { get; init; } = 16;
    /// <summary>M's user part also embeds M's own user ids (collaborative signal for the users M knows; not for new users).</summary>
    public bool MusicUserIdEmbedding { get; init; } = true;
    /// <summary>
    /// Epochs of M-local pretraining of its top model on all its users (z_E = 0, plaintext, no E) before the
    /// federated steps: the item tower learns from every interaction M holds, so the expensive encrypted steps go to
    /// E's tower. The same pretraining starts the centralised baseline and is the whole of "M alone".
    /// </summary>
    public int MusicPretrainEpochs { get; init; } = 10;
    /// <summary>Share of rows whose user part is hidden during pretraining (trains the "unknown user" vector).</summary>
    public double MusicPretrainDropout { get; init; } = 0.2;
    public int SongIdEmbeddingWidth { get; init; } = 32;
    public int SongMetadataEmbeddingWidth { get; init; } = 8;
    public int AudioHiddenWidth { get; init; } = 64;
    public int ItemHiddenWidth { get; init; } = 64;
    public double Temperature { get; init; } = 0.1;
    /// <summary>Adam learning rate of E's tower (E's choice) and of M's top model (M's choice).</summary>
    public double TowerLearningRate { get; init; } = 0.005;
    public double TopLearningRate { get; init; } = 0.005;
    /// <summary>
    /// η of the interactive layer (plain SGD; the W_M + A noise cancellation needs it). Small: the label-DP noise on
    /// ∇W random-walks W at rate η·σC/√B per step, while E's tower (Adam) can adapt to a nearly fixed W.
    /// </summary>
    public double InteractiveLearningRate { get; init; } = 0.05;
    /// <summary>Std of E's mask Ξ/η on ∇W (hides ∇W from M).</summary>
    public double GradientMaskStd { get; init; } = 0.01;

    public void Validate()
    {
        Positive(BottomWidth, nameof(BottomWidth));
        Positive(InteractiveWidth, nameof(InteractiveWidth));
        Positive(ExternalEmbeddingWidth, nameof(ExternalEmbeddingWidth));
        Positive(MusicUserEmbeddingWidth, nameof(MusicUserEmbeddingWidth));
        Positive(SongIdEmbeddingWidth, nameof(SongIdEmbeddingWidth));
        Positive(SongMetadataEmbeddingWidth, nameof(SongMetadataEmbeddingWidth));
        Positive(AudioHiddenWidth, nameof(AudioHiddenWidth));
        Positive(ItemHiddenWidth, nameof(ItemHiddenWidth));
        foreach (var h in ExternalHiddenWidths) Positive(h, nameof(ExternalHiddenWidths));
        if (MusicPretrainEpochs < 0) throw new ArgumentOutOfRangeException(nameof(MusicPretrainEpochs), MusicPretrainEpochs, "must not be negative");
        if (!(MusicPretrainDropout >= 0 && MusicPretrainDropout <= 1))
            throw new ArgumentOutOfRangeException(nameof(MusicPretrainDropout), MusicPretrainDropout, "must be in [0, 1]");
        if (!(Temperature > 0)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "temperature must be positive");
        if (!(TowerLearningRate > 0) || !(TopLearningRate > 0) || !(InteractiveLearningRate > 0))
            throw new ArgumentOutOfRangeException(nameof(TowerLearningRate), "learning rates must be positive");
        if (!(GradientMaskStd >= 0)) throw new ArgumentOutOfRangeException(nameof(GradientMaskStd), GradientMaskStd, "must not be negative");
    }

    internal static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
    }
}

/// <summary>
/// Settings of one federated training job. The values both parties must share (shapes, schedule, mode, DP) are
/// compared at the job hello through <see cref="AgreementFingerprint"/>; each party's seed stays its own.
/// </summary>
public sealed record TrainingJobOptions
{
    /// <summary>The logical training job: it names the parties' job folders, checkpoints and the PSI domain.</summary>
    public required TrainingJobName Job { get; init; }
    /// <summary>Training round of this alignment; checkpoints and model files are versioned per job and round.</summary>
    public RoundNumber Round { get; init; } = RoundNumber.First;
    /// <summary>This job and round: the key of the protocol state both parties share ("{job}/r{round}").</summary>
    public TrainingRun Run => new(Job, Round);
    public TrainingModelOptions Model { get; init; } = new();
    public int Epochs { get; init; } = 40;
    /// <summary>Aligned users per step (at most the CKKS slot count, 4096 at N = 8192).</summary>
    public int BatchSize { get; init; } = 256;
    /// <summary>Checkpoint both parties every this many steps (and at the end of training); 0 = only at the end.</summary>
    public int CheckpointEverySteps { get; init; } = 50;
    /// <summary>Checkpoints kept per job and round (the newest ones).</summary>
    public int CheckpointsKept { get; init; } = 3;
    public FederationMode Mode { get; init; } = FederationMode.Encrypted;
    /// <summary>Protections explicitly switched off. PlaintextReference mode needs <see cref="InsecureAllowances.PlaintextReference"/> here.</summary>
    public InsecureAllowances Insecure { get; init; }
    /// <summary>Label DP on δ (M's side); null only with <see cref="InsecureAllowances.NoLabelNoise"/>.</summary>
    public LabelDpOptions? LabelDp { get; init; } = new() { ClipNorm = 1.0, NoiseMultiplier = 0.5 };
    public CkksSessionOptions Ckks { get; init; } = new();
    /// <summary>
    /// M: share of training rows whose own user features are hidden (as for users new to M), so the user vector learns
    /// to stand on z_E alone, as it must for cold-start users. M's private choice, but part of the agreed schedule.
    /// </summary>
    public double MusicUserFeatureDropout { get; init; } = 0.5;
    /// <summary>Rankings returned per evaluated user.</summary>
    public int RankingDepth { get; init; } = 100;
    /// <summary>
    /// M: decoy users per evaluated user in the evaluation request (docs/protocol.md §4), drawn from E's users unknown
    /// to M, so E cannot tell which of the rows it is asked for are the users M wants ranked.
    /// </summary>
    public int EvaluationDecoysPerUser { get; init; } = 1;
    /// <summary>Longest wait for the peer's next message; the error names the party that did not answer.</summary>
    public TimeSpan MessageTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>Torch intra-op threads; null = all cores.</summary>
    public int? TorchThreads { get; init; }

    /// <summary>
    /// M: the most label-DP ε (at the job's δ) the whole schedule may spend. Once the aligned rows are known M projects
    /// the schedule's ε with the ledger's own accounting and refuses to train above it; null = no cap.
    /// </summary>
    public double? MaxEpsilon { get; init; }

    /// <summary>The settings the demo and the quality figures use (tuned on the small default-like world, see README).</summary>
    public static TrainingJobOptions Demo(TrainingJobName job) => new() { Job = job };

    public void Validate()
    {
        // The typed ids validate themselves; only their default values (never constructed) remain to refuse.
        if (Job.Value is null) throw new ArgumentException("the training job name is required", nameof(Job));
        if (Round.Value < 1) throw new ArgumentOutOfRangeException(nameof(Round), Round.Value, "round must be at least 1");
        Model.Validate();
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "at least one epoch");
        if (BatchSize < 2 || BatchSize > 4096) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "batch size must be in 2..4096 (CKKS slots)");
        if (CheckpointEverySteps < 0) throw new ArgumentOutOfRangeException(nameof(CheckpointEverySteps), CheckpointEverySteps, "must not be negative");
        if (CheckpointsKept < 1) throw new ArgumentOutOfRangeException(nameof(CheckpointsKept), CheckpointsKept, "keep at least one checkpoint");
        if (!(MusicUserFeatureDropout >= 0 && MusicUserFeatureDropout <= 1))
            throw new ArgumentOutOfRangeException(nameof(MusicUserFeatureDropout), MusicUserFeatureDropout, "must be in [0, 1]");
        if (RankingDepth < 1) throw new ArgumentOutOfRangeException(nameof(RankingDepth), RankingDepth, "must be positive");
        if (EvaluationDecoysPerUser is < 0 or > 100) throw new ArgumentOutOfRangeException(nameof(EvaluationDecoysPerUser), EvaluationDecoysPerUser, "must be in 0..100");
        if (MessageTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(MessageTimeout), MessageTimeout, "must be positive");
        RequireModeAllowed();
        Ckks.Validate();
        if (MaxEpsilon is { } cap)
        {
            if (!(cap > 0) || double.IsInfinity(cap)) throw new ArgumentOutOfRangeException(nameof(MaxEpsilon), cap, "the ε cap must be a positive number");
            if (LabelDp is null) throw new ArgumentException("an ε cap needs label DP: without label noise ε is unbounded", nameof(MaxEpsilon));
        }
    }

    /// <summary>The plaintext reference refuses to run without the explicit insecure flag.</summary>
    public void RequireModeAllowed()
    {
        if (Mode == FederationMode.PlaintextReference && !Insecure.HasFlag(InsecureAllowances.PlaintextReference))
            throw new InsecureModeRefusedException(
                $"job {Job}: the plaintext reference mode sends the interactive layer's values UNENCRYPTED and refuses to run " +
                "unless Insecure includes PlaintextReference (equivalence checks and overhead measurement only)");
    }

    public bool IsInsecure => Mode == FederationMode.PlaintextReference || Insecure != InsecureAllowances.None;

    public string SecurityNotice =>
        (Mode == FederationMode.PlaintextReference ? "INSECURE: plaintext reference mode. " : "") +
        (LabelDp is null || LabelDp.NoiseMultiplier == 0 ? "INSECURE: no label DP. " : "") +
        (IsInsecure ? "" : "encrypted (CKKS) with label DP");

    /// <summary>SHA-256 over the values both parties must share; compared at the job hello.</summary>
    public string AgreementFingerprint()
    {
        var shared = new
        {
            // Plain values under their earlier names: the fingerprint is the same as before the ids were typed.
            JobId = Job.Value, Round = Round.Value, Model, Epochs, BatchSize, CheckpointEverySteps, Mode = Mode.ToString(), Insecure = Insecure.ToString(),
            LabelDp, Ckks = new { Ckks.PolyModulusDegree, Ckks.PrimeBits, Ckks.InputScaleBits, Ckks.WeightBits, Ckks.StatisticalSecurityBits, Ckks.ReleaseBudget },
            MusicUserFeatureDropout,
        };
        var json = JsonSerializer.Serialize(shared);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
    }

    internal SplitTrainingOptions ToSplitOptions(long alignedRows) => new()
    {
        JobId = Run.Key,
        BottomWidth = Model.BottomWidth,
        InteractiveWidth = Model.InteractiveWidth,
        InteractiveLearningRate = Model.InteractiveLearningRate,
        GradientMaskStd = Model.GradientMaskStd,
        LabelDp = LabelDp,
        AlignedRows = alignedRows,
        Insecure = Insecure,
    };
}

/// <summary>Thrown when a job asks for an insecure mode without the flag that acknowledges it.</summary>
public sealed class InsecureModeRefusedException(string message) : InvalidOperationException(message);

/// <summary>A job whose schedule would spend more privacy than it is allowed (an input of the job: never retried).</summary>
public sealed class PrivacyBudgetExceededException(string message) : Federated.Core.InputRejectedException(message);
