namespace Federated.Audio;

/// <summary>
/// Turns one song into its fixed-width descriptor (<see cref="DescriptorLayout"/>): resample to the analysis rate,
/// compute frame features, average them per 4-second segment, then summarise each feature's segment means over the
/// song by max, min, mean, variance, skewness and kurtosis. Thread-safe; each call allocates its own scratch.
/// </summary>
public static class AudioDescriptor
{
    /// <summary>Number of segments for a signal of <paramref name="samples"/> samples at the analysis rate: whole
    /// 4-second segments, plus the remainder when it is at least 1 second (otherwise it joins the last segment);
    /// always at least one.</summary>
    public static int SegmentCount(int samples)
    {
        int segment = AnalysisSettings.SegmentSamples;
        if (samples <= segment)
        {
            return 1;
        }

        int whole = samples / segment;
        int remainder = samples - whole * segment;
        int minTrailing = (int)(AnalysisSettings.MinTrailingSegmentSeconds * AnalysisSettings.SampleRate);
        return whole + (remainder >= minTrailing ? 1 : 0);
    }

    /// <summary>Describes a song; the result has <see cref="DescriptorLayout.Width"/> finite values.</summary>
    public static float[] Describe(MonoAudio audio)
    {
        double[][] segmentMeans = SegmentMeans(audio);
        int features = DescriptorLayout.FeatureCount;
        int stats = DescriptorLayout.StatisticCount;
        var series = new double[segmentMeans.Length];
        Span<double> summary = stackalloc double[stats];
        var descriptor = new float[DescriptorLayout.Width];
        for (int f = 0; f < features; f++)
        {
            for (int s = 0; s < segmentMeans.Length; s++)
            {
                series[s] = segmentMeans[s][f];
            }

            SeriesStatistics.Summarise(series, summary);
            for (int k = 0; k < stats; k++)
            {
                descriptor[f * stats + k] = (float)summary[k];
            }
        }

        return descriptor;
    }

    /// <summary>Per-segment means of every frame feature: [segment][feature]. Frames belong to the segment that
    /// holds their centre sample.</summary>
    public static double[][] SegmentMeans(MonoAudio audio)
    {
        ArgumentNullException.ThrowIfNull(audio);
        MonoAudio analysed = Resampler.Resample(audio, AnalysisSettings.SampleRate);
        int samples = analysed.Samples.Length;
        int segments = SegmentCount(samples);
        int features = DescriptorLayout.FeatureCount;
        var sums = new double[segments][];
        var counts = new int[segments];
        for (int s = 0; s < segments; s++)
        {
            sums[s] = new double[features];
        }

        var extractor = new FrameFeatureExtractor();
        extractor.Extract(analysed.Samples, (start, values) =>
        {
            int centre = start + AnalysisSettings.FrameLength / 2;
            int segment = Math.Min(centre / AnalysisSettings.SegmentSamples, segments - 1);
            double[] sum = sums[segment];
            for (int f = 0; f < features; f++)
            {
                sum[f] += values[f];
            }

            counts[segment]++;
        });

        // Every segment spans at least a second, so it holds frames; keep only filled ones all the same.
        var means = new List<double[]>(segments);
        for (int s = 0; s < segments; s++)
        {
            if (counts[s] == 0)
            {
                continue;
            }

            for (int f = 0; f < features; f++)
            {
                sums[s][f] /= counts[s];
            }

            means.Add(sums[s]);
        }

        return [.. means];
    }
}
