using Federated.Audio;

namespace Federated.Audio.Tests;

/// <summary>Synthesised test signals with known properties.</summary>
internal static class Signals
{
    public static MonoAudio Tone(double hz, double amplitude, double seconds, int sampleRate = AnalysisSettings.SampleRate)
    {
        var x = new float[(int)(seconds * sampleRate)];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(amplitude * Math.Sin(2 * Math.PI * hz * i / sampleRate));
        }

        return new MonoAudio(x, sampleRate);
    }

    /// <summary>Uniform white noise in [-amplitude, amplitude], deterministic by seed.</summary>
    public static MonoAudio Noise(double amplitude, double seconds, int seed = 7, int sampleRate = AnalysisSettings.SampleRate)
    {
        var random = new Random(seed);
        var x = new float[(int)(seconds * sampleRate)];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(amplitude * (2 * random.NextDouble() - 1));
        }

        return new MonoAudio(x, sampleRate);
    }

    public static MonoAudio Silence(double seconds, int sampleRate = AnalysisSettings.SampleRate) =>
        new(new float[(int)(seconds * sampleRate)], sampleRate);

    public static MonoAudio Concat(params MonoAudio[] parts)
    {
        int rate = parts[0].SampleRate;
        return new MonoAudio(parts.SelectMany(p => p.Samples).ToArray(), rate);
    }

    /// <summary>Mean of one frame feature over all frames of a signal.</summary>
    public static double MeanFeature(MonoAudio audio, string feature)
    {
        int index = DescriptorLayout.Features.ToList().IndexOf(feature);
        Assert.True(index >= 0, $"unknown feature {feature}");
        double sum = 0;
        int count = 0;
        new FrameFeatureExtractor().Extract(audio.Samples, (_, f) =>
        {
            sum += f[index];
            count++;
        });
        return sum / count;
    }

    public static float Element(float[] descriptor, string feature, string statistic) =>
        descriptor[DescriptorLayout.IndexOf(feature, statistic)];
}
