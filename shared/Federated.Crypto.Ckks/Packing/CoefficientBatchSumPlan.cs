namespace Federated.Crypto.Ckks.Packing;

/// <summary>
/// Layout of the coefficient-packed batch-sum product alpha^T * delta (docs/protocol.md §2.3-2.4, B3 and X1), after the matrix
/// product of Cheetah (Huang et al., USENIX Security 2022, section 4.1): the plaintext alpha (rows x k) and the
/// encrypted delta (rows x d) are cut into blocks of RowBlock x InnerBlock and RowBlock x OuterBlock values with
/// InnerBlock * RowBlock * OuterBlock &lt;= N, encoded as polynomial coefficients so that one ciphertext-plaintext
/// product (a negacyclic convolution) yields InnerBlock * OuterBlock sums over RowBlock rows at fixed coefficients;
/// products of the same output block over all row blocks are added. No rotation and no Galois key is needed.
/// <list type="bullet">
/// <item>Input (rowBlock, outerBlock): delta[rowBlock * RowBlock + b, outerBlock * OuterBlock + j] at coefficient
/// j * RowBlock + b.</item>
/// <item>Plaintext (rowBlock, innerBlock): alpha[rowBlock * RowBlock + b, innerBlock * InnerBlock + i] at coefficient
/// i * Period + RowBlock - 1 - b (Period = RowBlock * OuterBlock).</item>
/// <item>Output (innerBlock, outerBlock): the sum for (i, j) at coefficient i * Period + j * RowBlock + RowBlock - 1.
/// Every other coefficient holds cross terms (sums of alpha * delta over mismatched rows) and must be masked before
/// the key owner decrypts it.</item>
/// </list>
/// </summary>
public sealed record CoefficientBatchSumPlan
{
    public CoefficientBatchSumPlan(int polyModulusDegree, int batchRows, int innerColumns, int outerColumns, int rowBlock, int innerBlock, int outerBlock)
    {
        foreach (var (name, value) in new[] { ("rowBlock", rowBlock), ("innerBlock", innerBlock), ("outerBlock", outerBlock), ("N", polyModulusDegree) })
            if (value <= 0 || (value & (value - 1)) != 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be a positive power of two");
        if (batchRows <= 0 || innerColumns <= 0 || outerColumns <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchRows), $"rows ({batchRows}), k ({innerColumns}) and d ({outerColumns}) must be positive");
        if ((long)rowBlock * innerBlock * outerBlock > polyModulusDegree)
            throw new ArgumentOutOfRangeException(nameof(rowBlock), $"block {rowBlock} x {innerBlock} x {outerBlock} does not fit N = {polyModulusDegree}");
        N = polyModulusDegree;
        BatchRows = batchRows;
        InnerColumns = innerColumns;
        OuterColumns = outerColumns;
        RowBlock = rowBlock;
        InnerBlock = innerBlock;
        OuterBlock = outerBlock;
    }

    public int N { get; }
    public int BatchRows { get; }
    /// <summary>k: columns of alpha, rows of the result.</summary>
    public int InnerColumns { get; }
    /// <summary>d: columns of delta and of the result.</summary>
    public int OuterColumns { get; }
    public int RowBlock { get; }
    public int InnerBlock { get; }
    public int OuterBlock { get; }

    public int RowBlocks => (BatchRows + RowBlock - 1) / RowBlock;
    public int InnerBlocks => (InnerColumns + InnerBlock - 1) / InnerBlock;
    public int OuterBlocks => (OuterColumns + OuterBlock - 1) / OuterBlock;
    /// <summary>Encrypted delta blocks, index rowBlock * OuterBlocks + outerBlock.</summary>
    public int InputCount => RowBlocks * OuterBlocks;
    /// <summary>Result ciphertexts, index innerBlock * OuterBlocks + outerBlock.</summary>
    public int OutputCount => InnerBlocks * OuterBlocks;
    /// <summary>Ciphertext-plaintext products per call (each a pointwise multiply-add of two polynomials).</summary>
    public int ProductCount => RowBlocks * InnerBlocks * OuterBlocks;
    /// <summary>Plaintexts of alpha encoded (and transformed) per call.</summary>
    public int PlaintextCount => RowBlocks * InnerBlocks;
    public int Period => RowBlock * OuterBlock;

    public int InputCoefficient(int localRow, int localOuter) => localOuter * RowBlock + localRow;
    public int PlaintextCoefficient(int localRow, int localInner) => localInner * Period + RowBlock - 1 - localRow;
    public int OutputCoefficient(int localInner, int localOuter) => localInner * Period + localOuter * RowBlock + RowBlock - 1;

    /// <summary>
    /// The cheapest layout for a shape, by a cost model in polynomial-length units: products (2 per product: two
    /// ciphertext halves), plaintext transforms (log2(RowBlock) + 2 butterfly stages each, see
    /// NttTables.ForwardSparse) and bytes on the wire (weighted by <paramref name="wireWeight"/> per polynomial: a
    /// seeded input is one polynomial, an output two). The default weight 80 picks 64 x 4 x 32 blocks at B = 4096,
    /// k = 128, d = 64: 590 ms single-thread with 128 delta blocks on the wire, against 403 ms with 256 blocks (weight
    /// 40) or 945 ms with 64 (the CKKS benchmark's --cputime-packed, 14:31 UTC); the protocol uses the default.
    /// </summary>
    public static CoefficientBatchSumPlan Choose(int polyModulusDegree, int batchRows, int innerColumns, int outerColumns, double wireWeight = 80)
    {
        if (batchRows <= 0 || innerColumns <= 0 || outerColumns <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchRows), $"rows ({batchRows}), k ({innerColumns}) and d ({outerColumns}) must be positive");
        CoefficientBatchSumPlan? best = null;
        double bestCost = double.MaxValue;
        int maxRow = Pow2AtLeast(batchRows), maxInner = Pow2AtLeast(innerColumns), maxOuter = Pow2AtLeast(outerColumns);
        for (int m = 1; m <= Math.Min(maxRow, polyModulusDegree); m <<= 1)
            for (int n = 1; n <= maxInner && (long)m * n <= polyModulusDegree; n <<= 1)
                for (int o = 1; o <= maxOuter && (long)m * n * o <= polyModulusDegree; o <<= 1)
                {
                    var plan = new CoefficientBatchSumPlan(polyModulusDegree, batchRows, innerColumns, outerColumns, m, n, o);
                    double cost = 2.0 * plan.ProductCount + plan.PlaintextCount * (Math.Log2(m) + 2) + wireWeight * (plan.InputCount + 2.0 * plan.OutputCount);
                    if (cost < bestCost) { bestCost = cost; best = plan; }
                }
        return best!;
    }

    private static int Pow2AtLeast(int value) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)value);

    /// <summary>The coefficients of input (rowBlock, outerBlock): delta is rows x d row-major, times <paramref name="factor"/>.</summary>
    public double[] PackInput(ReadOnlySpan<double> delta, double factor, int rowBlock, int outerBlock)
    {
        if (delta.Length != BatchRows * OuterColumns)
            throw new ArgumentException($"delta must be rows x d = {BatchRows} x {OuterColumns} values row-major, got {delta.Length}");
        var coefficients = new double[N];
        for (int b = 0; b < RowBlock; b++)
        {
            int row = rowBlock * RowBlock + b;
            if (row >= BatchRows) break;
            for (int j = 0; j < OuterBlock; j++)
            {
                int col = outerBlock * OuterBlock + j;
                if (col >= OuterColumns) break;
                coefficients[InputCoefficient(b, j)] = delta[row * OuterColumns + col] * factor;
            }
        }
        return coefficients;
    }

    /// <summary>True at the coefficients of output (innerBlock, outerBlock) that carry a result inside the k x d matrix.</summary>
    public bool[] ResultCoefficients(int innerBlock, int outerBlock)
    {
        var result = new bool[N];
        ForEachResult(innerBlock, outerBlock, (coefficient, _, _) => result[coefficient] = true);
        return result;
    }

    /// <summary>Calls <paramref name="visit"/>(coefficient, i, j) for each result of output (innerBlock, outerBlock).</summary>
    public void ForEachResult(int innerBlock, int outerBlock, Action<int, int, int> visit)
    {
        for (int li = 0; li < InnerBlock; li++)
        {
            int i = innerBlock * InnerBlock + li;
            if (i >= InnerColumns) break;
            for (int lj = 0; lj < OuterBlock; lj++)
            {
                int j = outerBlock * OuterBlock + lj;
                if (j >= OuterColumns) break;
                visit(OutputCoefficient(li, lj), i, j);
            }
        }
    }

    /// <summary>The k x d result (row-major) from the decoded coefficients of every output, in output order.</summary>
    public double[] UnpackOutputs(IReadOnlyList<double[]> decodedCoefficients)
    {
        if (decodedCoefficients.Count != OutputCount) throw new ArgumentException($"expected {OutputCount} decoded outputs, got {decodedCoefficients.Count}");
        var result = new double[InnerColumns * OuterColumns];
        for (int ib = 0; ib < InnerBlocks; ib++)
            for (int jb = 0; jb < OuterBlocks; jb++)
            {
                var c = decodedCoefficients[ib * OuterBlocks + jb];
                ForEachResult(ib, jb, (coefficient, i, j) => result[i * OuterColumns + j] = c[coefficient]);
            }
        return result;
    }
}
