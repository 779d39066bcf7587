using Federated.Learning.Protocol.V1;

namespace Federated.Learning.Crypto;

/// <summary>
/// What both parties' crypto sessions share: the mode (and so whether the run is secure), the backend scheme name
/// written into every <see cref="CipherBlock"/>, the public material exchanged at setup, and the release counter
/// of this party's key (every decrypt-and-release to the other party spends one release).
/// </summary>
public interface IInteractiveLayerCryptoSession : IDisposable
{
    CryptoMode Mode { get; }

    /// <summary>Scheme identifier carried in every block, e.g. "plaintext-reference/v1" or "ckks/v1".</summary>
    string Scheme { get; }

    /// <summary>This party's public HE material (public key, evaluation keys) for the other party.</summary>
    byte[] ExportPublicKeys();

    /// <summary>Installs the other party's public HE material. Must be called once before step 0.</summary>
    void ImportPeerPublicKeys(byte[] publicKeys);

    /// <summary>Releases made under this party's current key.</summary>
    long ReleasesUsed { get; }

    /// <summary>Releases allowed per key before it must be rotated (flooding width is sized for this budget).</summary>
    long ReleaseBudget { get; }

    /// <summary>Key pairs replaced so far because their budget was spent.</summary>
    int KeyRotations { get; }

    /// <summary>Releases this party's key makes when it releases a share of a rows x cols product (one per ciphertext).</summary>
    int ReleasesPerShare(int rows, int cols);

    /// <summary>Replaces this party's key pair (and evaluation keys) with fresh ones; the release count starts again. Call between steps only.</summary>
    void RotateKeys();

    /// <summary>Replaces the peer's public material after the peer rotated its keys.</summary>
    void ReplacePeerPublicKeys(byte[] publicKeys);
}

/// <summary>
/// E's side of the interactive layer (docs/protocol.md §2). E holds its key pair, α and its weight half A.
/// Each method is one protocol step; ring masks chosen by E live inside the session between B3 and B5.
/// </summary>
public interface IExternalPartyCryptoSession : IInteractiveLayerCryptoSession
{
    /// <summary>F1: ⟦α⟧_E, column-packed (slot = batch row).</summary>
    CipherBlock EncryptActivations(DenseMatrix alpha);

    /// <summary>F3: decrypts M's masked share of ⟦α·W_M⟧_E + R_F, adds Encode(α·A) and flooding noise; spends one release.</summary>
    CipherBlock OpenForwardShare(CipherBlock maskedProduct, DenseMatrix alphaTimesA);

    /// <summary>
    /// B3: from ⟦δ̃⟧_M computes X1 = flooded, re-randomised ⟦αᵀ·δ̃ + Ξ/η⟧_M (k x d) and X2 = re-randomised
    /// ⟦δ̃·Aᵀ⟧_M + R_G (B x k). Keeps R_G for <see cref="CloseBackwardShare"/>.
    /// </summary>
    (CipherBlock WeightGradient, CipherBlock MaskedInputGradient) ComputeBackward(
        CipherBlock encryptedDelta, DenseMatrix alpha, DenseMatrix weightHalfA, DenseMatrix xiOverEta);

    /// <summary>B5 (E): g = Decode(share − R_G) = δ̃·Wᵀ (B x k).</summary>
    DenseMatrix CloseBackwardShare(CipherBlock share);
}

/// <summary>
/// M's side of the interactive layer. M holds its key pair, its weight half W_M and the labels' gradient δ̃.
/// Ring masks chosen by M live inside the session between F2 and F4.
/// </summary>
public interface IMusicPartyCryptoSession : IInteractiveLayerCryptoSession
{
    /// <summary>F2: re-randomised ⟦α·W_M⟧_E + R_F from ⟦α⟧_E (column-packed, rotation-free). Keeps R_F.</summary>
    CipherBlock ComputeForward(CipherBlock encryptedAlpha, DenseMatrix weightHalfM);

    /// <summary>F4: z_E = Decode(share − R_F) = α·W (B x d).</summary>
    DenseMatrix CloseForwardShare(CipherBlock share);

    /// <summary>B2: ⟦δ̃⟧_M with the packings B3 needs.</summary>
    CipherBlock EncryptGradient(DenseMatrix deltaTilde);

    /// <summary>B5 (M): Dec(X1) = αᵀ·δ̃ + Ξ/η (k x d). The result stays with M, so it spends no release.</summary>
    DenseMatrix DecryptWeightGradient(CipherBlock weightGradient);

    /// <summary>B4: decrypts M's share of X2, adds Encode(δ̃·W_Mᵀ) and flooding noise; spends one release.</summary>
    CipherBlock OpenBackwardShare(CipherBlock maskedInputGradient, DenseMatrix deltaTimesWmTransposed);
}

/// <summary>Thrown when a key has released as many decryptions as its flooding width allows; rotate the key.</summary>
public sealed class ReleaseBudgetExhaustedException(string message) : Exception(message);

/// <summary>Thrown when a block does not have the scheme, shape or packing the step expects.</summary>
public sealed class MalformedCipherBlockException(string message) : Exception(message);
