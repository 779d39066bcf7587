using Federated.Learning.Crypto.Ckks;
using Federated.Learning.Protocol.V1;

namespace Federated.Learning.Crypto;

/// <summary>
/// Creates a party's crypto session for a mode. CKKS is the default; the plaintext reference needs its options with
/// <see cref="PlaintextReferenceOptions.AcknowledgeInsecure"/> set, so it is never chosen by accident.
/// </summary>
public static class CryptoSessions
{
    public static IExternalPartyCryptoSession External(CryptoMode mode = CryptoMode.Ckks, CkksSessionOptions? ckks = null,
        PlaintextReferenceOptions? plaintext = null) => mode switch
    {
        CryptoMode.Ckks => new CkksExternalSession(ckks ?? new CkksSessionOptions()),
        CryptoMode.PlaintextReference => new PlaintextReferenceExternalSession(plaintext ?? new PlaintextReferenceOptions()),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "choose Ckks (the default) or PlaintextReference"),
    };

    /// <param name="bottomWidth">k, which fixes the Galois keys M generates for the batch-sum product.</param>
    public static IMusicPartyCryptoSession Music(int bottomWidth, CryptoMode mode = CryptoMode.Ckks, CkksSessionOptions? ckks = null,
        PlaintextReferenceOptions? plaintext = null) => mode switch
    {
        CryptoMode.Ckks => new CkksMusicSession(ckks ?? new CkksSessionOptions(), bottomWidth),
        CryptoMode.PlaintextReference => new PlaintextReferenceMusicSession(plaintext ?? new PlaintextReferenceOptions()),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "choose Ckks (the default) or PlaintextReference"),
    };
}
