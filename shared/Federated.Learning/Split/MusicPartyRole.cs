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
public sealed class MusicPartyRole : SplitPartyRole<IMusicPartyCryptoSession>
{
    private enum State { AwaitingPeerKeys, Ready, Prepared, AwaitingF3, AwaitingB3 }

    private readonly MusicTopModel _top;
    private readonly SongCatalog _catalog;
    private readonly Generator _negativeSampler;
    private readonly LabelDpMechanism _labelDp;
    private State _state = State.AwaitingPeerKeys;
    private MusicBatch? _batch;
    private Tensor? _deltaTilde;           // δ̃, float64 [B, d]
    private double _loss;
    private bool _forwardOnly;             // the current exchange is inference (F1-F3 only)

    /// <param name="topOptimiser">Any optimiser for the top model's parameters (the interactive layer is plain SGD).</param>
    /// <param name="crypto">M's crypto session; the role owns it and disposes it (wiping the secret key).</param>
    /// <param name="seed">Seeds the sampled negatives; W_M's init and the label-DP noise come from M's secret randomness (from this seed only when the job allows a fixed seed).</param>
    public MusicPartyRole(SplitTrainingOptions options, MusicTopModel top, SongCatalog catalog,
        Func<IEnumerable<Parameter>, optim.Optimizer> topOptimiser, IMusicPartyCryptoSession crypto, ulong seed)
        : base(Checked(options, top, catalog, topOptimiser, crypto), crypto, () => topOptimiser(top.parameters()), seed)
    {
        _top = top;
        _catalog = catalog;
        _negativeSampler = new Generator(NegativeSamplerSeed(seed));
        _labelDp = new LabelDpMechanism(options.LabelDp, options.AlignedRows, Secret);
    }

    private static SplitTrainingOptions Checked(SplitTrainingOptions options, MusicTopModel top, SongCatalog catalog,
        Func<IEnumerable<Parameter>, optim.Optimizer> topOptimiser, IMusicPartyCryptoSession crypto)
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
        return options;
    }

    /// <summary>The seed of M's negative sampler derived from the role's seed (so a centralised reference can draw the same negatives).</summary>
    internal static ulong NegativeSamplerSeed(ulong seed) => seed ^ 0x5DEECE66DUL;

    /// <summary>L2-normalised user vectors [B, d] of the last inference (M's own result, for its ANN index).</summary>
    public Tensor? LastUserVectors { get; private set; }

    /// <summary>ε spent so far at the job's δ (null when label DP is off), also after a restore.</summary>
    public PrivacySpent? PrivacySpent => _labelDp.Spent();

    private protected override string PartyName => "M";
    private protected override string PeerName => "E";
    private protected override int Rows => _batch!.Rows;
    private protected override bool ForwardOnly => _forwardOnly;
    private protected override string StateName => _state.ToString();
    private protected override bool BetweenSteps => _state is State.AwaitingPeerKeys or State.Ready;

    private protected override SplitTrainingMessage.BodyOneofCase ExpectedMessage => _state switch
    {
        State.AwaitingPeerKeys => SplitTrainingMessage.BodyOneofCase.KeyAnnouncement,
        State.Prepared => SplitTrainingMessage.BodyOneofCase.F1,
        State.AwaitingF3 => SplitTrainingMessage.BodyOneofCase.F3,
        State.AwaitingB3 => SplitTrainingMessage.BodyOneofCase.B3,
        _ => SplitTrainingMessage.BodyOneofCase.None,
    };

    private protected override string NothingExpected(string received) =>
        $"M received {received} for no prepared step (state {_state}; call PrepareStep with M's batch first)";

    // M's state file: the step, the secret randomness key (W_M's init, the label-DP noise), the negative sampler and
    // the label-DP ledger; the top model's parameters and its seen-songs list are the caller's to save.
    private protected override void WriteRoleState(string path) =>
        StateFiles.WriteJson(path, new SavedState(CompletedSteps,
            Secret.Export(), StateFiles.GeneratorState(_negativeSampler), _labelDp.ExportLedger()));

    private protected override Func<ulong> ReadRoleState(string path)
    {
        var state = StateFiles.ReadJson<SavedState>(path);
        return () =>
        {
            Secret = SecretRandomness.Restore(state.Secret, path);
            StateFiles.RestoreGenerator(_negativeSampler, state.NegativeSampler);
            _labelDp.RestoreLedger(state.LabelDp, Secret);
            return state.Step;
        };
    }

    private sealed record SavedState(ulong Step, SecretRandomness.Saved? Secret, string NegativeSampler, LabelDpMechanism.Ledger LabelDp);

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

    private protected override SplitTrainingMessage? OnPeerKeys()
    {
        _state = State.Ready;
        return SplitRoleChecks.KeyAnnouncement(Options, Crypto, 0); // M answers E's announcement with its own
    }

    private protected override SplitTrainingMessage? OnStepMessage(SplitTrainingMessage message) => message.BodyCase switch
    {
        SplitTrainingMessage.BodyOneofCase.F1 => OnForwardActivations(message.F1),
        SplitTrainingMessage.BodyOneofCase.F3 => OnForwardShare(message.F3),
        _ => OnBackwardProducts(message.B3),
    };

    // F2: re-randomised ⟦α·W_M⟧_E + R_F.
    private SplitTrainingMessage OnForwardActivations(ForwardActivations f1)
    {
        var alpha = f1.Alpha ?? throw new ProtocolViolationException("F1: the α block is missing");
        if (alpha.Rows != _batch!.Rows || alpha.Cols != Options.BottomWidth)
            throw new ProtocolViolationException($"F1: expected α of {_batch.Rows} x {Options.BottomWidth} (batch rows x k), got {alpha.Rows} x {alpha.Cols}");
        if (f1.RotatedKeys is not null) SplitRoleChecks.ImportRotatedKeys(Options, Crypto, f1.RotatedKeys, "E", f1.Header);
        var weightHalf = DenseMatrix.FromTensor(WeightHalfTensor);
        var product = SplitRoleChecks.Guard("F2", () => Crypto.ComputeForward(alpha, weightHalf));
        // B4 of this step releases under M's key: rotate now if needed, so B2 and X1/X2 use the new key.
        var header = NewHeader();
        var rotated = _forwardOnly ? null
            : SplitRoleChecks.RotateIfNeeded(Options, Crypto, Crypto.ReleasesPerShare(_batch.Rows, Options.BottomWidth), "B4", header);
        _state = State.AwaitingF3;
        return new SplitTrainingMessage { F2 = new ForwardMaskedProduct { Header = header, MaskedProduct = product, RotatedKeys = rotated } };
    }

    // F4 + B1 + B2: z_E, loss, δ, towers updated, δ̃ = label DP(δ), ⟦δ̃⟧_M.
    private SplitTrainingMessage? OnForwardShare(ForwardShare f3)
    {
        var zE = SplitRoleChecks.Guard("F4", () => Crypto.CloseForwardShare(f3.Share));
        zE.RequireShape(_batch!.Rows, Options.InteractiveWidth, "F4 z_E");
        if (_forwardOnly)
        {
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                LastUserVectors?.Dispose();
                LastUserVectors = _top.UserVectors(zE.ToTensor().to_type(ScalarType.Float32), _batch).DetachFromDisposeScope();
            }
            _batch = null;
            CompleteInference();
            _state = State.Ready;
            return null;
        }
        using (var scope = NewDisposeScope())
        {
            var z = zE.ToTensor().to_type(ScalarType.Float32).requires_grad_();
            Optimiser.zero_grad();
            var loss = _top.Loss(z, _batch, _catalog, _negativeSampler);
            loss.backward();
            Optimiser.step();
            _loss = loss.item<float>();
            _deltaTilde = _labelDp.Apply(z.grad!).DetachFromDisposeScope();
        }
        LastInteractiveOutput = zE;
        LastDeltaTilde = DenseMatrix.FromTensor(_deltaTilde);
        var block = Crypto.EncryptGradient(LastDeltaTilde);
        _state = State.AwaitingB3;
        return new SplitTrainingMessage { B2 = new BackwardGradient { Header = NewHeader(), Delta = block } };
    }

    // B4 + B5 (M): release X2's share + Encode(δ̃·W_Mᵀ) with the pre-update W_M, then W_M ← W_M − η·Dec(X1).
    private SplitTrainingMessage OnBackwardProducts(BackwardProducts b3)
    {
        var x1 = b3.WeightGradient ?? throw new ProtocolViolationException("B3: the weight-gradient block X1 is missing");
        if (x1.Rows != Options.BottomWidth || x1.Cols != Options.InteractiveWidth)
            throw new ProtocolViolationException($"B3: expected X1 of {Options.BottomWidth} x {Options.InteractiveWidth} (k x d), got {x1.Rows} x {x1.Cols}");
        var maskedGradient = SplitRoleChecks.Guard("B5", () => Crypto.DecryptWeightGradient(x1));
        maskedGradient.RequireShape(Options.BottomWidth, Options.InteractiveWidth, "B5 Dec(X1)");
        DenseMatrix ownProduct;
        using (var scope = NewDisposeScope())
            ownProduct = DenseMatrix.FromTensor(_deltaTilde!.mm(WeightHalfTensor.t()));
        var share = SplitRoleChecks.Guard("B4", () => Crypto.OpenBackwardShare(b3.MaskedInputGradient, ownProduct));
        using (var scope = NewDisposeScope())
            UpdateRule.Apply(WeightHalfTensor, maskedGradient.ToTensor(), Options.InteractiveLearningRate);
        LastMaskedWeightGradient = maskedGradient;

        var answer = new SplitTrainingMessage { B4 = new BackwardShare { Header = NewHeader(), Share = share } };
        CompleteStep(_loss, _labelDp.Spent());
        _deltaTilde!.Dispose();
        _deltaTilde = null;
        _batch = null;
        _state = State.Ready;
        return answer;
    }

    private protected override void DisposeOwn()
    {
        LastUserVectors?.Dispose();
        _deltaTilde?.Dispose();
        _negativeSampler.Dispose();
    }
}
