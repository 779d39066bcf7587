namespace Federated.Audio.Tests;

/// <summary>Song descriptors: layout, segmentation, statistics and resampling.</summary>
[Trait("Category", "Unit")]
public class DescriptorTests
{
    [Fact]
    public void Layout_has_20_features_times_six_statistics_with_unique_names()
    {
        Assert.Equal(20, DescriptorLayout.FeatureCount);
        Assert.Equal(["max", "min", "mean", "variance", "skewness", "kurtosis"], DescriptorLayout.Statistics);
        Assert.Equal(120, DescriptorLayout.Width);
        Assert.Equal(DescriptorLayout.Width, DescriptorLayout.Names.Distinct().Count());
        Assert.Equal("rms.max", DescriptorLayout.Names[0]);
        Assert.Equal("mfcc13.kurtosis", DescriptorLayout.Names[^1]);
        Assert.Equal(2 * 6 + 2, DescriptorLayout.IndexOf("spectral_centroid_hz", "mean"));
        var e = Assert.Throws<ArgumentException>(() => DescriptorLayout.IndexOf("loudness", "mean"));
        Assert.Contains("unknown feature 'loudness'", e.Message);
    }

    [Theory]
    [InlineData(0.5, 1)]
    [InlineData(4.0, 1)]
    [InlineData(4.9, 1)]   // 0.9 s remainder joins the first segment
    [InlineData(5.0, 2)]   // 1 s remainder is its own segment
    [InlineData(12.0, 3)]
    [InlineData(13.5, 4)]
    public void Segment_count_follows_four_second_rule(double seconds, int expected)
    {
        Assert.Equal(expected, AudioDescriptor.SegmentCount((int)(seconds * AnalysisSettings.SampleRate)));
    }

    [Fact]
    public void Short_song_has_one_segment_so_spread_statistics_are_zero()
    {
        float[] d = AudioDescriptor.Describe(Signals.Tone(800, 0.4, 2.5));
        Assert.Equal(DescriptorLayout.Width, d.Length);
        foreach (string feature in DescriptorLayout.Features)
        {
            float mean = Signals.Element(d, feature, "mean");
            Assert.Equal(mean, Signals.Element(d, feature, "max"));
            Assert.Equal(mean, Signals.Element(d, feature, "min"));
            Assert.Equal(0f, Signals.Element(d, feature, "variance"));
            Assert.Equal(0f, Signals.Element(d, feature, "skewness"));
            Assert.Equal(0f, Signals.Element(d, feature, "kurtosis"));
        }

        Assert.InRange(Signals.Element(d, "rms", "mean"), 0.4 / Math.Sqrt(2) * 0.99, 0.4 / Math.Sqrt(2) * 1.01);
    }

    [Fact]
    public void Silent_song_gives_finite_descriptor()
    {
        float[] d = AudioDescriptor.Describe(Signals.Silence(9.0));
        Assert.All(d, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(0f, Signals.Element(d, "spectral_centroid_hz", "max"));
        Assert.Equal(1f, Signals.Element(d, "spectral_flatness", "mean"), 5);
        Assert.Equal(0f, Signals.Element(d, "rms", "skewness"));
    }

    [Fact]
    public void Steady_tone_across_segments_has_constant_series_statistics()
    {
        float[] d = AudioDescriptor.Describe(Signals.Tone(1000, 0.5, 12.0));
        Assert.Equal(0f, Signals.Element(d, "spectral_centroid_hz", "variance"));
        Assert.Equal(0f, Signals.Element(d, "spectral_centroid_hz", "skewness"));
        Assert.Equal(0f, Signals.Element(d, "spectral_centroid_hz", "kurtosis"));
        Assert.InRange(Signals.Element(d, "spectral_centroid_hz", "mean"), 980f, 1020f);
    }

    [Fact]
    public void Changing_song_gives_segment_statistics_that_reflect_the_change()
    {
        // Three 4-second segments: tone, tone, noise. The centroid series is (~1000, ~1000, ~5500).
        MonoAudio song = Signals.Concat(Signals.Tone(1000, 0.5, 8.0), Signals.Noise(0.5, 4.0));
        double[][] means = AudioDescriptor.SegmentMeans(song);
        Assert.Equal(3, means.Length);
        float[] d = AudioDescriptor.Describe(song);
        float max = Signals.Element(d, "spectral_centroid_hz", "max");
        float min = Signals.Element(d, "spectral_centroid_hz", "min");
        Assert.InRange(min, 950f, 1100f);
        Assert.InRange(max, 5000f, 6000f);
        // Two equal values and one outlier above them: positive skewness 1/sqrt(2), excess kurtosis -1.5.
        Assert.InRange(Signals.Element(d, "spectral_centroid_hz", "skewness"), 0.69f, 0.72f);
        Assert.InRange(Signals.Element(d, "spectral_centroid_hz", "kurtosis"), -1.52f, -1.48f);
        Assert.True(Signals.Element(d, "spectral_flatness", "variance") > 0.01f);
    }

    [Fact]
    public void Series_statistics_match_hand_computed_values()
    {
        Span<double> s = stackalloc double[6];
        SeriesStatistics.Summarise([1, 2, 3, 4, 10], s);
        // mean 4, deviations -3,-2,-1,0,6: m2 = 50/5 = 10, m3 = 180/5 = 36,
        // m4 = 1394/5 = 278.8 (population moments).
        Assert.Equal(10, s[0]);
        Assert.Equal(1, s[1]);
        Assert.Equal(4, s[2]);
        Assert.Equal(10, s[3], 12);
        Assert.Equal(36 / Math.Pow(10, 1.5), s[4], 12);
        Assert.Equal(278.8 / 100.0 - 3, s[5], 12);

        SeriesStatistics.Summarise([5, 5, 5], s);
        Assert.Equal([5, 5, 5, 0, 0, 0], s.ToArray());
        Assert.Throws<ArgumentException>(() => SeriesStatistics.Summarise([1, double.NaN], new double[6]));
    }

    [Fact]
    public void Resampled_input_gives_nearly_the_same_descriptor_as_native_rate()
    {
        float[] native = AudioDescriptor.Describe(Signals.Tone(1000, 0.5, 5.0));
        float[] from44k = AudioDescriptor.Describe(Signals.Tone(1000, 0.5, 5.0, 44100));
        float[] from48k = AudioDescriptor.Describe(Signals.Tone(1000, 0.5, 5.0, 48000));
        float[] from8k = AudioDescriptor.Describe(Signals.Tone(1000, 0.5, 5.0, 8000));
        foreach (float[] other in new[] { from44k, from48k, from8k })
        {
            foreach (string f in new[] { "rms", "zero_crossing_rate", "spectral_centroid_hz", "spectral_rolloff85_hz" })
            {
                float a = Signals.Element(native, f, "mean"), b = Signals.Element(other, f, "mean");
                Assert.InRange(b, a * 0.98f, a * 1.02f);
            }
        }
    }

    [Fact]
    public void Resampler_keeps_tone_and_removes_content_above_new_nyquist()
    {
        // 9 kHz survives 44.1 -> 22.05 kHz; 15 kHz (above the new 11.025 kHz Nyquist) must be filtered, not aliased.
        MonoAudio kept = Resampler.Resample(Signals.Tone(9000, 0.5, 1.0, 44100), 22050);
        MonoAudio removed = Resampler.Resample(Signals.Tone(15000, 0.5, 1.0, 44100), 22050);
        Assert.Equal(22050, kept.Samples.Length);
        double Rms(float[] x) => Math.Sqrt(x.Skip(100).Take(x.Length - 200).Average(v => (double)v * v));
        Assert.InRange(Rms(kept.Samples), 0.5 / Math.Sqrt(2) * 0.97, 0.5 / Math.Sqrt(2) * 1.03);
        Assert.True(Rms(removed.Samples) < 0.005, $"aliased residue rms {Rms(removed.Samples)}");
    }
}
