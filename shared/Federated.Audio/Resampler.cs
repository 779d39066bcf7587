using System.Numerics;

namespace Federated.Audio;

/// <summary>
/// Band-limited sample-rate conversion by windowed-sinc interpolation (Blackman window, 16 zero crossings each
/// side at the narrower of the two Nyquist limits). Kernels are tabulated per output phase: exactly for ratios
/// whose reduced denominator is at most <see cref="MaxPhases"/> (every common rate pair), otherwise quantised to
/// that many phases. Descriptors are always computed at one analysis rate so that songs recorded at different
/// rates are comparable.
/// </summary>
public static class Resampler
{
    public const int MaxPhases = 2048;
    private const int ZeroCrossings = 16;
    private const double PassbandFraction = 0.95;

    public static MonoAudio Resample(MonoAudio input, int targetRate)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentOutOfRangeException.ThrowIfLessThan(targetRate, 1);
        if (input.SampleRate == targetRate)
        {
            return input;
        }

        int inRate = input.SampleRate;
        int g = Gcd(inRate, targetRate);
        int step = inRate / g;          // input advance per output sample, in units of 1/phases
        int exactPhases = targetRate / g;
        int phases = Math.Min(exactPhases, MaxPhases);

        // Cutoff in cycles per input sample; the kernel widens when downsampling so the filter stays sharp.
        double ratio = (double)targetRate / inRate;
        double cutoff = 0.5 * Math.Min(1.0, ratio) * PassbandFraction;
        int half = (int)Math.Ceiling(ZeroCrossings / Math.Min(1.0, ratio));
        int taps = 2 * half;
        float[] table = BuildTable(phases, taps, half, cutoff);

        float[] x = input.Samples;
        long outLength = Math.Max(1, (long)x.Length * targetRate / inRate);
        if (outLength > Array.MaxLength)
        {
            throw new ArgumentException($"resampled audio would hold {outLength} samples, more than an array can hold",
                nameof(input));
        }

        var y = new float[outLength];
        for (long m = 0; m < outLength; m++)
        {
            // Position of output sample m on the input grid: n + frac / exactPhases.
            long numerator = m * step;
            long n = numerator / exactPhases;
            long frac = numerator - n * exactPhases;
            int phase = (int)(frac * phases / exactPhases);
            int row = phase * taps;
            long first = n - half + 1;
            double acc = 0;
            if (first >= 0 && first + taps <= x.Length)
            {
                acc = Dot(x.AsSpan((int)first, taps), table.AsSpan(row, taps));
            }
            else
            {
                for (int j = 0; j < taps; j++)
                {
                    long k = first + j;
                    if (k >= 0 && k < x.Length)
                    {
                        acc += x[k] * table[row + j];
                    }
                }
            }

            y[m] = (float)acc;
        }

        return new MonoAudio(y, targetRate);
    }

    /// <summary>SIMD dot product; the kernel is short (32 to a few hundred taps), so float accumulation is exact
    /// enough for audio.</summary>
    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var sum = Vector<float>.Zero;
        int i = 0;
        int lanes = Vector<float>.Count;
        for (; i <= a.Length - lanes; i += lanes)
        {
            sum += new Vector<float>(a.Slice(i, lanes)) * new Vector<float>(b.Slice(i, lanes));
        }

        float total = Vector.Sum(sum);
        for (; i < a.Length; i++)
        {
            total += a[i] * b[i];
        }

        return total;
    }

    private static float[] BuildTable(int phases, int taps, int half, double cutoff)
    {
        var table = new float[phases * taps];
        var kernel = new double[taps];
        for (int p = 0; p < phases; p++)
        {
            double offset = (double)p / phases;
            double sum = 0;
            for (int j = 0; j < taps; j++)
            {
                // Tap j multiplies input sample n - half + 1 + j; its distance from the output position.
                double d = offset + half - 1 - j;
                double v = 2 * cutoff * Sinc(2 * cutoff * d) * Blackman(d / half);
                kernel[j] = v;
                sum += v;
            }

            // Unit gain at DC for every phase, so a constant input stays constant.
            for (int j = 0; j < taps; j++)
            {
                table[p * taps + j] = (float)(kernel[j] / sum);
            }
        }

        return table;
    }

    private static double Sinc(double x) => Math.Abs(x) < 1e-12 ? 1.0 : Math.Sin(Math.PI * x) / (Math.PI * x);

    private static double Blackman(double u) =>
        Math.Abs(u) >= 1.0 ? 0.0 : 0.42 + 0.5 * Math.Cos(Math.PI * u) + 0.08 * Math.Cos(2 * Math.PI * u);

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
