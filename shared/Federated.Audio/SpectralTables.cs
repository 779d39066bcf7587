namespace Federated.Audio;

/// <summary>
/// Immutable tables shared by all analyses (built once, read concurrently): the Hann window, bin frequencies,
/// the mel filterbank and the DCT-II basis for MFCCs.
/// </summary>
internal sealed class SpectralTables
{
    public static SpectralTables Instance { get; } = new();

    private SpectralTables()
    {
        int n = AnalysisSettings.FrameLength;
        Bins = n / 2 + 1;

        // Periodic Hann window; magnitudes are scaled by 2 / sum(window) so a sine of amplitude a peaks near a.
        Window = new double[n];
        double windowSum = 0;
        for (int i = 0; i < n; i++)
        {
            Window[i] = 0.5 - 0.5 * Math.Cos(2 * Math.PI * i / n);
            windowSum += Window[i];
        }

        MagnitudeScale = 2.0 / windowSum;

        BinHz = new double[Bins];
        for (int k = 0; k < Bins; k++)
        {
            BinHz[k] = (double)k * AnalysisSettings.SampleRate / n;
        }

        BuildMelFilters(out MelStart, out MelWeights);
        Dct = BuildDct();
    }

    public int Bins { get; }

    public double[] Window { get; }

    public double MagnitudeScale { get; }

    public double[] BinHz { get; }

    /// <summary>First FFT bin of each mel filter.</summary>
    public readonly int[] MelStart;

    /// <summary>Weights of each mel filter from its first bin (triangles of peak 1, HTK style).</summary>
    public readonly double[][] MelWeights;

    /// <summary>Orthonormal DCT-II rows for coefficients c1..cN over the log mel bands.</summary>
    public double[][] Dct { get; }

    private static double HzToMel(double hz) => 2595.0 * Math.Log10(1.0 + hz / 700.0);

    private static double MelToHz(double mel) => 700.0 * (Math.Pow(10.0, mel / 2595.0) - 1.0);

    private void BuildMelFilters(out int[] start, out double[][] weights)
    {
        int bands = AnalysisSettings.MelBands;
        double maxMel = HzToMel(AnalysisSettings.SampleRate / 2.0);
        var edges = new double[bands + 2];
        for (int i = 0; i < edges.Length; i++)
        {
            edges[i] = MelToHz(maxMel * i / (bands + 1));
        }

        start = new int[bands];
        weights = new double[bands][];
        for (int b = 0; b < bands; b++)
        {
            double lo = edges[b], centre = edges[b + 1], hi = edges[b + 2];
            var w = new List<double>();
            int first = -1;
            for (int k = 0; k < Bins; k++)
            {
                double f = BinHz[k];
                double v = f <= lo || f >= hi ? 0.0 : f <= centre ? (f - lo) / (centre - lo) : (hi - f) / (hi - centre);
                if (v > 0)
                {
                    if (first < 0)
                    {
                        first = k;
                    }

                    // Bins between the first and last positive weight are contiguous for a triangle.
                    w.Add(v);
                }
                else if (first >= 0)
                {
                    break;
                }
            }

            if (first < 0)
            {
                // A band narrower than one bin (low frequencies): give it the nearest bin to its centre.
                first = (int)Math.Round(centre / BinHz[1]);
                w.Add(1.0);
            }

            start[b] = first;
            weights[b] = [.. w];
        }
    }

    private static double[][] BuildDct()
    {
        int m = AnalysisSettings.MelBands;
        var rows = new double[AnalysisSettings.MfccCount][];
        double scale = Math.Sqrt(2.0 / m);
        for (int c = 0; c < rows.Length; c++)
        {
            int coefficient = c + 1;
            rows[c] = new double[m];
            for (int j = 0; j < m; j++)
            {
                rows[c][j] = scale * Math.Cos(Math.PI * coefficient * (j + 0.5) / m);
            }
        }

        return rows;
    }
}
