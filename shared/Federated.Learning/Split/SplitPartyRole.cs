using Federated.Core;
using Federated.Learning.Crypto;
using Federated.Learning.Persistence;
using Federated.Learning.Privacy;
using Federated.Learning.Protocol.V1;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Federated.Learning.Split;

/// <summary>
/// What E's and M's roles share: the job's options, the party's crypto session (owned, disposed with the role), its
/// half of the interactive weight with the generator that drew it, the optimiser of its own model, the step counter,
/// the saved state common to both, and the dispatch of each message from the peer to the handler the role's state
/// expects. The steps themselves are each role's own (<see cref="ExternalPartyRole"/>, <see cref="MusicPartyRole"/>).
/// </summary>
public abstract class SplitPartyRole<TSession> : IDisposable where TSession : IInteractiveLayerCryptoSession
{
    private protected SplitPartyRole(SplitTrainingOptions options, TSession crypto, Func<optim.Optimizer> optimiser, ulong seed)
    {
        Options = options;
        Optimiser = optimiser();
        Crypto = crypto;
        Secret = options.Insecure.HasFlag(InsecureAllowances.FixedSeed) ? SecretRandomness.FromFixedSeed(seed) : SecretRandomness.Fresh();
        WeightHalfTensor = Secret.Gaussian(WeightHalfPurpose, 0, [options.BottomWidth, options.InteractiveWidth], Math.Sqrt(options.InitVariance / 2))
            .DetachFromDisposeScope();
    }

    private protected SplitTrainingOptions Options { get; }
    private protected optim.Optimizer Optimiser { get; }
    private protected TSession Crypto { get; }
    private const string WeightHalfPurpose = "weight-half-init";

    /// <summary>
    /// Draws the weight half's init and whatever else the role keeps secret (M's label-DP noise, E's Ξ): a key from the
    /// OS CSPRNG, or one derived from the seed when the job allows <see cref="InsecureAllowances.FixedSeed"/>.
    /// Restored from the role's checkpoint on resume.
    /// </summary>
    private protected SecretRandomness Secret { get; set; }
    /// <summary>This party's half of W, float64 [k, d]; it never leaves the party.</summary>
    private protected Tensor WeightHalfTensor { get; }
    /// <summary>The step (or inference) the next message belongs to.</summary>
    private protected ulong Step { get; set; }

    /// <summary>"E" or "M", in errors and reports.</summary>
    private protected abstract string PartyName { get; }
    /// <summary>The party whose keys the announcement carries ("M" for E, "E" for M).</summary>
    private protected abstract string PeerName { get; }
    /// <summary>The message the role's state expects next, <c>None</c> when it expects none.</summary>
    private protected abstract SplitTrainingMessage.BodyOneofCase ExpectedMessage { get; }
    /// <summary>Rows of the current exchange, checked against every header.</summary>
    private protected abstract int Rows { get; }
    /// <summary>Whether the current exchange is an inference (F1-F3 only).</summary>
    private protected abstract bool ForwardOnly { get; }
    /// <summary>Whether the role is between steps, where its state may be saved or restored.</summary>
    private protected abstract bool BetweenSteps { get; }
    /// <summary>The error for a message arriving where the role expects none.</summary>
    private protected abstract string NothingExpected(string received);
    /// <summary>The peer's keys were imported; returns the role's answer (or null) and moves it on.</summary>
    private protected abstract SplitTrainingMessage? OnPeerKeys();
    /// <summary>One step message of the expected kind, its header checked; returns the role's answer or null.</summary>
    private protected abstract SplitTrainingMessage? OnStepMessage(SplitTrainingMessage message);
    /// <summary>Writes the role's own state file (its step, generators and whatever else it keeps).</summary>
    private protected abstract void WriteRoleState(string path);
    /// <summary>Reads the role's own state file; the returned action applies it and gives the saved step.</summary>
    private protected abstract Func<ulong> ReadRoleState(string path);
    /// <summary>Disposes what only this role holds; the shared parts follow.</summary>
    private protected abstract void DisposeOwn();

    public CryptoMode Mode => Crypto.Mode;
    public ulong CompletedSteps { get; private protected set; }
    public ulong CompletedInferences { get; private protected set; }
    public SplitStepReport? LastReport { get; private protected set; }

    /// <summary>This party's weight half (tests only: it is the party's secret).</summary>
    internal Tensor WeightHalf => WeightHalfTensor;

    /// <summary>A copy of the weight half, for the party's own model files and its inference forward pass (it never leaves the party).</summary>
    public DenseMatrix ExportWeightHalf() => DenseMatrix.FromTensor(WeightHalfTensor);

    /// <summary>Handles the next message from the peer and returns this role's answer, or null when none is due.</summary>
    public SplitTrainingMessage? Handle(SplitTrainingMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var expected = ExpectedMessage;
        if (expected == SplitTrainingMessage.BodyOneofCase.None)
            throw new ProtocolViolationException(NothingExpected(SplitTrainingMessages.StepName(message.BodyCase)));
        if (message.BodyCase != expected)
            throw new ProtocolViolationException($"{PartyName} expected {SplitTrainingMessages.StepName(expected)} for step {Step}, received {SplitTrainingMessages.StepName(message.BodyCase)}");
        if (expected == SplitTrainingMessage.BodyOneofCase.KeyAnnouncement)
        {
            SplitTrainingMessages.CheckHeader(message, Options.JobId, Crypto.Mode, 0, null);
            SplitRoleChecks.ImportPeerKeys(Options, Crypto, message.KeyAnnouncement, PeerName);
            return OnPeerKeys();
        }
        SplitTrainingMessages.CheckHeader(message, Options.JobId, Crypto.Mode, Step, Rows, ForwardOnly);
        return OnStepMessage(message);
    }

    /// <summary>
    /// Writes what this role needs to continue after a restart into <paramref name="folder"/> (the party's own
    /// storage): its optimiser's state, its weight half and its own state file (step, generators, ...). The model's
    /// parameters are the caller's to save. Only between steps.
    /// </summary>
    public void SaveState(string folder)
    {
        RequireBetweenSteps("save");
        StateFiles.SaveOptimiser(Optimiser, Path.Combine(folder, "optimiser.bin"));
        StateFiles.SaveTensor(WeightHalfTensor, Path.Combine(folder, "weight-half.bin"));
        WriteRoleState(Path.Combine(folder, "role-state.json"));
    }

    /// <summary>Restores what <see cref="SaveState"/> wrote (after the model's parameters); training continues at its step.</summary>
    public void RestoreState(string folder)
    {
        RequireBetweenSteps("restore");
        var apply = ReadRoleState(Path.Combine(folder, "role-state.json"));
        StateFiles.LoadOptimiser(Optimiser, Path.Combine(folder, "optimiser.bin"));
        StateFiles.LoadTensorInto(WeightHalfTensor, Path.Combine(folder, "weight-half.bin"));
        var step = apply();
        Step = step;
        CompletedSteps = step;
    }

    private protected abstract string StateName { get; }

    private void RequireBetweenSteps(string what)
    {
        if (!BetweenSteps)
            throw new InvalidOperationException($"{PartyName} cannot {what} its state in the middle of a step (state {StateName})");
    }

    /// <summary>Ends a training step: its report (before the counters move on), then the next step.</summary>
    private protected void CompleteStep(double? loss, PrivacySpent? spent)
    {
        LastReport = new SplitStepReport(Options.JobId, PartyName, Step, Rows, Crypto.Mode, Options.Insecure,
            loss, spent?.Epsilon, spent?.Delta, Crypto.ReleasesUsed, Crypto.ReleaseBudget, Crypto.KeyRotations);
        CompletedSteps++;
        Step++;
    }

    /// <summary>Ends an inference; the next exchange has the next step number.</summary>
    private protected void CompleteInference()
    {
        CompletedInferences++;
        Step++;
    }

    private protected StepHeader NewHeader() => SplitTrainingMessages.NewHeader(Options.JobId, Crypto.Mode, Step, Rows, ForwardOnly);

    public void Dispose()
    {
        DisposeOwn();
        WeightHalfTensor.Dispose();
        Optimiser.Dispose();
        Crypto.Dispose(); // the role owns its session: this wipes the party's secret key
        GC.SuppressFinalize(this);
    }
}
