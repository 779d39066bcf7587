using System.Buffers;
using Federated.Crypto.Ckks.Arithmetic;
using Federated.Crypto.Ckks.Sampling;

namespace Federated.Crypto.Ckks.Protocol;

/// <summary>
/// Noise flooding of a decrypted share before release (defence against the Li-Micciancio key-recovery attack):
/// a discrete (rounded) Gaussian of width sigma, added in the coefficient domain. Each slot then moves by a normal
/// of standard deviation sigma * sqrt(N/2) / scale.
/// </summary>
public static class NoiseFlooding
{
    /// <summary>
    /// The OpenFHE rule sigma_f = sqrt(12 * tau) * 2^(s/2) * t for statistical security s bits, a release budget
    /// tau per key and a bound t on the ciphertext noise (coefficient domain).
    /// </summary>
    public static double Width(int statisticalSecurityBits, long releaseBudget, double noiseBound)
    {
        if (statisticalSecurityBits <= 0 || releaseBudget <= 0 || !(noiseBound > 0))
            throw new ArgumentOutOfRangeException(nameof(statisticalSecurityBits), "security bits, release budget and noise bound must be positive");
        return Math.Sqrt(12.0 * releaseBudget) * Math.Pow(2, statisticalSecurityBits / 2.0) * noiseBound;
    }

    /// <summary>Expected standard deviation of each slot's real part after flooding with <paramref name="sigma"/>.</summary>
    public static double SlotStandardDeviation(CkksContext context, double sigma, double scale) => sigma * Math.Sqrt(context.N / 2.0) / scale;

    /// <summary>Adds fresh flooding noise of width <paramref name="sigma"/> (coefficient domain) to a share in NTT form.</summary>
    public static void AddTo(Plaintext share, double sigma)
    {
        ArgumentNullException.ThrowIfNull(share);
        AddNoise(share.Context, share.Level, sigma, i => share.Component(i));
    }

    /// <summary>
    /// Floods a ciphertext before it is handed to the key owner for decryption (docs/protocol.md §2.3, B3 and X1): the noise is
    /// added to c0, so the key owner's decryption carries it and reveals nothing finer about the evaluator's inputs.
    /// </summary>
    public static void AddTo(Ciphertext ciphertext, double sigma)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        AddNoise(ciphertext.Context, ciphertext.Level, sigma, i => ciphertext.Component(0, i));
    }

    private delegate Span<ulong> ComponentAccessor(int prime);

    private static void AddNoise(CkksContext ctx, int level, double sigma, ComponentAccessor component)
    {
        if (!(sigma >= 0) || sigma > 1e15) throw new ArgumentOutOfRangeException(nameof(sigma), $"flooding width must be in [0, 1e15], got {sigma}");
        if (sigma == 0) return;
        int n = ctx.N;
        long[] noise = ArrayPool<long>.Shared.Rent(n);
        ulong[] buf = ArrayPool<ulong>.Shared.Rent(n);
        try
        {
            using (var prng = Prng.CreateRandom())
                Samplers.Gaussian(prng, sigma, 40 * sigma, noise.AsSpan(0, n));
            for (int i = 0; i <= level; i++)
            {
                Modulus q = ctx.Moduli[i];
                Span<ulong> b = buf.AsSpan(0, n);
                for (int j = 0; j < n; j++) b[j] = q.FromSigned(noise[j]);
                ctx.Ntt[i].Forward(b);
                RnsOps.AddInto(component(i), b, q);
            }
        }
        finally
        {
            Array.Clear(noise, 0, n);
            ArrayPool<long>.Shared.Return(noise);
            ArrayPool<ulong>.Shared.Return(buf);
        }
    }
}
