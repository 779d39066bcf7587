using Federated.Crypto.Ckks.Keys;

namespace Federated.Crypto.Ckks.Protocol;

/// <summary>
/// Re-randomisation (docs/protocol.md §2): adds a fresh public-key encryption of zero under the receiver's key, so
/// the receiver cannot solve for the evaluator's plaintext weights from c1 = sum_i w_i * c1_i.
/// </summary>
public sealed class Rerandomizer
{
    private readonly Encryptor _encryptor;
    private readonly Evaluator _evaluator;

    public Rerandomizer(CkksContext context, PublicKey receiverPublicKey)
    {
        _encryptor = new Encryptor(context, receiverPublicKey);
        _evaluator = new Evaluator(context);
    }

    public void RerandomizeInplace(Ciphertext ciphertext)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        var zero = _encryptor.EncryptZero(ciphertext.Level, ciphertext.Scale);
        _evaluator.AddInplace(ciphertext, zero);
    }
}
