using Federated.Learning.Privacy;
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
public sealed class ExternalPartyRole : SplitPartyRole<IExternalPartyCryptoSession>
{
    private enum State { KeysNotAnnounced, AwaitingPeerKeys, Ready, AwaitingF2, AwaitingB2, AwaitingB4 }

    private readonly ExternalBottomTower _tower;
    private State _state = State.KeysNotAnnounced;
    private int _rows;
    private Tensor? _alpha;                // α with its graph, float32 [B, k]
    private DenseMatrix? _alphaValues;     // α as doubles for the crypto session
    private Tensor? _xi;                   // Ξ chosen at B3, applied at B5
    private bool _forwardOnly;             // the current exchange is inference (F1-F3 only)

    /// <param name="towerOptimiser">Any optimiser for the tower's parameters (the interactive layer is plain SGD).</param>
    /// <param name="crypto">E's crypto session; the role owns it and disposes it (wiping the secret key).</param>
    /// <param name="seed">Used only when the job allows a fixed seed: then A's init and the gradient mask Ξ are derived from it; otherwise they come from a fresh CSPRNG key.</param>
    public ExternalPartyRole(SplitTrainingOptions options, ExternalBottomTower tower,
        Func<IEnumerable<Parameter>, optim.Optimizer> towerOptimiser, IExternalPartyCryptoSession crypto, ulong seed)
        : base(Checked(options, tower, towerOptimiser, crypto), crypto, () => towerOptimiser(tower.parameters()), seed)
    {
        _tower = tower;
    }

    private static SplitTrainingOptions Checked(SplitTrainingOptions options, ExternalBottomTower tower,
        Func<IEnumerable<Parameter>, optim.Optimizer> towerOptimiser, IExternalPartyCryptoSession crypto)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(tower);
        ArgumentNullException.ThrowIfNull(towerOptimiser);
        ArgumentNullException.ThrowIfNull(crypto);
        options.Validate();
        SplitRoleChecks.RequireModeAllowed(options, crypto.Mode);
        if (tower.Options.OutputWidth != options.BottomWidth)
            throw new ArgumentException($"E's tower outputs width {tower.Options.OutputWidth}, the job's k is {options.BottomWidth}");
        return options;
    }

    private protected override string PartyName => "E";
    private protected override string PeerName => "M";
    private protected override int Rows => _rows;
    private protected override bool ForwardOnly => _forwardOnly;
    private protected override string StateName => _state.ToString();
    private protected override bool BetweenSteps => _state is State.KeysNotAnnounced or State.AwaitingPeerKeys or State.Ready;

    private protected override SplitTrainingMessage.BodyOneofCase ExpectedMessage => _state switch
    {
        State.AwaitingPeerKeys => SplitTrainingMessage.BodyOneofCase.KeyAnnouncement,
        State.AwaitingF2 => SplitTrainingMessage.BodyOneofCase.F2,
        State.AwaitingB2 => SplitTrainingMessage.BodyOneofCase.B2,
        State.AwaitingB4 => SplitTrainingMessage.BodyOneofCase.B4,
        _ => SplitTrainingMessage.BodyOneofCase.None,
    };

    private protected override string NothingExpected(string received) =>
        $"E received {received} in state {_state}, where it expects no message (call {(_state == State.KeysNotAnnounced ? "AnnounceKeys" : "BeginStep")} first)";

    private const string GradientMaskPurpose = "gradient-mask";

    // E's state file: the step and the secret randomness key of A's init and Ξ (the tower optimiser and A are the shared files).
    private protected override void WriteRoleState(string path) =>
        StateFiles.WriteJson(path, new SavedState(CompletedSteps, Secret.Export()));

    private protected override Func<ulong> ReadRoleState(string path)
    {
        var state = StateFiles.ReadJson<SavedState>(path);
        return () =>
        {
            Secret = SecretRandomness.Restore(state.Secret, path);
            return state.Step;
        };
    }

    private sealed record SavedState(ulong Step, SecretRandomness.Saved? Secret);

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
        return SplitRoleChecks.KeyAnnouncement(Options, Crypto, 0);
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
        var rotated = SplitRoleChecks.RotateIfNeeded(Options, Crypto, Crypto.ReleasesPerShare(rows, Options.InteractiveWidth), "F3", header);
        var block = Crypto.EncryptActivations(_alphaValues);
        _state = State.AwaitingF2;
        return new SplitTrainingMessage { F1 = new ForwardActivations { Header = header, Alpha = block, RotatedKeys = rotated } };
    }

    private protected override SplitTrainingMessage? OnPeerKeys()
    {
        _state = State.Ready;
        return null; // the setup ends with M's announcement
    }

    private protected override SplitTrainingMessage? OnStepMessage(SplitTrainingMessage message) => message.BodyCase switch
    {
        SplitTrainingMessage.BodyOneofCase.F2 => OnForwardMaskedProduct(message.F2),
        SplitTrainingMessage.BodyOneofCase.B2 => OnBackwardGradient(message.B2),
        _ => OnBackwardShare(message.B4),
    };

    // F3: decrypt M's masked share, add Encode(α·A) and flooding.
    private SplitTrainingMessage OnForwardMaskedProduct(ForwardMaskedProduct f2)
    {
        if (f2.RotatedKeys is not null)
        {
            if (_forwardOnly) throw new ProtocolViolationException("F2: M rotated its keys during an inference, where its key releases nothing");
            SplitRoleChecks.ImportRotatedKeys(Options, Crypto, f2.RotatedKeys, "M", f2.Header);
        }
        DenseMatrix alphaTimesA;
        using (var scope = NewDisposeScope())
            alphaTimesA = DenseMatrix.FromTensor(_alphaValues!.ToTensor().mm(WeightHalfTensor));
        var share = SplitRoleChecks.Guard("F3", () => Crypto.OpenForwardShare(f2.MaskedProduct, alphaTimesA));
        var answer = new SplitTrainingMessage { F3 = new ForwardShare { Header = NewHeader(), Share = share } };
        if (_forwardOnly)
        {
            // Inference ends at F3 for E.
            _alphaValues = null;
            CompleteInference();
            _state = State.Ready;
            return answer;
        }
        _state = State.AwaitingB2;
        return answer;
    }

    // B3: X1 = ⟦αᵀ·δ̃ + Ξ/η⟧_M and X2 = ⟦δ̃·Aᵀ⟧_M + R_G, with the pre-update A.
    private SplitTrainingMessage OnBackwardGradient(BackwardGradient b2)
    {
        _xi = Secret.Gaussian(GradientMaskPurpose, Step, [Options.BottomWidth, Options.InteractiveWidth], Options.GradientMaskStd * Options.InteractiveLearningRate)
            .DetachFromDisposeScope();
        DenseMatrix weightHalf = DenseMatrix.FromTensor(WeightHalfTensor), xiOverEta;
        using (var scope = NewDisposeScope())
            xiOverEta = DenseMatrix.FromTensor(_xi.DividedBy(Options.InteractiveLearningRate));
        var (x1, x2) = SplitRoleChecks.Guard("B3", () => Crypto.ComputeBackward(b2.Delta, _alphaValues!, weightHalf, xiOverEta));
        _state = State.AwaitingB4;
        return new SplitTrainingMessage { B3 = new BackwardProducts { Header = NewHeader(), WeightGradient = x1, MaskedInputGradient = x2 } };
    }

    // B5 (E): g = δ̃·Wᵀ, backprop into the tower, A ← A + Ξ.
    private SplitTrainingMessage? OnBackwardShare(BackwardShare b4)
    {
        var g = SplitRoleChecks.Guard("B5", () => Crypto.CloseBackwardShare(b4.Share));
        g.RequireShape(_rows, Options.BottomWidth, "B5 input gradient g");
        using (var scope = NewDisposeScope())
        {
            Optimiser.zero_grad();
            _alpha!.backward(new[] { g.ToTensor().to_type(ScalarType.Float32) });
            Optimiser.step();
            using (no_grad()) WeightHalfTensor.PlusInPlace(_xi!);
        }
        LastInputGradient = g;
        _alpha.Dispose();
        _xi!.Dispose();
        _alpha = null;
        _xi = null;
        CompleteStep(loss: null, spent: null); // E sees no loss and spends no label privacy
        _state = State.Ready;
        return null;
    }

    private protected override void DisposeOwn()
    {
        _alpha?.Dispose();
        _xi?.Dispose();
    }
}
