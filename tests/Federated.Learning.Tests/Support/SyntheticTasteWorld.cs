using Federated.Learning.Model;

namespace Federated.Learning.Tests.Support;

/// <summary>
/// A small music world with a known ground truth, generated inside the tests: users have latent tastes, songs have
/// latent styles; E's features are noisy functions of taste, audio descriptors noisy functions of style, and users
/// play songs with probability ∝ exp(β·taste·style + popularity bias). Deterministic by seed.
/// </summary>
internal sealed class SyntheticTasteWorld
{
    public const int Latent = 6;
    public const int ExternalColumns = 3, ExternalCardinality = 10, DenseWidth = 6;
    public const int MusicColumns = 2, MusicCardinality = 8;
    public const int AudioWidth = 12, GenreCardinality = 6;

    private readonly Random _random;

    public SyntheticTasteWorld(int users, int songs, int interactionsPerUser, int seed)
    {
        _random = new Random(seed);
        Users = users;
        Songs = songs;
        var taste = Enumerable.Range(0, users).Select(_ => Unit(Gaussian(Latent))).ToArray();
        var style = Enumerable.Range(0, songs).Select(_ => Unit(Gaussian(Latent))).ToArray();
        var bias = Enumerable.Range(0, songs).Select(j => -0.8 * Math.Log(j + 1)).ToArray();

        // E: categorical = noisy argmax of random projections of taste; dense = noisy linear map of taste.
        ExternalCategorical = NoisyArgmaxColumns(taste, ExternalColumns, ExternalCardinality, 0.3);
        ExternalDense = NoisyLinear(taste, DenseWidth, 0.3);
        // M's own sparse user features (only for users M knows).
        MusicCategorical = NoisyArgmaxColumns(taste, MusicColumns, MusicCardinality, 0.5);
        // Songs: audio = noisy linear map of style; genre = noisy argmax.
        Audio = NoisyLinear(style, AudioWidth, 0.3);
        Genre = NoisyArgmaxColumns(style, 1, GenreCardinality, 0.3);

        Interactions = new long[users][];
        for (int u = 0; u < users; u++)
        {
            var weights = new double[songs];
            for (int s = 0; s < songs; s++) weights[s] = Math.Exp(4.0 * Dot(taste[u], style[s]) + bias[s]);
            Interactions[u] = Enumerable.Range(0, interactionsPerUser).Select(_ => (long)Sample(weights)).ToArray();
        }
    }

    public int Users { get; }
    public int Songs { get; }
    public long[] ExternalCategorical { get; }
    public float[] ExternalDense { get; }
    public long[] MusicCategorical { get; }
    public float[] Audio { get; }
    public long[] Genre { get; }
    public long[][] Interactions { get; }

    public ExternalBatch ExternalRows(IReadOnlyList<int> users)
    {
        var categorical = new long[users.Count * ExternalColumns];
        var dense = new float[users.Count * DenseWidth];
        for (int r = 0; r < users.Count; r++)
        {
            Array.Copy(ExternalCategorical, users[r] * ExternalColumns, categorical, r * ExternalColumns, ExternalColumns);
            Array.Copy(ExternalDense, users[r] * DenseWidth, dense, r * DenseWidth, DenseWidth);
        }
        return new ExternalBatch(users.Count, categorical, dense);
    }

    public MusicBatch MusicRows(IReadOnlyList<int> users, IReadOnlyList<long> songs, Func<int, bool> knownToM)
    {
        var categorical = new long[users.Count * MusicColumns];
        var known = new bool[users.Count];
        for (int r = 0; r < users.Count; r++)
        {
            known[r] = knownToM(users[r]);
            if (known[r]) Array.Copy(MusicCategorical, users[r] * MusicColumns, categorical, r * MusicColumns, MusicColumns);
        }
        return new MusicBatch(users.Count, songs.ToArray(), categorical, known);
    }

    private long[] NoisyArgmaxColumns(double[][] latent, int columns, int cardinality, double noise)
    {
        var projections = Enumerable.Range(0, columns).Select(_ => Enumerable.Range(0, cardinality).Select(_ => Gaussian(Latent)).ToArray()).ToArray();
        var ids = new long[latent.Length * columns];
        for (int i = 0; i < latent.Length; i++)
            for (int c = 0; c < columns; c++)
            {
                int best = 0;
                double bestScore = double.NegativeInfinity;
                for (int v = 0; v < cardinality; v++)
                {
                    double score = Dot(latent[i], projections[c][v]) + noise * Normal();
                    if (score > bestScore) { bestScore = score; best = v; }
                }
                ids[i * columns + c] = best;
            }
        return ids;
    }

    private float[] NoisyLinear(double[][] latent, int width, double noise)
    {
        var map = Enumerable.Range(0, width).Select(_ => Gaussian(Latent)).ToArray();
        var values = new float[latent.Length * width];
        for (int i = 0; i < latent.Length; i++)
            for (int j = 0; j < width; j++)
                values[i * width + j] = (float)(Dot(latent[i], map[j]) + noise * Normal());
        return values;
    }

    private int Sample(double[] weights)
    {
        double target = _random.NextDouble() * weights.Sum();
        for (int i = 0; i < weights.Length; i++)
        {
            target -= weights[i];
            if (target <= 0) return i;
        }
        return weights.Length - 1;
    }

    private double Normal() => Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble());
    private double[] Gaussian(int n) => Enumerable.Range(0, n).Select(_ => Normal()).ToArray();
    private static double[] Unit(double[] v) { double n = Math.Sqrt(Dot(v, v)); return v.Select(x => x / n).ToArray(); }
    private static double Dot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }
}
