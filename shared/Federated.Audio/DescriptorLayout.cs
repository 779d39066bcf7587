namespace Federated.Audio;

/// <summary>
/// Names every element of the song descriptor vector. The order is feature-major: for each frame feature in
/// <see cref="Features"/> order, its six song statistics in <see cref="Statistics"/> order.
/// Element i is feature <c>i / 6</c>, statistic <c>i % 6</c>; its name is <c>"{feature}.{statistic}"</c>.
/// </summary>
public static class DescriptorLayout
{
    /// <summary>Identifies the analysis parameters and element order; bump when either changes.</summary>
    public const string Version = "federated-audio-v1";

    /// <summary>Frame features, in vector order. Units are in the README.</summary>
    public static IReadOnlyList<string> Features { get; } = BuildFeatures();

    /// <summary>Statistics over the song's per-segment means, in vector order.</summary>
    public static IReadOnlyList<string> Statistics { get; } =
        ["max", "min", "mean", "variance", "skewness", "kurtosis"];

    public static int FeatureCount => Features.Count;

    public static int StatisticCount => Statistics.Count;

    /// <summary>Number of floats in one song descriptor.</summary>
    public static int Width => FeatureCount * StatisticCount;

    /// <summary>Element names, index-aligned with the descriptor vector.</summary>
    public static IReadOnlyList<string> Names { get; } = BuildNames();

    public static int IndexOf(string feature, string statistic)
    {
        int f = IndexIn(Features, feature, "feature");
        int s = IndexIn(Statistics, statistic, "statistic");
        return f * StatisticCount + s;
    }

    // Indices of the frame features in the span passed to FrameFeatureExtractor callbacks (Features order).
    public const int Rms = 0;
    public const int ZeroCrossingRate = 1;
    public const int SpectralCentroid = 2;
    public const int SpectralBandwidth = 3;
    public const int SpectralRolloff = 4;
    public const int SpectralFlatness = 5;
    public const int SpectralFlux = 6;
    public const int FirstMfcc = 7;

    private static string[] BuildFeatures()
    {
        var names = new List<string>
        {
            "rms",
            "zero_crossing_rate",
            "spectral_centroid_hz",
            "spectral_bandwidth_hz",
            "spectral_rolloff85_hz",
            "spectral_flatness",
            "spectral_flux",
        };
        for (int i = 1; i <= AnalysisSettings.MfccCount; i++)
        {
            names.Add($"mfcc{i:00}");
        }

        return [.. names];
    }

    private static string[] BuildNames()
    {
        var names = new string[Width];
        for (int f = 0; f < FeatureCount; f++)
        {
            for (int s = 0; s < StatisticCount; s++)
            {
                names[f * StatisticCount + s] = $"{Features[f]}.{Statistics[s]}";
            }
        }

        return names;
    }

    private static int IndexIn(IReadOnlyList<string> list, string name, string what)
    {
        ArgumentNullException.ThrowIfNull(name);
        for (int i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        throw new ArgumentException($"unknown {what} '{name}'; expected one of: {string.Join(", ", list)}", what);
    }
}
