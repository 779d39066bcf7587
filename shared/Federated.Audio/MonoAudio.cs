namespace Federated.Audio;

/// <summary>Decoded audio mixed down to one channel, samples in [-1, 1] full scale.</summary>
public sealed class MonoAudio
{
    public MonoAudio(float[] samples, int sampleRate)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleRate, 1);
        Samples = samples;
        SampleRate = sampleRate;
    }

    public float[] Samples { get; }

    public int SampleRate { get; }

    public double DurationSeconds => (double)Samples.Length / SampleRate;
}
