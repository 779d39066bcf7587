namespace Federated.Crypto.Ckks.Packing;

/// <summary>
/// Slot layout of column packing: one ciphertext per input column, slot b = batch row b. When the batch has fewer
/// rows than slots, the column is replicated in floor(slots / rows) blocks, and the product puts a different output
/// column in each block, so one output ciphertext carries <see cref="Blocks"/> output columns.
/// </summary>
public sealed class ColumnPacking
{
    public ColumnPacking(int slotCount, int batchRows, bool replicate = true)
    {
        if (batchRows <= 0 || batchRows > slotCount)
            throw new ArgumentOutOfRangeException(nameof(batchRows), $"batch rows must be in [1, {slotCount}] (the slot count); split larger batches, got {batchRows}");
        SlotCount = slotCount;
        BatchRows = batchRows;
        Blocks = replicate ? slotCount / batchRows : 1;
    }

    public int SlotCount { get; }
    public int BatchRows { get; }
    /// <summary>Copies of each column in an input ciphertext = output columns per output ciphertext.</summary>
    public int Blocks { get; }

    public int OutputCiphertextCount(int outputColumns) => (outputColumns + Blocks - 1) / Blocks;

    /// <summary>Output column j lives in ciphertext j / Blocks, slots [block * rows, (block + 1) * rows).</summary>
    public (int Ciphertext, int Block) OutputLocation(int column) => (column / Blocks, column % Blocks);

    /// <summary>The slot vector of one input column (length = rows), replicated into every block.</summary>
    public double[] PackColumn(ReadOnlySpan<double> column)
    {
        if (column.Length != BatchRows) throw new ArgumentException($"column has {column.Length} rows, the layout {BatchRows}");
        var slots = new double[Blocks * BatchRows];
        for (int b = 0; b < Blocks; b++) column.CopyTo(slots.AsSpan(b * BatchRows));
        return slots;
    }

    /// <summary>Column <paramref name="column"/> of a row-major matrix (rows x cols) packed into slots.</summary>
    public double[] PackColumn(ReadOnlySpan<double> matrixRowMajor, int columns, int column)
    {
        var c = new double[BatchRows];
        for (int b = 0; b < BatchRows; b++) c[b] = matrixRowMajor[b * columns + column];
        return PackColumn(c);
    }

    /// <summary>Gathers decoded output ciphertexts into a row-major rows x outputColumns matrix.</summary>
    public double[] UnpackOutputs(IReadOnlyList<double[]> decodedOutputs, int outputColumns)
    {
        if (decodedOutputs.Count != OutputCiphertextCount(outputColumns))
            throw new ArgumentException($"expected {OutputCiphertextCount(outputColumns)} decoded outputs, got {decodedOutputs.Count}");
        var result = new double[BatchRows * outputColumns];
        for (int j = 0; j < outputColumns; j++)
        {
            var (ct, block) = OutputLocation(j);
            var src = decodedOutputs[ct];
            for (int b = 0; b < BatchRows; b++) result[b * outputColumns + j] = src[block * BatchRows + b];
        }
        return result;
    }
}
