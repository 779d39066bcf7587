namespace Federated.Audio;

/// <summary>
/// Computes the <see cref="DescriptorLayout.Features"/> of every analysis frame of a signal at
/// <see cref="AnalysisSettings.SampleRate"/>. One instance holds scratch buffers for one song at a time; it is not
/// thread-safe (the shared tables are).
/// </summary>
public sealed class FrameFeatureExtractor
{
    private readonly SpectralTables _tables = SpectralTables.Instance;
    private readonly RealFft _fft = new(AnalysisSettings.FrameLength);
    private readonly double[] _windowed = new double[AnalysisSettings.FrameLength];
    private readonly double[] _re = new double[AnalysisSettings.FrameLength / 2 + 1];
    private readonly double[] _im = new double[AnalysisSettings.FrameLength / 2 + 1];
    private readonly double[] _frame = new double[AnalysisSettings.FrameLength];
    private readonly double[] _magnitude;
    private readonly double[] _previousMagnitude;
    private readonly double[] _power;
    private readonly double[] _logMel = new double[AnalysisSettings.MelBands];
    private bool _hasPrevious;

    public FrameFeatureExtractor()
    {
        _magnitude = new double[_tables.Bins];
        _previousMagnitude = new double[_tables.Bins];
        _power = new double[_tables.Bins];
    }

    /// <summary>Number of frames for a signal of <paramref name="sampleCount"/> samples: frames that fit entirely,
    /// or one zero-padded frame when the signal is shorter than a frame.</summary>
    public static int FrameCount(int sampleCount) =>
        sampleCount <= AnalysisSettings.FrameLength
            ? 1
            : 1 + (sampleCount - AnalysisSettings.FrameLength) / AnalysisSettings.HopLength;

    /// <summary>
    /// Calls <paramref name="onFrame"/> for each frame in order with the frame's start sample and its features
    /// (the span is reused between calls). Spectral flux is 0 for the first frame.
    /// </summary>
    public void Extract(ReadOnlySpan<float> samples, FrameCallback onFrame)
    {
        ArgumentNullException.ThrowIfNull(onFrame);
        Span<double> features = stackalloc double[DescriptorLayout.FeatureCount];
        int frames = FrameCount(samples.Length);
        _hasPrevious = false;
        for (int t = 0; t < frames; t++)
        {
            int start = t * AnalysisSettings.HopLength;
            int available = Math.Min(AnalysisSettings.FrameLength, samples.Length - start);
            for (int i = 0; i < available; i++)
            {
                _frame[i] = samples[start + i];
            }

            Array.Clear(_frame, available, AnalysisSettings.FrameLength - available);
            ComputeFrame(available, features);
            onFrame(start, features);
        }
    }

    public delegate void FrameCallback(int startSample, ReadOnlySpan<double> features);

    private void ComputeFrame(int validSamples, Span<double> f)
    {
        int n = AnalysisSettings.FrameLength;

        // Time-domain features over the real (unpadded) samples only.
        double sumSquares = 0;
        int crossings = 0;
        for (int i = 0; i < validSamples; i++)
        {
            double x = _frame[i];
            sumSquares += x * x;
            if (i > 0 && (_frame[i - 1] >= 0) != (x >= 0))
            {
                crossings++;
            }
        }

        f[DescriptorLayout.Rms] = validSamples > 0 ? Math.Sqrt(sumSquares / validSamples) : 0.0;
        f[DescriptorLayout.ZeroCrossingRate] = validSamples > 1 ? (double)crossings / (validSamples - 1) : 0.0;

        // Spectrum of the Hann-windowed frame.
        double[] window = _tables.Window;
        for (int i = 0; i < n; i++)
        {
            _windowed[i] = _frame[i] * window[i];
        }

        _fft.Forward(_windowed, _re, _im);

        int bins = _tables.Bins;
        double scale = _tables.MagnitudeScale;
        double magnitudeSum = 0, powerSum = 0, weightedHz = 0;
        double[] hz = _tables.BinHz;
        for (int k = 0; k < bins; k++)
        {
            double re = _re[k], im = _im[k];
            double mag = Math.Sqrt(re * re + im * im) * scale;
            _magnitude[k] = mag;
            _power[k] = mag * mag;
            magnitudeSum += mag;
            powerSum += mag * mag;
            weightedHz += mag * hz[k];
        }

        if (magnitudeSum < AnalysisSettings.SilenceMagnitude)
        {
            f[DescriptorLayout.SpectralCentroid] = 0;
            f[DescriptorLayout.SpectralBandwidth] = 0;
            f[DescriptorLayout.SpectralRolloff] = 0;
        }
        else
        {
            double centroid = weightedHz / magnitudeSum;
            double spread = 0;
            for (int k = 0; k < bins; k++)
            {
                double d = hz[k] - centroid;
                spread += _magnitude[k] * d * d;
            }

            f[DescriptorLayout.SpectralCentroid] = centroid;
            f[DescriptorLayout.SpectralBandwidth] = Math.Sqrt(spread / magnitudeSum);

            double threshold = AnalysisSettings.RolloffFraction * powerSum;
            double cumulative = 0;
            int rolloffBin = bins - 1;
            for (int k = 0; k < bins; k++)
            {
                cumulative += _power[k];
                if (cumulative >= threshold)
                {
                    rolloffBin = k;
                    break;
                }
            }

            f[DescriptorLayout.SpectralRolloff] = hz[rolloffBin];
        }

        // Flatness: geometric over arithmetic mean of floored power; 1 for silence (every bin at the floor).
        double floor = AnalysisSettings.PowerFloor;
        double logSum = 0, flooredSum = 0;
        for (int k = 0; k < bins; k++)
        {
            double p = Math.Max(_power[k], floor);
            logSum += Math.Log(p);
            flooredSum += p;
        }

        f[DescriptorLayout.SpectralFlatness] = Math.Min(1.0, Math.Exp(logSum / bins) / (flooredSum / bins));

        // Flux: L2 norm of the magnitude increases since the previous frame.
        double flux = 0;
        if (_hasPrevious)
        {
            for (int k = 0; k < bins; k++)
            {
                double rise = _magnitude[k] - _previousMagnitude[k];
                if (rise > 0)
                {
                    flux += rise * rise;
                }
            }
        }

        f[DescriptorLayout.SpectralFlux] = Math.Sqrt(flux);
        Array.Copy(_magnitude, _previousMagnitude, bins);
        _hasPrevious = true;

        // MFCC: mel band power in dB (floored), then the orthonormal DCT-II, coefficients c1..c13.
        for (int b = 0; b < AnalysisSettings.MelBands; b++)
        {
            double[] w = _tables.MelWeights[b];
            int first = _tables.MelStart[b];
            double energy = 0;
            for (int j = 0; j < w.Length; j++)
            {
                energy += w[j] * _power[first + j];
            }

            _logMel[b] = 10.0 * Math.Log10(Math.Max(energy, floor));
        }

        double[][] dct = _tables.Dct;
        for (int c = 0; c < dct.Length; c++)
        {
            double acc = 0;
            double[] row = dct[c];
            for (int j = 0; j < row.Length; j++)
            {
                acc += row[j] * _logMel[j];
            }

            f[DescriptorLayout.FirstMfcc + c] = acc;
        }
    }
}
