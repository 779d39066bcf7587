using Federated.Learning.Protocol.V1;

namespace Federated.Learning.Split;

/// <summary>
/// What one party reports after a completed step. No values of features, labels or activations: the loss (M only),
/// the DP budget spent and the key's release count. Insecure runs say so in <see cref="SecurityNotice"/>.
/// </summary>
public sealed record SplitStepReport(
    string JobId,
    string Party,
    ulong Step,
    int BatchRows,
    CryptoMode Mode,
    InsecureAllowances Insecure,
    double? Loss,
    double? Epsilon,
    double? Delta,
    long ReleasesUsed,
    long ReleaseBudget,
    int KeyRotations)
{
    public bool IsInsecure => Mode == CryptoMode.PlaintextReference || Insecure != InsecureAllowances.None;

    public string SecurityNotice =>
        (Mode == CryptoMode.PlaintextReference ? "INSECURE: plaintext reference mode, interactive-layer values crossed unencrypted. " : "") +
        (Insecure.HasFlag(InsecureAllowances.NoLabelNoise) && Epsilon is null ? "INSECURE: no label DP on δ. " : "") +
        (Insecure.HasFlag(InsecureAllowances.FixedSeed) ? "INSECURE: fixed seed, whoever knows it can recompute the label-DP noise and the masks. " : "") +
        (IsInsecure ? "" : "encrypted (CKKS) with label DP");
}
