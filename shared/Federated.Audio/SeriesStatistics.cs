namespace Federated.Audio;

/// <summary>
/// The six song-level statistics of a series of per-segment values, always finite: population variance,
/// skewness m3 / m2^1.5 and excess kurtosis m4 / m2^2 - 3. A constant series (including a single segment) has
/// variance, skewness and kurtosis 0.
/// </summary>
public static class SeriesStatistics
{
    /// <summary>Relative variance below which a series counts as constant (round-off, not signal).</summary>
    public const double ConstantRelativeVariance = 1e-12;

    /// <summary>Writes max, min, mean, variance, skewness, kurtosis (the <see cref="DescriptorLayout.Statistics"/>
    /// order) of <paramref name="values"/> into <paramref name="destination"/>.</summary>
    public static void Summarise(ReadOnlySpan<double> values, Span<double> destination)
    {
        if (values.IsEmpty)
        {
            throw new ArgumentException("cannot summarise an empty series", nameof(values));
        }

        if (destination.Length < 6)
        {
            throw new ArgumentException("destination needs room for 6 statistics", nameof(destination));
        }

        double max = double.NegativeInfinity, min = double.PositiveInfinity, sum = 0;
        foreach (double v in values)
        {
            if (!double.IsFinite(v))
            {
                throw new ArgumentException($"series holds a non-finite value {v}", nameof(values));
            }

            max = Math.Max(max, v);
            min = Math.Min(min, v);
            sum += v;
        }

        double mean = sum / values.Length;
        double m2 = 0, m3 = 0, m4 = 0;
        foreach (double v in values)
        {
            double d = v - mean;
            double d2 = d * d;
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
        }

        m2 /= values.Length;
        m3 /= values.Length;
        m4 /= values.Length;

        double scale = Math.Max(mean * mean, max * max);
        bool constant = m2 == 0 || m2 <= ConstantRelativeVariance * scale;
        destination[0] = max;
        destination[1] = min;
        destination[2] = mean;
        destination[3] = constant ? 0.0 : m2;
        destination[4] = constant ? 0.0 : m3 / Math.Pow(m2, 1.5);
        destination[5] = constant ? 0.0 : m4 / (m2 * m2) - 3.0;
    }
}
