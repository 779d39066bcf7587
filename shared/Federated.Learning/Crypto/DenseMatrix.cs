using TorchSharp;
using static TorchSharp.torch;

namespace Federated.Learning.Crypto;

/// <summary>
/// A row-major matrix of doubles: the plaintext form of what crosses the crypto boundary of the interactive layer
/// (α, W halves, products, gradients). Doubles, because CKKS encodes reals at a scale far finer than float32.
/// </summary>
public sealed class DenseMatrix
{
    public DenseMatrix(int rows, int cols, double[] values)
    {
        if (rows <= 0 || cols <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"matrix shape must be positive, got {rows} x {cols}");
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != (long)rows * cols)
            throw new ArgumentException($"matrix of {rows} x {cols} needs {(long)rows * cols} values, got {values.Length}", nameof(values));
        Rows = rows;
        Cols = cols;
        Values = values;
    }

    public int Rows { get; }
    public int Cols { get; }

    /// <summary>Row-major values; index <c>r * Cols + c</c>.</summary>
    public double[] Values { get; }

    public double this[int row, int col] => Values[row * Cols + col];

    public static DenseMatrix Zeros(int rows, int cols) => new(rows, cols, new double[(long)rows * cols]);

    /// <summary>Copies a 2-D tensor (any floating dtype) into a double matrix.</summary>
    public static DenseMatrix FromTensor(Tensor tensor)
    {
        if (tensor.dim() != 2) throw new ArgumentException($"expected a 2-D tensor, got shape [{string.Join(", ", tensor.shape)}]", nameof(tensor));
        using var scope = NewDisposeScope();
        var values = tensor.detach().to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        return new DenseMatrix((int)tensor.shape[0], (int)tensor.shape[1], values);
    }

    /// <summary>A float64 tensor holding a copy of the values.</summary>
    public Tensor ToTensor() => tensor(Values, new long[] { Rows, Cols }, ScalarType.Float64);

    /// <summary>One column as a contiguous array (the slot vector of a column-packed ciphertext).</summary>
    public double[] Column(int col)
    {
        var column = new double[Rows];
        for (int r = 0; r < Rows; r++) column[r] = Values[r * Cols + col];
        return column;
    }

    /// <summary>Builds a matrix from its columns (each of length <paramref name="rows"/>).</summary>
    public static DenseMatrix FromColumns(int rows, IReadOnlyList<double[]> columns)
    {
        var values = new double[(long)rows * columns.Count];
        for (int c = 0; c < columns.Count; c++)
        {
            var column = columns[c];
            if (column.Length != rows) throw new ArgumentException($"column {c} has {column.Length} values, expected {rows}", nameof(columns));
            for (int r = 0; r < rows; r++) values[r * columns.Count + c] = column[r];
        }
        return new DenseMatrix(rows, columns.Count, values);
    }

    /// <summary>Throws with a message naming <paramref name="what"/> when the shape is not <paramref name="rows"/> x <paramref name="cols"/>.</summary>
    public void RequireShape(int rows, int cols, string what)
    {
        if (Rows != rows || Cols != cols)
            throw new ArgumentException($"{what}: expected a {rows} x {cols} matrix, got {Rows} x {Cols}");
    }
}
