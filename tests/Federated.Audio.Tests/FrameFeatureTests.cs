namespace Federated.Audio.Tests;

/// <summary>Frame features on synthesised signals whose answers are known analytically.</summary>
[Trait("Category", "Unit")]
public class FrameFeatureTests
{
    [Theory]
    [InlineData(440.0)]
    [InlineData(1000.0)]
    [InlineData(3000.0)]
    public void Pure_tone_centroid_and_rolloff_sit_at_its_frequency(double hz)
    {
        MonoAudio tone = Signals.Tone(hz, 0.5, 2.0);
        double centroid = Signals.MeanFeature(tone, "spectral_centroid_hz");
        double rolloff = Signals.MeanFeature(tone, "spectral_rolloff85_hz");
        double bandwidth = Signals.MeanFeature(tone, "spectral_bandwidth_hz");
        Assert.InRange(centroid, hz * 0.995, hz * 1.005);
        double bin = (double)AnalysisSettings.SampleRate / AnalysisSettings.FrameLength;
        Assert.InRange(rolloff, hz - 2 * bin, hz + 2 * bin);
        Assert.InRange(bandwidth, 0, 0.1 * hz); // energy concentrated in the main lobe
    }

    [Fact]
    public void Pure_tone_is_not_flat_and_white_noise_is()
    {
        double toneFlatness = Signals.MeanFeature(Signals.Tone(1000, 0.5, 2.0), "spectral_flatness");
        double noiseFlatness = Signals.MeanFeature(Signals.Noise(0.5, 2.0), "spectral_flatness");
        Assert.InRange(toneFlatness, 0, 1e-5);
        // Periodogram bins of white noise are exponential: geometric/arithmetic mean near exp(-0.5772) = 0.56.
        Assert.InRange(noiseFlatness, 0.5, 0.62);
    }

    [Fact]
    public void White_noise_centroid_is_near_half_nyquist()
    {
        double centroid = Signals.MeanFeature(Signals.Noise(0.5, 2.0), "spectral_centroid_hz");
        Assert.InRange(centroid, 0.45 * AnalysisSettings.SampleRate / 2, 0.55 * AnalysisSettings.SampleRate / 2);
    }

    [Theory]
    [InlineData(220.0)]
    [InlineData(1500.0)]
    public void Zero_crossing_rate_of_tone_is_twice_frequency_over_sample_rate(double hz)
    {
        double zcr = Signals.MeanFeature(Signals.Tone(hz, 0.3, 2.0), "zero_crossing_rate");
        double expected = 2 * hz / AnalysisSettings.SampleRate;
        Assert.InRange(zcr, expected * 0.97, expected * 1.03);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.8)]
    public void Rms_of_sine_is_amplitude_over_root_two(double amplitude)
    {
        double rms = Signals.MeanFeature(Signals.Tone(1000, amplitude, 2.0), "rms");
        Assert.InRange(rms, amplitude / Math.Sqrt(2) * 0.99, amplitude / Math.Sqrt(2) * 1.01);
    }

    [Fact]
    public void Silence_gives_finite_defined_values()
    {
        var frames = new List<double[]>();
        new FrameFeatureExtractor().Extract(Signals.Silence(1.0).Samples, (_, f) => frames.Add(f.ToArray()));
        Assert.NotEmpty(frames);
        foreach (double[] f in frames)
        {
            Assert.All(f, v => Assert.True(double.IsFinite(v)));
            Assert.Equal(0, f[DescriptorLayout.Rms]);
            Assert.Equal(0, f[DescriptorLayout.ZeroCrossingRate]);
            Assert.Equal(0, f[DescriptorLayout.SpectralCentroid]);
            Assert.Equal(0, f[DescriptorLayout.SpectralBandwidth]);
            Assert.Equal(0, f[DescriptorLayout.SpectralRolloff]);
            Assert.Equal(1.0, f[DescriptorLayout.SpectralFlatness], 9); // every bin at the floor: perfectly flat
            Assert.Equal(0, f[DescriptorLayout.SpectralFlux]);
            for (int c = 0; c < AnalysisSettings.MfccCount; c++)
            {
                Assert.Equal(0, f[DescriptorLayout.FirstMfcc + c], 9); // constant log-mel: no shape
            }
        }
    }

    [Fact]
    public void Flux_is_zero_for_steady_tone_and_large_at_onset()
    {
        MonoAudio audio = Signals.Concat(Signals.Silence(0.5), Signals.Tone(1000, 0.5, 0.5));
        var flux = new List<(int Start, double Value)>();
        new FrameFeatureExtractor().Extract(audio.Samples,
            (start, f) => flux.Add((start, f[DescriptorLayout.SpectralFlux])));
        int onset = (int)(0.5 * AnalysisSettings.SampleRate);
        double steady = flux.Where(x => x.Start > onset + 2048).Max(x => x.Value);
        double atOnset = flux.Where(x => x.Start < onset && x.Start + 2048 > onset).Max(x => x.Value);
        Assert.True(steady < 1e-3, $"steady-tone flux {steady}");
        Assert.True(atOnset > 0.1, $"onset flux {atOnset}");
        Assert.Equal(0, flux[0].Value);
    }

    [Fact]
    public void Mfccs_separate_tone_from_noise_and_ignore_level_in_higher_coefficients()
    {
        double[] Mfccs(MonoAudio a) => Enumerable.Range(1, AnalysisSettings.MfccCount)
            .Select(i => Signals.MeanFeature(a, $"mfcc{i:00}")).ToArray();

        double[] quietNoise = Mfccs(Signals.Noise(0.05, 1.0));
        double[] loudNoise = Mfccs(Signals.Noise(0.5, 1.0));
        double[] tone = Mfccs(Signals.Tone(500, 0.5, 1.0));

        // A gain change shifts every log-mel band equally, which only c0 (not kept) sees.
        for (int i = 0; i < quietNoise.Length; i++)
        {
            Assert.InRange(loudNoise[i] - quietNoise[i], -0.5, 0.5);
        }

        double distance = Math.Sqrt(tone.Zip(loudNoise, (a, b) => (a - b) * (a - b)).Sum());
        Assert.True(distance > 20, $"tone vs noise MFCC distance {distance} dB");
    }

    [Fact]
    public void Short_signal_gives_one_padded_frame()
    {
        Assert.Equal(1, FrameFeatureExtractor.FrameCount(100));
        Assert.Equal(1, FrameFeatureExtractor.FrameCount(2048));
        Assert.Equal(2, FrameFeatureExtractor.FrameCount(2048 + 512));
        double rms = Signals.MeanFeature(new MonoAudio(Enumerable.Repeat(0.25f, 100).ToArray(), 22050), "rms");
        Assert.Equal(0.25, rms, 6); // RMS over real samples only, not the zero padding
    }
}
