using Federated.Crypto.Ckks.Arithmetic;

namespace Federated.Crypto.Ckks.Sampling;

/// <summary>Distributions over ring elements in RNS form. Output layout: component i occupies [i*N, (i+1)*N).</summary>
public static class Samplers
{
    /// <summary>Standard deviation of the RLWE error (HE standard).</summary>
    public const double ErrorStandardDeviation = 3.2;
    /// <summary>Errors are clipped at 6 sigma, as SEAL does.</summary>
    public const double ErrorClipSigmas = 6.0;

    /// <summary>Uniform polynomial mod each modulus (uniform mod their product by CRT). Not NTT-specific: uniform
    /// in either domain.</summary>
    public static void Uniform(Prng prng, ReadOnlySpan<Modulus> moduli, int n, Span<ulong> destination)
    {
        for (int i = 0; i < moduli.Length; i++)
        {
            ulong q = moduli[i].Value;
            int bits = moduli[i].BitCount;
            ulong mask = (1UL << bits) - 1;
            Span<ulong> d = destination.Slice(i * n, n);
            for (int j = 0; j < n; j++)
            {
                ulong v;
                do { v = prng.NextUInt64() & mask; } while (v >= q);
                d[j] = v;
            }
        }
    }

    /// <summary>Ternary coefficients in {-1, 0, 1}, uniform, written as signed values.</summary>
    public static void Ternary(Prng prng, Span<sbyte> destination)
    {
        Span<byte> buf = stackalloc byte[256];
        int pos = buf.Length;
        for (int j = 0; j < destination.Length; j++)
        {
            byte b;
            do
            {
                if (pos == buf.Length) { prng.Fill(buf); pos = 0; }
                b = buf[pos++];
            } while (b >= 255);
            destination[j] = (sbyte)(b % 3 - 1);
        }
    }

    /// <summary>Rounded Gaussian of the given standard deviation, clipped at <paramref name="clip"/> (absolute).</summary>
    public static void Gaussian(Prng prng, double sigma, double clip, Span<long> destination)
    {
        for (int j = 0; j < destination.Length; j += 2)
        {
            // Box-Muller: two independent normals per pair of uniforms.
            double r = Math.Sqrt(-2.0 * Math.Log(prng.NextDoubleOpen()));
            double theta = 2.0 * Math.PI * prng.NextDoubleOpen();
            (double s, double c) = Math.SinCos(theta);
            double g0 = r * c * sigma, g1 = r * s * sigma;
            if (Math.Abs(g0) > clip || (j + 1 < destination.Length && Math.Abs(g1) > clip)) { j -= 2; continue; }
            destination[j] = (long)Math.Round(g0);
            if (j + 1 < destination.Length) destination[j + 1] = (long)Math.Round(g1);
        }
    }

    /// <summary>Writes signed small coefficients into RNS form (coefficient domain).</summary>
    public static void ToRns(ReadOnlySpan<long> values, ReadOnlySpan<Modulus> moduli, Span<ulong> destination)
    {
        int n = values.Length;
        for (int i = 0; i < moduli.Length; i++)
        {
            Span<ulong> d = destination.Slice(i * n, n);
            Modulus m = moduli[i];
            for (int j = 0; j < n; j++) d[j] = m.FromSigned(values[j]);
        }
    }

    public static void ToRns(ReadOnlySpan<sbyte> values, ReadOnlySpan<Modulus> moduli, Span<ulong> destination)
    {
        int n = values.Length;
        for (int i = 0; i < moduli.Length; i++)
        {
            Span<ulong> d = destination.Slice(i * n, n);
            Modulus m = moduli[i];
            for (int j = 0; j < n; j++) d[j] = m.FromTernary(values[j]);
        }
    }
}
