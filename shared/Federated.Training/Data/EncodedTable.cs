using Federated.Data.Features;

namespace Federated.Training.Data;

/// <summary>
/// A table's feature rows as model input: categorical ids (row-major, one slot per categorical column) and dense
/// values, where each multi-categorical column becomes a normalised multi-hot block appended to the dense part
/// (the towers take no bags). Keys are the table's row keys, in file order.
/// </summary>
public sealed class EncodedTable
{
    private EncodedTable(string[] keys, int[] cardinalities, long[] categorical, int denseWidth, float[] dense)
    {
        Keys = keys;
        CategoricalCardinalities = cardinalities;
        Categorical = categorical;
        DenseWidth = denseWidth;
        Dense = dense;
    }

    public string[] Keys { get; }
    public int Rows => Keys.Length;
    public int[] CategoricalCardinalities { get; }
    public int CategoricalWidth => CategoricalCardinalities.Length;
    public long[] Categorical { get; }
    public int DenseWidth { get; }
    public float[] Dense { get; }

    public static EncodedTable From(FeaturePreprocessor preprocessor, FeatureMatrix matrix)
    {
        var multiCardinalities = preprocessor.MultiCategoricalCardinalities;
        int multiWidth = multiCardinalities.Sum();
        int denseWidth = matrix.DenseWidth + multiWidth;
        var dense = new float[(long)matrix.RowCount * denseWidth];
        var categorical = new long[(long)matrix.RowCount * matrix.CategoricalWidth];
        for (int r = 0; r < matrix.RowCount; r++)
        {
            var cats = matrix.CategoricalRow(r);
            for (int c = 0; c < cats.Length; c++) categorical[(long)r * matrix.CategoricalWidth + c] = cats[c];
            matrix.DenseRow(r).CopyTo(dense.AsSpan(r * denseWidth, matrix.DenseWidth));
            int offset = r * denseWidth + matrix.DenseWidth;
            for (int m = 0; m < multiCardinalities.Length; m++)
            {
                var tokens = matrix.MultiCategorical[m].Row(r);
                // Normalised so a long token list weighs as much as a short one.
                float weight = tokens.Length == 0 ? 0 : 1f / MathF.Sqrt(tokens.Length);
                foreach (var id in tokens) dense[offset + id] = weight;
                offset += multiCardinalities[m];
            }
        }
        return new EncodedTable(matrix.Keys.Select(k => k ?? "").ToArray(), preprocessor.CategoricalCardinalities, categorical, denseWidth, dense);
    }

    /// <summary>Categorical ids of the given rows, row-major.</summary>
    public long[] CategoricalRows(ReadOnlySpan<int> rows)
    {
        var result = new long[(long)rows.Length * CategoricalWidth];
        for (int i = 0; i < rows.Length; i++)
            Array.Copy(Categorical, (long)rows[i] * CategoricalWidth, result, (long)i * CategoricalWidth, CategoricalWidth);
        return result;
    }

    /// <summary>Dense values of the given rows, row-major.</summary>
    public float[] DenseRows(ReadOnlySpan<int> rows)
    {
        var result = new float[(long)rows.Length * DenseWidth];
        for (int i = 0; i < rows.Length; i++)
            Array.Copy(Dense, (long)rows[i] * DenseWidth, result, (long)i * DenseWidth, DenseWidth);
        return result;
    }
}
