using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Protocol;
using Federated.Crypto.Ckks.Serialization;
using Federated.Learning.Protocol.V1;

namespace Federated.Learning.Crypto.Ckks;

/// <summary>
/// M's CKKS session: the column-packed product α·W_M on E's ciphertexts, re-randomised and masked (F2); unmasking
/// z_E (F4); encrypting B·δ̃ under M's key (B2, column-packed and in coefficient row blocks); decrypting X1 (B5) and
/// releasing X2 with Encode(B·δ̃·W_Mᵀ) (B4). No product needs a rotation, so M makes and publishes no Galois keys.
/// </summary>
public sealed class CkksMusicSession : CkksSession, IMusicPartyCryptoSession
{
    private readonly int _bottomWidth;
    private RingMask[]? _forwardMasks;
    private int _forwardRows, _forwardCols;
    private int? _gradientRows;

    /// <param name="bottomWidth">k, which fixes the layout of the batch-sum product's blocks.</param>
    public CkksMusicSession(CkksSessionOptions options, int bottomWidth) : base(options)
    {
        if (bottomWidth <= 0 || bottomWidth > Context.SlotCount)
            throw new ArgumentOutOfRangeException(nameof(bottomWidth), bottomWidth, $"k must be in 1..{Context.SlotCount}");
        _bottomWidth = bottomWidth;
    }

    /// <summary>Tests only: the ring masks M holds between F2 and F4.</summary>
    internal RingMask[]? PendingForwardMasksForTests => _forwardMasks;

    public CipherBlock ComputeForward(CipherBlock encryptedAlpha, DenseMatrix weightHalfM)
    {
        RequirePeer("F2");
        const string step = "F2 (α from F1)";
        if (encryptedAlpha is null) throw new MalformedCipherBlockException($"{step}: the block is missing");
        int rows = (int)encryptedAlpha.Rows, k = weightHalfM.Rows, d = weightHalfM.Cols;
        if (k != _bottomWidth) throw new MalformedCipherBlockException($"{step}: W_M has {k} rows, the session was made for k = {_bottomWidth}");
        var layout = Layout(rows, step);
        var alpha = ReadCiphertexts(encryptedAlpha, step, rows, k, Packing.Columns, k, InputLevel);
        var products = Products.ColumnPackedProduct(alpha, weightHalfM.Values, d, Options.WeightBits, layout);
        _forwardMasks = RescaleRerandomiseMask(products);
        _forwardRows = rows;
        _forwardCols = d;
        return WriteCiphertexts(products, rows, d);
    }

    public DenseMatrix CloseForwardShare(CipherBlock share)
    {
        RequirePeer("F4");
        var masks = _forwardMasks ?? throw new InvalidOperationException("F4: no forward mask is pending (F2 was not computed for this step)");
        var z = UnmaskShares(share, "F4 (share from F3)", masks, _forwardRows, _forwardCols, 1.0);
        _forwardMasks = null;
        return z;
    }

    public CipherBlock EncryptGradient(DenseMatrix deltaTilde)
    {
        RequirePeer("B2");
        _gradientRows = deltaTilde.Rows;
        // Column-packed for X2's product, then coefficient-packed row blocks for X1's.
        var block = EncryptColumns(deltaTilde, deltaTilde.Rows);
        AppendCoefficientBlocks(block, deltaTilde, deltaTilde.Rows, BatchSumPlan(deltaTilde.Rows, _bottomWidth, deltaTilde.Cols));
        block.Packing = Packing.ColumnsAndCoefficientBlocks;
        return block;
    }

    public DenseMatrix DecryptWeightGradient(CipherBlock weightGradient)
    {
        RequirePeer("B5");
        const string step = "B5 (X1 from B3)";
        int rows = _gradientRows ?? throw new InvalidOperationException("B5: no encrypted gradient is pending (B2 was not sent for this step)");
        if (weightGradient is null) throw new MalformedCipherBlockException($"{step}: the block is missing");
        int k = _bottomWidth, d = (int)weightGradient.Cols;
        var plan = BatchSumPlan(rows, k, d);
        var ciphertexts = ReadCiphertexts(weightGradient, step, k, d, Packing.CoefficientBlocks, plan.OutputCount, ProductLevel);
        var values = plan.UnpackOutputs(ciphertexts.Select(DecryptCoefficients).ToList());
        for (int x = 0; x < values.Length; x++) values[x] /= rows;
        return new DenseMatrix(k, d, values);
    }

    public CipherBlock OpenBackwardShare(CipherBlock maskedInputGradient, DenseMatrix deltaTimesWmTransposed)
    {
        RequirePeer("B4");
        int rows = _gradientRows ?? throw new InvalidOperationException("B4: no encrypted gradient is pending (B2 was not sent for this step)");
        var share = ReleaseShares(maskedInputGradient, "B4 (X2 from B3)", deltaTimesWmTransposed, rows);
        _gradientRows = null;
        return share;
    }
}
