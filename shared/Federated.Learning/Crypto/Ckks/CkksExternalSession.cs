using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Protocol;
using Federated.Crypto.Ckks.Serialization;
using Federated.Learning.Protocol.V1;
using Google.Protobuf;

namespace Federated.Learning.Crypto.Ckks;

/// <summary>
/// E's CKKS session: encrypts α under E's key (F1), releases F2's masked product with Encode(α·A) and flooding (F3),
/// computes X1 by the coefficient-packed batch-sum product and X2 by the column-packed product on M's ciphertexts of
/// δ̃ (B3; neither needs a rotation, so M publishes no Galois keys), and
/// unmasks g (B5). δ̃ arrives multiplied by the batch size B (so it uses the scale's precision); g is divided back.
/// </summary>
public sealed class CkksExternalSession(CkksSessionOptions options) : CkksSession(options), IExternalPartyCryptoSession
{
    private RingMask[]? _backwardMasks;
    private int _backwardRows;

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
        var plan = BatchSumPlan(rows, k, d);
        var parts = ReadCiphertexts(encryptedDelta, step, rows, d, Packing.ColumnsAndCoefficientBlocks, d + plan.InputCount, InputLevel);
        var delta = parts[..d];

        // X1 = αᵀ·(Bδ̃) + B·Ξ/η by the coefficient-packed product (no rotations). The other coefficients of each
        // output hold cross terms of α and δ̃ and are masked uniformly; then flooding and re-randomisation.
        var x1 = Products.CoefficientBatchSumProduct(parts[d..], alpha.Values, Options.WeightBits, plan);
        InParallel(x1.Length, x =>
        {
            int ib = x / plan.OuterBlocks, jb = x % plan.OuterBlocks;
            var output = x1[x];
            Evaluator.RescaleToNextInplace(output);
            var xi = new double[Context.N];
            plan.ForEachResult(ib, jb, (coefficient, i, j) => xi[coefficient] = xiOverEta.Values[i * d + j] * rows);
            Evaluator.AddPlainInplace(output, Encoder.EncodeCoefficients(xi, output.Scale, output.Level));
            UnusedCoefficientMask.AddTo(output, plan.ResultCoefficients(ib, jb));
            NoiseFlooding.AddTo(output, FloodingSigma);
            PeerRerandomizer!.RerandomizeInplace(output);
        });

        // X2 = (Bδ̃)·Aᵀ + R_G: column-packed product with the weights Aᵀ (d x k), re-randomised and masked.
        var aTransposed = new double[d * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < d; j++) aTransposed[j * k + i] = weightHalfA.Values[i * d + j];
        var x2 = Products.ColumnPackedProduct(delta, aTransposed, k, Options.WeightBits, layout);
        _backwardMasks = RescaleRerandomiseMask(x2);
        _backwardRows = rows;
        return (WriteCiphertexts(x1, k, d, Packing.CoefficientBlocks), WriteCiphertexts(x2, rows, k));
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
