namespace Federated.Tests.Shared;

/// <summary>
/// Vectors shaped like trained embeddings, and the worst case, for the vector-index tests and benchmark (linked into
/// both). A mixture has unit-length centres spread uniformly over the sphere; a sample is a centre plus Gaussian noise
/// of expected length <c>spread</c>, scaled to unit length. Uniform vectors are unit-length Gaussian draws: no
/// structure for a graph to exploit. All row-major float32, all deterministic in the seed.
/// </summary>
internal sealed class SyntheticVectors
{
    private readonly float[] _centres;

    public SyntheticVectors(int clusters, int dimension, double spread, int seed)
    {
        if (clusters < 1) throw new ArgumentOutOfRangeException(nameof(clusters), clusters, "at least one cluster");
        Clusters = clusters;
        Dimension = dimension;
        Spread = spread;
        _centres = Uniform(clusters, dimension, seed);
    }

    public int Clusters { get; }
    public int Dimension { get; }
    public double Spread { get; }

    /// <summary><paramref name="count"/> unit vectors from the mixture, cluster chosen uniformly per row.</summary>
    public float[] Sample(int count, int seed)
    {
        var random = new Random(seed);
        var rows = new float[(long)count * Dimension];
        var sigma = Spread / Math.Sqrt(Dimension);
        for (var r = 0; r < count; r++)
        {
            var centre = _centres.AsSpan(random.Next(Clusters) * Dimension, Dimension);
            var row = rows.AsSpan(r * Dimension, Dimension);
            for (var j = 0; j < Dimension; j++) row[j] = centre[j] + (float)(sigma * Gaussian(random));
            Normalise(row);
        }
        return rows;
    }

    /// <summary><paramref name="count"/> vectors uniform on the unit sphere.</summary>
    public static float[] Uniform(int count, int dimension, int seed)
    {
        var random = new Random(seed);
        var rows = new float[(long)count * dimension];
        for (var r = 0; r < count; r++)
        {
            var row = rows.AsSpan(r * dimension, dimension);
            for (var j = 0; j < dimension; j++) row[j] = (float)Gaussian(random);
            Normalise(row);
        }
        return rows;
    }

    /// <summary>Gaussian draws with no scaling: vectors of varied length, as raw inner-product embeddings are.</summary>
    public static float[] Gaussian(int count, int dimension, int seed)
    {
        var random = new Random(seed);
        var rows = new float[(long)count * dimension];
        for (long i = 0; i < rows.LongLength; i++) rows[i] = (float)Gaussian(random);
        return rows;
    }

    private static double Gaussian(Random random)
    {
        // Box-Muller; 1 - NextDouble() is in (0, 1], so the logarithm is finite.
        var u = 1.0 - random.NextDouble();
        var v = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2.0 * Math.PI * v);
    }

    private static void Normalise(Span<float> row)
    {
        double sum = 0;
        foreach (var x in row) sum += (double)x * x;
        var scale = (float)(1.0 / Math.Sqrt(sum));
        for (var j = 0; j < row.Length; j++) row[j] *= scale;
    }
}
