using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Keys;
using Federated.Crypto.Ckks.Protocol;
using Federated.Crypto.Ckks.Serialization;
using Federated.Learning.Protocol.V1;
using Google.Protobuf;

namespace Federated.Learning.Crypto.Ckks;

/// <summary>
/// E's CKKS session: encrypts α under E's key (F1), releases F2's masked product with Encode(α·A) and flooding (F3),
/// computes X1 by the batch-sum product and X2 by the column-packed product on M's ciphertexts of δ̃ (B3), and
/// unmasks g (B5). δ̃ arrives multiplied by the batch size B (so it uses the scale's precision); g is divided back.
/// </summary>
public sealed class CkksExternalSession(CkksSessionOptions options) : CkksSession(options), IExternalPartyCryptoSession
{
    private GaloisKeys? _peerGaloisKeys;
    private RingMask[]? _backwardMasks;
    private int _backwardRows;

    protected override void ImportExtraPublicMaterial(byte[] material)
    {
        if (material.Length == 0) throw new MalformedCipherBlockException("key announcement: M sent no Galois keys (the batch-sum product needs them)");
        _peerGaloisKeys = CkksSerializer.DeserializeGaloisKeys(Context, material);
    }

    /// <summary>Tests only: the rotation steps M's Galois keys cover.</summary>
    internal int PeerGaloisKeyCountForTests => _peerGaloisKeys?.GaloisElements.Count ?? 0;

    public CipherBlock EncryptActivations(DenseMatrix alpha)
    {
        RequirePeer("F1");
        return EncryptColumns(alpha, 1.0);
    }

    public CipherBlock OpenForwardShare(CipherBlock maskedProduct, DenseMatrix alphaTimesA)
    {
        RequirePeer("F3");
        return ReleaseShares(maskedProduct, "F3 (masked product from F2)", alphaTimesA, 1.0);
    }

    public (CipherBlock WeightGradient, CipherBlock MaskedInputGradient) ComputeBackward(
        CipherBlock encryptedDelta, DenseMatrix alpha, DenseMatrix weightHalfA, DenseMatrix xiOverEta)
    {
        RequirePeer("B3");
        const string step = "B3 (δ̃ from B2)";
        int rows = alpha.Rows, k = alpha.Cols, d = weightHalfA.Cols;
        weightHalfA.RequireShape(k, d, "B3 weight half A");
        xiOverEta.RequireShape(k, d, "B3 Ξ/η");
        var layout = Layout(rows, step);
        var delta = ReadCiphertexts(encryptedDelta, step, rows, d, Packing.Columns, d, InputLevel);

        // X1 = αᵀ·(Bδ̃) + B·Ξ/η: output j holds column j in slots i < k of every padded-k block; Ξ/η goes into every
        // block so no replica of αᵀδ̃ stays unmasked. Then flooding and re-randomisation under M's key.
        var plan = Products.PlanBatchSum(rows, k);
        var x1 = Products.BatchSumProduct(delta, alpha.Values, Options.WeightBits, _peerGaloisKeys!, plan);
        for (int j = 0; j < d; j++)
        {
            Evaluator.RescaleToNextInplace(x1[j]);
            var mask = new double[Context.SlotCount];
            for (int start = 0; start + k <= Context.SlotCount; start += plan.PaddedColumns)
                for (int i = 0; i < k; i++) mask[start + i] = xiOverEta.Values[i * d + j] * rows;
            Evaluator.AddPlainInplace(x1[j], Encoder.Encode(mask, x1[j].Scale, x1[j].Level));
            var flood = new Plaintext(Context, x1[j].Level, x1[j].Scale);
            NoiseFlooding.AddTo(flood, FloodingSigma);
            Evaluator.AddPlainInplace(x1[j], flood);
            PeerRerandomizer!.RerandomizeInplace(x1[j]);
        }

        // X2 = (Bδ̃)·Aᵀ + R_G: column-packed product with the weights Aᵀ (d x k), re-randomised and masked.
        var aTransposed = new double[d * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < d; j++) aTransposed[j * k + i] = weightHalfA.Values[i * d + j];
        var x2 = Products.ColumnPackedProduct(delta, aTransposed, k, Options.WeightBits, layout);
        _backwardMasks = RescaleRerandomiseMask(x2);
        _backwardRows = rows;
        return (WriteCiphertexts(x1, k, d), WriteCiphertexts(x2, rows, k));
    }

    public DenseMatrix CloseBackwardShare(CipherBlock share)
    {
        RequirePeer("B5");
        var masks = _backwardMasks ?? throw new InvalidOperationException("B5: no backward mask is pending (B3 was not computed for this step)");
        if (share is null) throw new MalformedCipherBlockException("B5 (share from B4): the block is missing");
        var g = UnmaskShares(share, "B5 (share from B4)", masks, _backwardRows, (int)share.Cols, _backwardRows);
        _backwardMasks = null;
        return g;
    }
}
