using Federated.Core;
using Federated.Learning.Crypto;
using Federated.Learning.Model;
using Federated.Learning.Persistence;
using Federated.Learning.Protocol.V1;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Federated.Learning.Split;

/// <summary>
/// E, the external party, in the split training of docs/protocol.md §2. It owns the bottom tower, the weight half
/// A and its crypto session; it starts each step (F1) and answers F2 with F3, B2 with B3, and finishes on B4.
/// Transport-independent: messages in, messages out.
/// </summary>
public sealed class ExternalPartyRole : IDisposable
{
    private enum State { KeysNotAnnounced, AwaitingPeerKeys, Ready, AwaitingF2, AwaitingB2, AwaitingB4 }

    private readonly SplitTrainingOptions _options;
    private readonly ExternalBottomTower _tower;
    private readonly optim.Optimizer _optimiser;
    private readonly IExternalPartyCryptoSession _crypto;
    private readonly Generator _generator;
    private readonly Tensor _weightHalf;   // A, float64 [k, d]
    private State _state = State.KeysNotAnnounced;
    private ulong _step;
    private int _rows;
    private Tensor? _alpha;                // α with its graph, float32 [B, k]
    private DenseMatrix? _alphaValues;     // α as doubles for the crypto session
    private Tensor? _xi;                   // Ξ chosen at B3, applied at B5
    private bool _forwardOnly;             // the current exchange is inference (F1-F3 only)

    /// <param name="towerOptimiser">Any optimiser for the tower's parameters (the interactive layer is plain SGD).</param>
    /// <param name="crypto">E's crypto session; the role owns it and disposes it (wiping the secret key).</param>
    /// <param name="seed">Seeds A's init and the gradient mask Ξ; E's own secret randomness.</param>
    public ExternalPartyRole(SplitTrainingOptions options, ExternalBottomTower tower,
        Func<IEnumerable<Parameter>, optim.Optimizer> towerOptimiser, IExternalPartyCryptoSession crypto, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tower);
        ArgumentNullException.ThrowIfNull(towerOptimiser);
        ArgumentNullException.ThrowIfNull(crypto);
        options.Validate();
        SplitRoleChecks.RequireModeAllowed(options, crypto.Mode);
        if (tower.Options.OutputWidth != options.BottomWidth)
            throw new ArgumentException($"E's tower outputs width {tower.Options.OutputWidth}, the job's k is {options.BottomWidth}");
        _options = options;
        _tower = tower;
        _optimiser = towerOptimiser(tower.parameters());
        _crypto = crypto;
        _generator = new Generator(seed);
        _weightHalf = randn(new long[] { options.BottomWidth, options.InteractiveWidth }, ScalarType.Float64, generator: _generator)
            .TimesInPlace(Math.Sqrt(options.InitVariance / 2)).DetachFromDisposeScope();
    }

    public CryptoMode Mode => _crypto.Mode;
    public ulong CompletedSteps { get; private set; }
    public ulong CompletedInferences { get; private set; }
    public SplitStepReport? LastReport { get; private set; }

    /// <summary>A, E's half of the interactive weight (tests only: it is E's secret).</summary>
    internal Tensor WeightHalf => _weightHalf;

    /// <summary>A copy of A, for E's own model files and its inference forward pass (it never leaves E).</summary>
    public DenseMatrix ExportWeightHalf() => DenseMatrix.FromTensor(_weightHalf);

    /// <summary>
    /// Writes what this role needs to continue after a restart into <paramref name="folder"/> (E's own storage):
    /// the tower optimiser's state, A, the random generator (Ξ draws) and the step. The tower's parameters are the
    /// caller's to save. Only between steps.
    /// </summary>
    public void SaveState(string folder)
    {
        RequireBetweenSteps("save");
        StateFiles.SaveOptimiser(_optimiser, Path.Combine(folder, "optimiser.bin"));
        StateFiles.SaveTensor(_weightHalf, Path.Combine(folder, "weight-half.bin"));
        StateFiles.WriteJson(Path.Combine(folder, "role-state.json"), new SavedState(CompletedSteps, StateFiles.GeneratorState(_generator)));
    }

    /// <summary>Restores what <see cref="SaveState"/> wrote (after the tower's parameters); training continues at its step.</summary>
    public void RestoreState(string folder)
    {
        RequireBetweenSteps("restore");
        var state = StateFiles.ReadJson<SavedState>(Path.Combine(folder, "role-state.json"));
        StateFiles.LoadOptimiser(_optimiser, Path.Combine(folder, "optimiser.bin"));
        StateFiles.LoadTensorInto(_weightHalf, Path.Combine(folder, "weight-half.bin"));
        StateFiles.RestoreGenerator(_generator, state.Generator);
        _step = state.Step;
        CompletedSteps = state.Step;
    }

    private sealed record SavedState(ulong Step, string Generator);

    private void RequireBetweenSteps(string what)
    {
        if (_state is not (State.KeysNotAnnounced or State.AwaitingPeerKeys or State.Ready))
            throw new InvalidOperationException($"E cannot {what} its state in the middle of a step (state {_state})");
    }
    /// <summary>α of the current step (tests only).</summary>
    internal DenseMatrix? LastAlpha => _alphaValues;
    /// <summary>g = δ̃·Wᵀ of the last completed step (tests only).</summary>
    internal DenseMatrix? LastInputGradient { get; private set; }
    internal ExternalBottomTower Tower => _tower;

    /// <summary>Setup, sent once before step 0: E's public HE material and the widths it trains with.</summary>
    public SplitTrainingMessage AnnounceKeys()
    {
        if (_state != State.KeysNotAnnounced) throw new ProtocolViolationException($"key announcement: E already announced its keys (state {_state})");
        _state = State.AwaitingPeerKeys;
        return SplitRoleChecks.KeyAnnouncement(_options, _crypto, 0);
    }

    /// <summary>F1: computes α for E's batch and sends ⟦α⟧_E.</summary>
    public SplitTrainingMessage BeginStep(ExternalBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_state != State.Ready)
            throw new ProtocolViolationException($"F1: cannot begin a step in state {_state} (expected Ready: keys exchanged and the previous step finished)");
        // Role state outlives any dispose scope the caller holds around one message.
        var alpha = _tower.Forward(batch).DetachFromDisposeScope();
        _alpha = alpha;
        return SendActivations(alpha, batch.Rows, forwardOnly: false);
    }

    /// <summary>
    /// Inference (docs/protocol.md §4): F1 for a batch of users (for example cold-start users), then F2 → F3 as in
    /// training; M builds the user vectors from z_E. Nothing is trained and E learns nothing about the results.
    /// </summary>
    public SplitTrainingMessage BeginInference(ExternalBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_state != State.Ready)
            throw new ProtocolViolationException($"F1: cannot begin an inference in state {_state} (expected Ready: keys exchanged and the previous step finished)");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return SendActivations(_tower.Forward(batch), batch.Rows, forwardOnly: true);
    }

    private SplitTrainingMessage SendActivations(Tensor alpha, int rows, bool forwardOnly)
    {
        _alphaValues = DenseMatrix.FromTensor(alpha);
        _rows = rows;
        _forwardOnly = forwardOnly;
        // F3 of this step releases under E's key: rotate first if the budget cannot cover it; α goes under the new key.
        var header = NewHeader();
        var rotated = SplitRoleChecks.RotateIfNeeded(_options, _crypto, _crypto.ReleasesPerShare(rows, _options.InteractiveWidth), "F3", header);
        var block = _crypto.EncryptActivations(_alphaValues);
        _state = State.AwaitingF2;
        return new SplitTrainingMessage { F1 = new ForwardActivations { Header = header, Alpha = block, RotatedKeys = rotated } };
    }

    /// <summary>Handles the next message from M; returns E's answer, or null when the message completes a step or setup.</summary>
    public SplitTrainingMessage? Handle(SplitTrainingMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var expected = _state switch
        {
            State.AwaitingPeerKeys => SplitTrainingMessage.BodyOneofCase.KeyAnnouncement,
            State.AwaitingF2 => SplitTrainingMessage.BodyOneofCase.F2,
            State.AwaitingB2 => SplitTrainingMessage.BodyOneofCase.B2,
            State.AwaitingB4 => SplitTrainingMessage.BodyOneofCase.B4,
            _ => SplitTrainingMessage.BodyOneofCase.None,
        };
        if (expected == SplitTrainingMessage.BodyOneofCase.None)
            throw new ProtocolViolationException($"E received {SplitTrainingMessages.StepName(message.BodyCase)} in state {_state}, where it expects no message (call {(_state == State.KeysNotAnnounced ? "AnnounceKeys" : "BeginStep")} first)");
        if (message.BodyCase != expected)
            throw new ProtocolViolationException($"E expected {SplitTrainingMessages.StepName(expected)} for step {_step}, received {SplitTrainingMessages.StepName(message.BodyCase)}");

        if (expected == SplitTrainingMessage.BodyOneofCase.KeyAnnouncement)
        {
            SplitTrainingMessages.CheckHeader(message, _options.JobId, _crypto.Mode, 0, null);
            SplitRoleChecks.ImportPeerKeys(_options, _crypto, message.KeyAnnouncement, "M");
            _state = State.Ready;
            return null;
        }
        SplitTrainingMessages.CheckHeader(message, _options.JobId, _crypto.Mode, _step, _rows, _forwardOnly);
        return message.BodyCase switch
        {
            SplitTrainingMessage.BodyOneofCase.F2 => OnForwardMaskedProduct(message.F2),
            SplitTrainingMessage.BodyOneofCase.B2 => OnBackwardGradient(message.B2),
            _ => OnBackwardShare(message.B4),
        };
    }

    // F3: decrypt M's masked share, add Encode(α·A) and flooding.
    private SplitTrainingMessage OnForwardMaskedProduct(ForwardMaskedProduct f2)
    {
        if (f2.RotatedKeys is not null)
        {
            if (_forwardOnly) throw new ProtocolViolationException("F2: M rotated its keys during an inference, where its key releases nothing");
            SplitRoleChecks.ImportRotatedKeys(_options, _crypto, f2.RotatedKeys, "M", f2.Header);
        }
        DenseMatrix alphaTimesA;
        using (var scope = NewDisposeScope())
            alphaTimesA = DenseMatrix.FromTensor(_alphaValues!.ToTensor().mm(_weightHalf));
        var share = SplitRoleChecks.Guard("F3", () => _crypto.OpenForwardShare(f2.MaskedProduct, alphaTimesA));
        var answer = new SplitTrainingMessage { F3 = new ForwardShare { Header = NewHeader(), Share = share } };
        if (_forwardOnly)
        {
            // Inference ends at F3 for E.
            _alphaValues = null;
            CompletedInferences++;
            _step++;
            _state = State.Ready;
            return answer;
        }
        _state = State.AwaitingB2;
        return answer;
    }

    // B3: X1 = ⟦αᵀ·δ̃ + Ξ/η⟧_M and X2 = ⟦δ̃·Aᵀ⟧_M + R_G, with the pre-update A.
    private SplitTrainingMessage OnBackwardGradient(BackwardGradient b2)
    {
        _xi = randn(new long[] { _options.BottomWidth, _options.InteractiveWidth }, ScalarType.Float64, generator: _generator)
            .TimesInPlace(_options.GradientMaskStd * _options.InteractiveLearningRate).DetachFromDisposeScope();
        DenseMatrix weightHalf = DenseMatrix.FromTensor(_weightHalf), xiOverEta;
        using (var scope = NewDisposeScope())
            xiOverEta = DenseMatrix.FromTensor(_xi.DividedBy(_options.InteractiveLearningRate));
        var (x1, x2) = SplitRoleChecks.Guard("B3", () => _crypto.ComputeBackward(b2.Delta, _alphaValues!, weightHalf, xiOverEta));
        _state = State.AwaitingB4;
        return new SplitTrainingMessage { B3 = new BackwardProducts { Header = NewHeader(), WeightGradient = x1, MaskedInputGradient = x2 } };
    }

    // B5 (E): g = δ̃·Wᵀ, backprop into the tower, A ← A + Ξ.
    private SplitTrainingMessage? OnBackwardShare(BackwardShare b4)
    {
        var g = SplitRoleChecks.Guard("B5", () => _crypto.CloseBackwardShare(b4.Share));
        g.RequireShape(_rows, _options.BottomWidth, "B5 input gradient g");
        using (var scope = NewDisposeScope())
        {
            _optimiser.zero_grad();
            _alpha!.backward(new[] { g.ToTensor().to_type(ScalarType.Float32) });
            _optimiser.step();
            using (no_grad()) _weightHalf.PlusInPlace(_xi!);
        }
        LastInputGradient = g;
        _alpha.Dispose();
        _xi!.Dispose();
        _alpha = null;
        _xi = null;
        CompletedSteps++;
        LastReport = new SplitStepReport(_options.JobId, "E", _step, _rows, _crypto.Mode, _options.Insecure,
            Loss: null, Epsilon: null, Delta: null, _crypto.ReleasesUsed, _crypto.ReleaseBudget, _crypto.KeyRotations);
        _step++;
        _state = State.Ready;
        return null;
    }

    private StepHeader NewHeader() => SplitTrainingMessages.NewHeader(_options.JobId, _crypto.Mode, _step, _rows, _forwardOnly);

    public void Dispose()
    {
        _alpha?.Dispose();
        _xi?.Dispose();
        _weightHalf.Dispose();
        _generator.Dispose();
        _optimiser.Dispose();
        _crypto.Dispose(); // the role owns its session: this wipes the party's secret key
    }
}
