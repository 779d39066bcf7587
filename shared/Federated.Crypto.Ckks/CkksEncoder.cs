using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Federated.Crypto.Ckks.Arithmetic;

namespace Federated.Crypto.Ckks;

/// <summary>
/// CKKS encoding through the canonical embedding: slot j is the evaluation at zeta^(5^j) (zeta = e^(i*pi/N)), so
/// X -> X^5 rotates the slots left by one. Encoding rounds scale * coefficients to integers and writes them into the
/// RNS primes exactly, also when they exceed 64 bits (scales near 2^60 and beyond).
/// </summary>
public sealed class CkksEncoder
{
    private readonly CkksContext _ctx;
    private readonly int _n;
    private readonly int[] _slotIndex;     // t with 2t+1 = 5^j mod 2N
    private readonly int[] _conjIndex;     // t with 2t+1 = -5^j mod 2N
    private readonly double[] _twistRe, _twistIm;   // zeta^k
    private readonly double[] _fftCos, _fftSin;     // e^(2 pi i m / N), m < N/2
    private readonly int[] _bitrev;
    private readonly double[] _stageCos, _stageSin;  // per FFT stage of half-span h: e^(pi i k / h) at index h + k
    private readonly ulong[][] _pow2Mod;  // 2^e mod q_i for e in [0, 1024)

    public CkksEncoder(CkksContext context)
    {
        _ctx = context ?? throw new ArgumentNullException(nameof(context));
        _n = context.N;
        int n = _n, slots = n / 2;
        _slotIndex = new int[slots];
        _conjIndex = new int[slots];
        ulong m = 2UL * (ulong)n, g = 1;
        for (int j = 0; j < slots; j++)
        {
            _slotIndex[j] = (int)((g - 1) / 2);
            _conjIndex[j] = (int)((m - g - 1) / 2);
            g = g * 5 % m;
        }
        _twistRe = new double[n];
        _twistIm = new double[n];
        for (int k = 0; k < n; k++)
        {
            (double s, double c) = Math.SinCos(Math.PI * k / n);
            _twistRe[k] = c;
            _twistIm[k] = s;
        }
        _fftCos = new double[n / 2];
        _fftSin = new double[n / 2];
        for (int k = 0; k < n / 2; k++)
        {
            (double s, double c) = Math.SinCos(2 * Math.PI * k / n);
            _fftCos[k] = c;
            _fftSin[k] = s;
        }
        _stageCos = new double[n];
        _stageSin = new double[n];
        for (int half = 1; half < n; half <<= 1)
            for (int k = 0; k < half; k++)
            {
                _stageCos[half + k] = _fftCos[k * (n / (2 * half))];
                _stageSin[half + k] = _fftSin[k * (n / (2 * half))];
            }
        _bitrev = new int[n];
        for (int k = 0; k < n; k++) _bitrev[k] = (int)NttTables.BitReverse((uint)k, context.LogN);
        _pow2Mod = new ulong[context.Moduli.Length][];
        for (int i = 0; i < context.Moduli.Length; i++)
        {
            var t = new ulong[1024];
            Modulus q = context.Moduli[i];
            t[0] = 1;
            for (int e = 1; e < 1024; e++) t[e] = q.Add(t[e - 1], t[e - 1]);
            _pow2Mod[i] = t;
        }
    }

    public CkksContext Context => _ctx;
    public int SlotCount => _n / 2;

    /// <summary>Whether the FFT and coefficient loops take their eight-lane (AVX-512) forms.</summary>
    internal static bool UsesVectorKernels => Simd.IsSupported;

    /// <summary>In-place FFT: X_t = sum_k x_k e^(sign * 2 pi i t k / N). Stages of half-span 8 and more run eight
    /// lanes at a time with the same products and sums as <see cref="FftReference"/> (no fused multiply-add), so both
    /// give the same bits.</summary>
    internal void Fft(Span<double> re, Span<double> im, int sign)
    {
        if (!UsesVectorKernels || _n < 16) { FftReference(re, im, sign); return; }
        int n = _n;
        for (int i = 0; i < n; i++)
        {
            int r = _bitrev[i];
            if (r > i)
            {
                (re[i], re[r]) = (re[r], re[i]);
                (im[i], im[r]) = (im[r], im[i]);
            }
        }
        for (int len = 2; len <= 8; len <<= 1) ScalarFftStage(re, im, sign, len);
        ref double pr = ref MemoryMarshal.GetReference(re), pi = ref MemoryMarshal.GetReference(im);
        ref double pc = ref MemoryMarshal.GetArrayDataReference(_stageCos), ps = ref MemoryMarshal.GetArrayDataReference(_stageSin);
        var vsign = Vector512.Create((double)sign);
        for (int len = 16; len <= n; len <<= 1)
        {
            int half = len >> 1;
            for (int start = 0; start < n; start += len)
                for (int k = 0; k < half; k += 8)
                {
                    var wr = Vector512.LoadUnsafe(ref pc, (nuint)(half + k));
                    var wi = vsign * Vector512.LoadUnsafe(ref ps, (nuint)(half + k));
                    nuint a = (nuint)(start + k), b = a + (nuint)half;
                    var br = Vector512.LoadUnsafe(ref pr, b);
                    var bi = Vector512.LoadUnsafe(ref pi, b);
                    var xr = br * wr - bi * wi;
                    var xi = br * wi + bi * wr;
                    var ar = Vector512.LoadUnsafe(ref pr, a);
                    var ai = Vector512.LoadUnsafe(ref pi, a);
                    (ar - xr).StoreUnsafe(ref pr, b);
                    (ai - xi).StoreUnsafe(ref pi, b);
                    (ar + xr).StoreUnsafe(ref pr, a);
                    (ai + xi).StoreUnsafe(ref pi, a);
                }
        }
    }

    private void ScalarFftStage(Span<double> re, Span<double> im, int sign, int len)
    {
        int n = _n, half = len >> 1, stride = n / len;
        for (int start = 0; start < n; start += len)
        {
            for (int k = 0; k < half; k++)
            {
                double wr = _fftCos[k * stride], wi = sign * _fftSin[k * stride];
                int a = start + k, b = a + half;
                double xr = re[b] * wr - im[b] * wi;
                double xi = re[b] * wi + im[b] * wr;
                re[b] = re[a] - xr; im[b] = im[a] - xi;
                re[a] += xr; im[a] += xi;
            }
        }
    }

    /// <summary>The scalar FFT, the reference of <see cref="Fft"/>.</summary>
    internal void FftReference(Span<double> re, Span<double> im, int sign)
    {
        int n = _n;
        for (int i = 0; i < n; i++)
        {
            int r = _bitrev[i];
            if (r > i)
            {
                (re[i], re[r]) = (re[r], re[i]);
                (im[i], im[r]) = (im[r], im[i]);
            }
        }
        for (int len = 2; len <= n; len <<= 1)
        {
            int half = len >> 1, stride = n / len;
            for (int start = 0; start < n; start += len)
            {
                for (int k = 0; k < half; k++)
                {
                    double wr = _fftCos[k * stride], wi = sign * _fftSin[k * stride];
                    int a = start + k, b = a + half;
                    double xr = re[b] * wr - im[b] * wi;
                    double xi = re[b] * wi + im[b] * wr;
                    re[b] = re[a] - xr; im[b] = im[a] - xi;
                    re[a] += xr; im[a] += xi;
                }
            }
        }
    }

    public Plaintext Encode(ReadOnlySpan<double> values, double scale, int? level = null)
    {
        var p = new Plaintext(_ctx, level ?? _ctx.MaxLevel, scale);
        Encode(values, scale, p);
        return p;
    }

    public Plaintext Encode(ReadOnlySpan<Complex> values, double scale, int? level = null)
    {
        var p = new Plaintext(_ctx, level ?? _ctx.MaxLevel, scale);
        Encode(values, scale, p);
        return p;
    }

    /// <summary>Encodes real slot values into <paramref name="destination"/> at its level (missing slots are 0).</summary>
    public void Encode(ReadOnlySpan<double> values, double scale, Plaintext destination)
    {
        CheckValues(values.Length);
        using var points = new PooledPoints(_n);
        PlaceSlots(values, points.Re, points.Im);
        FinishEncode(points.Re, points.Im, scale, destination);
    }

    public void Encode(ReadOnlySpan<Complex> values, double scale, Plaintext destination)
    {
        CheckValues(values.Length);
        using var points = new PooledPoints(_n);
        PlaceSlots(values, points.Re, points.Im);
        FinishEncode(points.Re, points.Im, scale, destination);
    }

    /// <summary>A constant in every slot: the constant polynomial round(value * scale).</summary>
    public Plaintext Encode(double value, double scale, int? level = null)
    {
        var p = new Plaintext(_ctx, level ?? _ctx.MaxLevel, scale);
        Encode(value, scale, p);
        return p;
    }

    /// <summary>Constant encoding into an existing plaintext (at its level): one residue per prime, broadcast,
    /// because a constant polynomial has the same value at every NTT point.</summary>
    public void Encode(double value, double scale, Plaintext destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        CheckScale(scale, destination.Level);
        destination.Reshape(destination.Level, scale);
        Span<double> coeff = [value * scale];
        Span<ulong> residues = stackalloc ulong[destination.PrimeCount];
        ScaledToResidues(coeff[0], destination.Level, residues, 0);
        for (int i = 0; i < destination.PrimeCount; i++) destination.Component(i).Fill(residues[i]);
    }

    /// <summary>
    /// Coefficient encoding: values[c] * scale, rounded, becomes coefficient c (up to N values; the rest are zero).
    /// A polynomial product of two coefficient encodings is their negacyclic convolution, which the coefficient-packed
    /// batch-sum product uses instead of rotations. Decode with <see cref="DecodeCoefficients"/>.
    /// </summary>
    public void EncodeCoefficients(ReadOnlySpan<double> values, double scale, Plaintext destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (values.Length > _n) throw new ArgumentException($"at most {_n} coefficients fit, got {values.Length}");
        double[] scaled = ArrayPool<double>.Shared.Rent(values.Length);
        try
        {
            for (int c = 0; c < values.Length; c++) scaled[c] = values[c] * scale;
            EncodeScaledCoefficients(scaled.AsSpan(0, values.Length), scale, destination);
        }
        finally { ArrayPool<double>.Shared.Return(scaled); }
    }

    public Plaintext EncodeCoefficients(ReadOnlySpan<double> values, double scale, int? level = null)
    {
        var plaintext = new Plaintext(_ctx, level ?? _ctx.MaxLevel, scale);
        EncodeCoefficients(values, scale, plaintext);
        return plaintext;
    }

    /// <summary>Real and imaginary parts of the N evaluation points of one encode or decode, in pooled arrays.</summary>
    private readonly struct PooledPoints : IDisposable
    {
        public readonly double[] Re, Im;

        public PooledPoints(int n)
        {
            Re = ArrayPool<double>.Shared.Rent(n);
            Im = ArrayPool<double>.Shared.Rent(n);
        }

        public void Dispose()
        {
            ArrayPool<double>.Shared.Return(Re);
            ArrayPool<double>.Shared.Return(Im);
        }
    }

    /// <summary>
    /// The N evaluation points of the message in (re, im): each slot value at its slot and its conjugate at the
    /// conjugate point (so the polynomial is real); the points of missing slots are 0.
    /// </summary>
    private void PlaceSlots(ReadOnlySpan<double> values, double[] re, double[] im)
    {
        Array.Clear(re, 0, _n); Array.Clear(im, 0, _n);
        for (int j = 0; j < values.Length; j++)
        {
            re[_slotIndex[j]] = values[j];
            re[_conjIndex[j]] = values[j];
        }
    }

    private void PlaceSlots(ReadOnlySpan<Complex> values, double[] re, double[] im)
    {
        Array.Clear(re, 0, _n); Array.Clear(im, 0, _n);
        for (int j = 0; j < values.Length; j++)
        {
            re[_slotIndex[j]] = values[j].Real; im[_slotIndex[j]] = values[j].Imaginary;
            re[_conjIndex[j]] = values[j].Real; im[_conjIndex[j]] = -values[j].Imaginary;
        }
    }

    /// <summary>Real coefficients (scale 1, unrounded) of the polynomial encoding real slot values.</summary>
    internal void EncodeUnscaledCoefficients(ReadOnlySpan<double> values, Span<double> coefficients)
    {
        CheckValues(values.Length);
        using var points = new PooledPoints(_n);
        double[] re = points.Re, im = points.Im;
        PlaceSlots(values, re, im);
        Fft(re.AsSpan(0, _n), im.AsSpan(0, _n), -1);
        double f = 1.0 / _n;
        for (int k = 0; k < _n; k++) coefficients[k] = (re[k] * _twistRe[k] + im[k] * _twistIm[k]) * f;
    }

    /// <summary>Rounds already-scaled coefficients (up to N; the rest are zero) into <paramref name="destination"/> (its level) and applies the NTT.</summary>
    internal void EncodeScaledCoefficients(ReadOnlySpan<double> scaledCoefficients, double scale, Plaintext destination)
    {
        CheckScale(scale, destination.Level);
        destination.Reshape(destination.Level, scale);
        WriteCoefficients(scaledCoefficients, destination, Math.Min(scaledCoefficients.Length, _n));
        for (int i = 0; i < destination.PrimeCount; i++) _ctx.Ntt[i].Forward(destination.Component(i));
    }

    private void CheckValues(int count)
    {
        if (count > SlotCount) throw new ArgumentException($"at most {SlotCount} slot values fit, got {count}");
    }

    private void CheckScale(double scale, int level)
    {
        if (!(scale >= 1.0) || double.IsInfinity(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), $"scale must be a finite value >= 1, got {scale}");
        if (Math.Log2(scale) >= _ctx.LogModulusAtLevel(level))
            throw new ArgumentOutOfRangeException(nameof(scale), $"scale 2^{Math.Log2(scale):F1} does not fit the modulus at level {level} (2^{_ctx.LogModulusAtLevel(level):F1})");
    }

    private void FinishEncode(double[] re, double[] im, double scale, Plaintext destination)
    {
        int n = _n;
        CheckScale(scale, destination.Level);
        Fft(re.AsSpan(0, n), im.AsSpan(0, n), -1);
        // p_k = Re(zeta^-k * a_k) / N, then scaled.
        double f = scale / n;
        for (int k = 0; k < n; k++) re[k] = (re[k] * _twistRe[k] + im[k] * _twistIm[k]) * f;
        destination.Reshape(destination.Level, scale);
        WriteCoefficients(re.AsSpan(0, n), destination, n);
        for (int i = 0; i < destination.PrimeCount; i++) _ctx.Ntt[i].Forward(destination.Component(i));
    }

    /// <summary>Rounds scaled coefficients and writes them into each prime (coefficient domain).</summary>
    private void WriteCoefficients(ReadOnlySpan<double> scaled, Plaintext destination, int count)
    {
        int primes = destination.PrimeCount;
        double limit = Math.Pow(2, _ctx.LogModulusAtLevel(destination.Level) - 1);
        ulong[] buffer = destination.Buffer;
        int start = UsesVectorKernels ? WriteCoefficientsVector(scaled, buffer, primes, count, Math.Min(limit, 9.2e18)) : 0;
        for (int k = start; k < count; k++)
        {
            double c = Math.Round(scaled[k]);
            if (!(Math.Abs(c) < limit)) ThrowTooLarge(c, k, destination.Level); // also NaN
            if (Math.Abs(c) < 9.2e18)
            {
                long v = (long)c;
                for (int i = 0; i < primes; i++) buffer[i * _n + k] = _ctx.Moduli[i].FromSigned(v);
            }
            else WriteLarge(c, primes, buffer, k, _n);
        }
        if (count < _n)
            for (int i = 0; i < primes; i++) buffer.AsSpan(i * _n + count, _n - count).Clear();
    }

    /// <summary>
    /// Eight coefficients at a time while all eight round below <paramref name="bound"/> in magnitude (the modulus
    /// bound and the signed 64-bit range); returns where it stopped, for the scalar loop to finish (it also reports
    /// values that are too large). Rounding is to nearest, ties to even, like Math.Round.
    /// </summary>
    private int WriteCoefficientsVector(ReadOnlySpan<double> scaled, ulong[] buffer, int primes, int count, double bound)
    {
        var vbound = Vector512.Create(bound);
        ref double ps = ref MemoryMarshal.GetReference(scaled);
        ref ulong pb = ref MemoryMarshal.GetArrayDataReference(buffer);
        Span<Vector512<ulong>> constants = stackalloc Vector512<ulong>[3 * primes];
        for (int i = 0; i < primes; i++)
        {
            Modulus q = _ctx.Moduli[i];
            constants[3 * i] = Vector512.Create(q.Value);
            constants[3 * i + 1] = Vector512.Create(q.RatioHi);
            constants[3 * i + 2] = Vector512.Create(q.RatioHi >> 32);
        }
        int k = 0;
        for (; k + 8 <= count; k += 8)
        {
            var c = Avx512F.RoundScale(Vector512.LoadUnsafe(ref ps, (nuint)k), 8); // nearest even, no exception
            if (!Vector512.LessThanAll(Vector512.Abs(c), vbound)) break; // NaN compares false too
            var v = Avx512DQ.ConvertToVector512Int64WithTruncation(c);
            for (int i = 0; i < primes; i++)
                Simd.FromSigned(v, constants[3 * i], constants[3 * i + 1], constants[3 * i + 2]).StoreUnsafe(ref pb, (nuint)(i * _n + k));
        }
        return k;
    }

    /// <summary>One scaled value rounded into residues[stride * i] for each prime of the level.</summary>
    private void ScaledToResidues(double scaled, int level, Span<ulong> residues, int index)
    {
        double c = Math.Round(scaled);
        double limit = Math.Pow(2, _ctx.LogModulusAtLevel(level) - 1);
        if (double.IsNaN(c) || Math.Abs(c) >= limit) ThrowTooLarge(c, index, level);
        if (Math.Abs(c) < 9.2e18) for (int i = 0; i <= level; i++) residues[i] = _ctx.Moduli[i].FromSigned((long)c);
        else
        {
            var tmp = new ulong[level + 1];
            WriteLarge(c, level + 1, tmp, 0, 1);
            tmp.CopyTo(residues);
        }
    }

    /// <summary>Exact residues of an integer-valued double above 2^63: c = mantissa * 2^exponent.</summary>
    private void WriteLarge(double c, int primes, ulong[] buffer, int k, int stride)
    {
        long bits = BitConverter.DoubleToInt64Bits(Math.Abs(c));
        int exponent = (int)((bits >> 52) & 0x7FF) - 1075;
        ulong mantissa = ((ulong)bits & ((1UL << 52) - 1)) | (1UL << 52);
        for (int i = 0; i < primes; i++)
        {
            Modulus q = _ctx.Moduli[i];
            ulong r = q.Multiply(q.Reduce(mantissa), _pow2Mod[i][exponent]);
            buffer[i * stride + k] = c < 0 ? q.Negate(r) : r;
        }
    }

    private void ThrowTooLarge(double c, int k, int level) =>
        throw new ArgumentOutOfRangeException("values", $"encoded coefficient {k} (|value * scale| = 2^{Math.Log2(Math.Abs(c)):F1}) does not fit the modulus at level {level}; use a smaller scale or smaller values");

    public double[] Decode(Plaintext plaintext)
    {
        var result = new double[SlotCount];
        Decode(plaintext, result);
        return result;
    }

    /// <summary>Decodes the real parts of the slots into <paramref name="destination"/> (up to N/2 values).</summary>
    public void Decode(Plaintext plaintext, Span<double> destination)
    {
        using var points = new PooledPoints(_n);
        double[] re = points.Re, im = points.Im;
        DecodeToEvaluations(plaintext, re, im);
        int count = Math.Min(destination.Length, SlotCount);
        for (int j = 0; j < count; j++) destination[j] = re[_slotIndex[j]];
    }

    public Complex[] DecodeComplex(Plaintext plaintext)
    {
        using var points = new PooledPoints(_n);
        double[] re = points.Re, im = points.Im;
        DecodeToEvaluations(plaintext, re, im);
        var result = new Complex[SlotCount];
        for (int j = 0; j < result.Length; j++) result[j] = new Complex(re[_slotIndex[j]], im[_slotIndex[j]]);
        return result;
    }

    /// <summary>Centered integer coefficients of a plaintext divided by its scale (coefficient domain).</summary>
    public void DecodeCoefficients(Plaintext plaintext, Span<double> destination)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        if (!plaintext.Context.SameParameters(_ctx)) throw new CkksMismatchException("plaintext belongs to different parameters than this encoder");
        int n = _n, primes = plaintext.PrimeCount;
        ulong[] coeffs = ArrayPool<ulong>.Shared.Rent(primes * n);
        try
        {
            var c = coeffs.AsSpan(0, primes * n);
            plaintext.Data.CopyTo(c);
            for (int i = 0; i < primes; i++) _ctx.Ntt[i].Inverse(c.Slice(i * n, n));
            var crt = _ctx.Crt(plaintext.Level);
            Span<ulong> residues = stackalloc ulong[primes];
            Span<ulong> scratch = stackalloc ulong[primes + 1];
            double inv = 1.0 / plaintext.Scale;
            for (int k = 0; k < n; k++)
            {
                for (int i = 0; i < primes; i++) residues[i] = c[i * n + k];
                destination[k] = crt.ComposeCentered(residues, scratch) * inv;
            }
        }
        finally { ArrayPool<ulong>.Shared.Return(coeffs); }
    }

    private void DecodeToEvaluations(Plaintext plaintext, double[] re, double[] im)
    {
        int n = _n;
        DecodeCoefficients(plaintext, re.AsSpan(0, n));
        for (int k = 0; k < n; k++)
        {
            double p = re[k];
            re[k] = p * _twistRe[k];
            im[k] = p * _twistIm[k];
        }
        Fft(re.AsSpan(0, n), im.AsSpan(0, n), +1);
    }
}
