using Federated.Core;
using Federated.Learning.Crypto;
using Federated.Learning.Model;
using Federated.Learning.Persistence;
using Federated.Learning.Privacy;
using Federated.Learning.Protocol.V1;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Federated.Learning.Split;

/// <summary>
/// M, the music party, in the split training of docs/protocol.md §2. It owns the labels, the top model (user part,
/// item tower, loss), the weight half W_M and its crypto session. Per step: <see cref="PrepareStep"/> with M's batch,
/// then F1 → F2, F3 → B2 (loss, towers updated, label DP on δ), B3 → B4 (W_M updated by plain SGD).
/// </summary>
public sealed class MusicPartyRole : IDisposable
{
    private enum State { AwaitingPeerKeys, Ready, Prepared, AwaitingF3, AwaitingB3 }

    private readonly SplitTrainingOptions _options;
    private readonly MusicTopModel _top;
    private readonly SongCatalog _catalog;
    private readonly optim.Optimizer _optimiser;
    private readonly IMusicPartyCryptoSession _crypto;
    private readonly Generator _generator;
    private readonly Generator _negativeSampler;
    private readonly LabelDpMechanism _labelDp;
    private readonly Tensor _weightHalf;   // W_M, float64 [k, d]
    private State _state = State.AwaitingPeerKeys;
    private ulong _step;
    private MusicBatch? _batch;
    private Tensor? _deltaTilde;           // δ̃, float64 [B, d]
    private double _loss;
    private bool _forwardOnly;             // the current exchange is inference (F1-F3 only)

    /// <param name="topOptimiser">Any optimiser for the top model's parameters (the interactive layer is plain SGD).</param>
    /// <param name="crypto">M's crypto session; the role owns it and disposes it (wiping the secret key).</param>
    /// <param name="seed">Seeds W_M's init, the label-DP noise and the sampled negatives; M's own secret randomness.</param>
    public MusicPartyRole(SplitTrainingOptions options, MusicTopModel top, SongCatalog catalog,
        Func<IEnumerable<Parameter>, optim.Optimizer> topOptimiser, IMusicPartyCryptoSession crypto, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(top);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(topOptimiser);
        ArgumentNullException.ThrowIfNull(crypto);
        options.Validate();
        SplitRoleChecks.RequireModeAllowed(options, crypto.Mode);
        if (top.Options.InteractiveWidth != options.InteractiveWidth)
            throw new ArgumentException($"M's top model takes z_E of width {top.Options.InteractiveWidth}, the job's d is {options.InteractiveWidth}");
        if (catalog.Options.SongCount != top.Options.Items.SongCount)
            throw new ArgumentException($"the song catalog holds {catalog.Options.SongCount} songs, the item tower {top.Options.Items.SongCount}");
        _options = options;
        _top = top;
        _catalog = catalog;
        _optimiser = topOptimiser(top.parameters());
        _crypto = crypto;
        _generator = new Generator(seed);
        _negativeSampler = new Generator(NegativeSamplerSeed(seed));
        _labelDp = new LabelDpMechanism(options.LabelDp, options.AlignedRows, seed ^ 0x9E3779B97F4A7C15UL);
        _weightHalf = randn(new long[] { options.BottomWidth, options.InteractiveWidth }, ScalarType.Float64, generator: _generator)
            .TimesInPlace(Math.Sqrt(options.InitVariance / 2)).DetachFromDisposeScope();
    }

    public CryptoMode Mode => _crypto.Mode;

    /// <summary>The seed of M's negative sampler derived from the role's seed (so a centralised reference can draw the same negatives).</summary>
    internal static ulong NegativeSamplerSeed(ulong seed) => seed ^ 0x5DEECE66DUL;
    public ulong CompletedSteps { get; private set; }
    public ulong CompletedInferences { get; private set; }

    /// <summary>L2-normalised user vectors [B, d] of the last inference (M's own result, for its ANN index).</summary>
    public Tensor? LastUserVectors { get; private set; }
    public SplitStepReport? LastReport { get; private set; }

    /// <summary>W_M, M's half of the interactive weight (tests only: it is M's secret).</summary>
    internal Tensor WeightHalf => _weightHalf;

    /// <summary>A copy of W_M, for M's own model files and its inference forward pass (it never leaves M).</summary>
    public DenseMatrix ExportWeightHalf() => DenseMatrix.FromTensor(_weightHalf);

    /// <summary>ε spent so far at the job's δ (null when label DP is off), also after a restore.</summary>
    public PrivacySpent? PrivacySpent => _labelDp.Spent();

    /// <summary>
    /// Writes what this role needs to continue after a restart into <paramref name="folder"/> (M's own storage): the
    /// top model optimiser's state, W_M, the random generators (init, negatives, label-DP noise), the label-DP ledger
    /// and the step. The top model's parameters and its seen-songs list are the caller's to save. Only between steps.
    /// </summary>
    public void SaveState(string folder)
    {
        RequireBetweenSteps("save");
        StateFiles.SaveOptimiser(_optimiser, Path.Combine(folder, "optimiser.bin"));
        StateFiles.SaveTensor(_weightHalf, Path.Combine(folder, "weight-half.bin"));
        StateFiles.WriteJson(Path.Combine(folder, "role-state.json"), new SavedState(CompletedSteps,
            StateFiles.GeneratorState(_generator), StateFiles.GeneratorState(_negativeSampler), _labelDp.ExportLedger()));
    }

    /// <summary>Restores what <see cref="SaveState"/> wrote (after the top model); training continues at its step.</summary>
    public void RestoreState(string folder)
    {
        RequireBetweenSteps("restore");
        var state = StateFiles.ReadJson<SavedState>(Path.Combine(folder, "role-state.json"));
        StateFiles.LoadOptimiser(_optimiser, Path.Combine(folder, "optimiser.bin"));
        StateFiles.LoadTensorInto(_weightHalf, Path.Combine(folder, "weight-half.bin"));
        StateFiles.RestoreGenerator(_generator, state.Generator);
        StateFiles.RestoreGenerator(_negativeSampler, state.NegativeSampler);
        _labelDp.RestoreLedger(state.LabelDp);
        _step = state.Step;
        CompletedSteps = state.Step;
    }

    private sealed record SavedState(ulong Step, string Generator, string NegativeSampler, LabelDpMechanism.Ledger LabelDp);

    private void RequireBetweenSteps(string what)
    {
        if (_state is not (State.AwaitingPeerKeys or State.Ready))
            throw new InvalidOperationException($"M cannot {what} its state in the middle of a step (state {_state})");
    }
    /// <summary>z_E of the last step (tests only).</summary>
    internal DenseMatrix? LastInteractiveOutput { get; private set; }
    /// <summary>δ̃ of the last step (tests only).</summary>
    internal DenseMatrix? LastDeltaTilde { get; private set; }
    /// <summary>Dec(X1) = αᵀ·δ̃ + Ξ/η of the last step, M's masked view of ∇W (tests only).</summary>
    internal DenseMatrix? LastMaskedWeightGradient { get; private set; }
    internal IInteractiveLayerUpdateRule UpdateRule { get; set; } = PlainSgdUpdateRule.Instance;
    internal MusicTopModel Top => _top;

    /// <summary>Gives M's side of the next batch; F1 for it may then arrive.</summary>
    public void PrepareStep(MusicBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_state != State.Ready)
            throw new ProtocolViolationException($"M cannot prepare a step in state {_state} (expected Ready: keys exchanged and the previous step finished)");
        batch.Validate(_top.Options);
        _batch = batch;
        _forwardOnly = false;
        _state = State.Prepared;
    }

    /// <summary>
    /// Prepares an inference for <paramref name="rows"/> users: M's own user features where it has them (null when M
    /// has no user part). E's F1 for the same users may then arrive; F3 completes it with <see cref="LastUserVectors"/>.
    /// </summary>
    public void PrepareInference(int rows, long[]? userCategorical = null, bool[]? userKnown = null)
    {
        if (_state != State.Ready)
            throw new ProtocolViolationException($"M cannot prepare an inference in state {_state} (expected Ready: keys exchanged and the previous step finished)");
        if (rows <= 0) throw new ArgumentOutOfRangeException(nameof(rows), rows, "an inference needs at least one row");
        // Song ids are not used by inference; song 0 keeps the batch valid.
        var batch = new MusicBatch(rows, new long[rows], userCategorical, userKnown);
        batch.Validate(_top.Options);
        _batch = batch;
        _forwardOnly = true;
        _state = State.Prepared;
    }

    /// <summary>Handles the next message from E and returns M's answer (key announcement, F2, B2 or B4), or null when F3 completes an inference.</summary>
    public SplitTrainingMessage? Handle(SplitTrainingMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var expected = _state switch
        {
            State.AwaitingPeerKeys => SplitTrainingMessage.BodyOneofCase.KeyAnnouncement,
            State.Prepared => SplitTrainingMessage.BodyOneofCase.F1,
            State.AwaitingF3 => SplitTrainingMessage.BodyOneofCase.F3,
            State.AwaitingB3 => SplitTrainingMessage.BodyOneofCase.B3,
            _ => SplitTrainingMessage.BodyOneofCase.None,
        };
        if (expected == SplitTrainingMessage.BodyOneofCase.None)
            throw new ProtocolViolationException($"M received {SplitTrainingMessages.StepName(message.BodyCase)} for no prepared step (state {_state}; call PrepareStep with M's batch first)");
        if (message.BodyCase != expected)
            throw new ProtocolViolationException($"M expected {SplitTrainingMessages.StepName(expected)} for step {_step}, received {SplitTrainingMessages.StepName(message.BodyCase)}");

        if (expected == SplitTrainingMessage.BodyOneofCase.KeyAnnouncement)
        {
            SplitTrainingMessages.CheckHeader(message, _options.JobId, _crypto.Mode, 0, null);
            SplitRoleChecks.ImportPeerKeys(_options, _crypto, message.KeyAnnouncement, "E");
            _state = State.Ready;
            return SplitRoleChecks.KeyAnnouncement(_options, _crypto, 0);
        }
        SplitTrainingMessages.CheckHeader(message, _options.JobId, _crypto.Mode, _step, _batch!.Rows, _forwardOnly);
        return message.BodyCase switch
        {
            SplitTrainingMessage.BodyOneofCase.F1 => OnForwardActivations(message.F1),
            SplitTrainingMessage.BodyOneofCase.F3 => OnForwardShare(message.F3),
            _ => OnBackwardProducts(message.B3),
        };
    }

    // F2: re-randomised ⟦α·W_M⟧_E + R_F.
    private SplitTrainingMessage OnForwardActivations(ForwardActivations f1)
    {
        var alpha = f1.Alpha ?? throw new ProtocolViolationException("F1: the α block is missing");
        if (alpha.Rows != _batch!.Rows || alpha.Cols != _options.BottomWidth)
            throw new ProtocolViolationException($"F1: expected α of {_batch.Rows} x {_options.BottomWidth} (batch rows x k), got {alpha.Rows} x {alpha.Cols}");
        if (f1.RotatedKeys is not null) SplitRoleChecks.ImportRotatedKeys(_options, _crypto, f1.RotatedKeys, "E", f1.Header);
        var weightHalf = DenseMatrix.FromTensor(_weightHalf);
        var product = SplitRoleChecks.Guard("F2", () => _crypto.ComputeForward(alpha, weightHalf));
        // B4 of this step releases under M's key: rotate now if needed, so B2 and X1/X2 use the new key.
        var header = NewHeader();
        var rotated = _forwardOnly ? null
            : SplitRoleChecks.RotateIfNeeded(_options, _crypto, _crypto.ReleasesPerShare(_batch.Rows, _options.BottomWidth), "B4", header);
        _state = State.AwaitingF3;
        return new SplitTrainingMessage { F2 = new ForwardMaskedProduct { Header = header, MaskedProduct = product, RotatedKeys = rotated } };
    }

    // F4 + B1 + B2: z_E, loss, δ, towers updated, δ̃ = label DP(δ), ⟦δ̃⟧_M.
    private SplitTrainingMessage? OnForwardShare(ForwardShare f3)
    {
        var zE = SplitRoleChecks.Guard("F4", () => _crypto.CloseForwardShare(f3.Share));
        zE.RequireShape(_batch!.Rows, _options.InteractiveWidth, "F4 z_E");
        if (_forwardOnly)
        {
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                LastUserVectors?.Dispose();
                LastUserVectors = _top.UserVectors(zE.ToTensor().to_type(ScalarType.Float32), _batch).DetachFromDisposeScope();
            }
            _batch = null;
            CompletedInferences++;
            _step++;
            _state = State.Ready;
            return null;
        }
        using (var scope = NewDisposeScope())
        {
            var z = zE.ToTensor().to_type(ScalarType.Float32).requires_grad_();
            _optimiser.zero_grad();
            var loss = _top.Loss(z, _batch, _catalog, _negativeSampler);
            loss.backward();
            _optimiser.step();
            _loss = loss.item<float>();
            _deltaTilde = _labelDp.Apply(z.grad!).DetachFromDisposeScope();
        }
        LastInteractiveOutput = zE;
        LastDeltaTilde = DenseMatrix.FromTensor(_deltaTilde);
        var block = _crypto.EncryptGradient(LastDeltaTilde);
        _state = State.AwaitingB3;
        return new SplitTrainingMessage { B2 = new BackwardGradient { Header = NewHeader(), Delta = block } };
    }

    // B4 + B5 (M): release X2's share + Encode(δ̃·W_Mᵀ) with the pre-update W_M, then W_M ← W_M − η·Dec(X1).
    private SplitTrainingMessage OnBackwardProducts(BackwardProducts b3)
    {
        var x1 = b3.WeightGradient ?? throw new ProtocolViolationException("B3: the weight-gradient block X1 is missing");
        if (x1.Rows != _options.BottomWidth || x1.Cols != _options.InteractiveWidth)
            throw new ProtocolViolationException($"B3: expected X1 of {_options.BottomWidth} x {_options.InteractiveWidth} (k x d), got {x1.Rows} x {x1.Cols}");
        var maskedGradient = SplitRoleChecks.Guard("B5", () => _crypto.DecryptWeightGradient(x1));
        maskedGradient.RequireShape(_options.BottomWidth, _options.InteractiveWidth, "B5 Dec(X1)");
        DenseMatrix ownProduct;
        using (var scope = NewDisposeScope())
            ownProduct = DenseMatrix.FromTensor(_deltaTilde!.mm(_weightHalf.t()));
        var share = SplitRoleChecks.Guard("B4", () => _crypto.OpenBackwardShare(b3.MaskedInputGradient, ownProduct));
        using (var scope = NewDisposeScope())
            UpdateRule.Apply(_weightHalf, maskedGradient.ToTensor(), _options.InteractiveLearningRate);
        LastMaskedWeightGradient = maskedGradient;

        var answer = new SplitTrainingMessage { B4 = new BackwardShare { Header = NewHeader(), Share = share } };
        var spent = _labelDp.Spent();
        LastReport = new SplitStepReport(_options.JobId, "M", _step, _batch!.Rows, _crypto.Mode, _options.Insecure,
            _loss, spent?.Epsilon, spent?.Delta, _crypto.ReleasesUsed, _crypto.ReleaseBudget, _crypto.KeyRotations);
        _deltaTilde!.Dispose();
        _deltaTilde = null;
        _batch = null;
        CompletedSteps++;
        _step++;
        _state = State.Ready;
        return answer;
    }

    private StepHeader NewHeader() => SplitTrainingMessages.NewHeader(_options.JobId, _crypto.Mode, _step, _batch!.Rows, _forwardOnly);

    public void Dispose()
    {
        LastUserVectors?.Dispose();
        _deltaTilde?.Dispose();
        _weightHalf.Dispose();
        _generator.Dispose();
        _negativeSampler.Dispose();
        _labelDp.Dispose();
        _optimiser.Dispose();
        _crypto.Dispose(); // the role owns its session: this wipes the party's secret key
    }
}
