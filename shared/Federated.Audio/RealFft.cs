namespace Federated.Audio;

/// <summary>
/// Forward DFT of a real frame of power-of-two length N, unscaled: X[k] = Σ x[n]·e^(−2πikn/N), k = 0..N/2.
/// Computed as an iterative radix-2 complex FFT of length N/2 over the even/odd samples, then split into the real
/// spectrum. Single-threaded on purpose: songs are already analysed in parallel, one per core. One instance per
/// thread (it owns scratch buffers).
/// </summary>
public sealed class RealFft
{
    private readonly int _n;
    private readonly int _half;
    private readonly int[] _bitReverse;
    private readonly double[] _cos;      // cos(2πj/half), j < half/2: complex stage twiddles
    private readonly double[] _sin;
    private readonly double[] _splitCos; // cos(2πk/N), k <= half: real-spectrum split twiddles
    private readonly double[] _splitSin;
    private readonly double[] _re;
    private readonly double[] _im;

    public RealFft(int length)
    {
        if (length < 4 || (length & (length - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "FFT length must be a power of two >= 4");
        }

        _n = length;
        _half = length / 2;
        _re = new double[_half];
        _im = new double[_half];

        int bits = System.Numerics.BitOperations.Log2((uint)_half);
        _bitReverse = new int[_half];
        for (int i = 0; i < _half; i++)
        {
            int r = 0;
            for (int b = 0; b < bits; b++)
            {
                r |= ((i >> b) & 1) << (bits - 1 - b);
            }

            _bitReverse[i] = r;
        }

        _cos = new double[Math.Max(1, _half / 2)];
        _sin = new double[_cos.Length];
        for (int j = 0; j < _cos.Length; j++)
        {
            _cos[j] = Math.Cos(2 * Math.PI * j / _half);
            _sin[j] = Math.Sin(2 * Math.PI * j / _half);
        }

        _splitCos = new double[_half + 1];
        _splitSin = new double[_half + 1];
        for (int k = 0; k <= _half; k++)
        {
            _splitCos[k] = Math.Cos(2 * Math.PI * k / _n);
            _splitSin[k] = Math.Sin(2 * Math.PI * k / _n);
        }
    }

    public int Length => _n;

    /// <summary>Bins 0..N/2 of the spectrum of <paramref name="input"/> (length N) into <paramref name="real"/>
    /// and <paramref name="imaginary"/> (length N/2 + 1 each).</summary>
    public void Forward(ReadOnlySpan<double> input, Span<double> real, Span<double> imaginary)
    {
        if (input.Length != _n)
        {
            throw new ArgumentException($"expected {_n} samples, got {input.Length}", nameof(input));
        }

        if (real.Length < _half + 1 || imaginary.Length < _half + 1)
        {
            throw new ArgumentException($"output spans need {_half + 1} bins");
        }

        // Pack even samples as real parts and odd samples as imaginary parts, in bit-reversed order.
        double[] re = _re, im = _im;
        for (int i = 0; i < _half; i++)
        {
            int j = _bitReverse[i];
            re[j] = input[2 * i];
            im[j] = input[2 * i + 1];
        }

        // Radix-2 butterflies; twiddle e^(−2πij/size) read from the half-length table with stride.
        for (int size = 2; size <= _half; size <<= 1)
        {
            int halfSize = size >> 1;
            int stride = _half / size;
            for (int start = 0; start < _half; start += size)
            {
                for (int j = 0; j < halfSize; j++)
                {
                    double wr = _cos[j * stride], wi = -_sin[j * stride];
                    int a = start + j, b = a + halfSize;
                    double tr = wr * re[b] - wi * im[b];
                    double ti = wr * im[b] + wi * re[b];
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
        }

        // Split: X[k] = E[k] + e^(−2πik/N)·O[k], with E = (Z[k] + conj Z[M−k]) / 2, O = (Z[k] − conj Z[M−k]) / 2i.
        for (int k = 0; k <= _half; k++)
        {
            int p = k == _half ? 0 : k;
            int q = k == 0 ? 0 : _half - k;
            double zr = re[p], zi = im[p], cr = re[q], ci = -im[q];
            double er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci);
            // (z − c) / 2i = (zi − ci)/2 − i (zr − cr)/2
            double or = 0.5 * (zi - ci), oi = -0.5 * (zr - cr);
            double wr = _splitCos[k], wi = -_splitSin[k];
            real[k] = er + wr * or - wi * oi;
            imaginary[k] = ei + wr * oi + wi * or;
        }
    }
}
