namespace Federated.Audio;

/// <summary>
/// The fixed analysis parameters of descriptor layout <see cref="DescriptorLayout.Version"/>. Changing any of them
/// changes what the numbers mean, so they are constants, not options.
/// </summary>
public static class AnalysisSettings
{
    /// <summary>All audio is resampled to this rate before analysis (also what ffmpeg is asked to produce).</summary>
    public const int SampleRate = 22_050;

    /// <summary>Frame length in samples (about 92.9 ms), periodic Hann window.</summary>
    public const int FrameLength = 2048;

    /// <summary>Hop between frame starts in samples (about 23.2 ms).</summary>
    public const int HopLength = 512;

    /// <summary>Segment length in seconds over which frame features are averaged.</summary>
    public const int SegmentSeconds = 4;

    /// <summary>A trailing part shorter than this (seconds) joins the previous segment instead of forming its own.</summary>
    public const double MinTrailingSegmentSeconds = 1.0;

    /// <summary>Number of triangular mel filters (HTK mel scale) between 0 Hz and the Nyquist frequency.</summary>
    public const int MelBands = 40;

    /// <summary>MFCC coefficients kept: c1..c13 (c0, the overall level, is left out; RMS carries it).</summary>
    public const int MfccCount = 13;

    /// <summary>Fraction of spectral energy below the roll-off frequency.</summary>
    public const double RolloffFraction = 0.85;

    /// <summary>Floor on bin and mel-band power (power of a 1e-5 amplitude sine, -100 dB) before logarithms.</summary>
    public const double PowerFloor = 1e-10;

    /// <summary>A frame whose summed spectral magnitude is below this is silent: centroid, bandwidth and roll-off
    /// are defined as 0 Hz for it.</summary>
    public const double SilenceMagnitude = 1e-9;

    public const int SegmentSamples = SampleRate * SegmentSeconds;
}
