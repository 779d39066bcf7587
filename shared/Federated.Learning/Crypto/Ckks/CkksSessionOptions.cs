using Federated.Crypto.Ckks.Protocol;

namespace Federated.Learning.Crypto.Ckks;

/// <summary>
/// CKKS parameters of the interactive layer (docs/protocol.md §2.7): N = 8192 with primes {60, 30, 30} and a
/// 60-bit special prime (log Q = 180, inside the 128-bit bound of 218), inputs at scale 2^60, weights multiplied as
/// integers round(w·2^30) and rescaled once by a 30-bit prime, flooding width from the OpenFHE rule for the release
/// budget. Both parties must use the same values (the key announcement carries the parameters and is checked).
/// </summary>
public sealed record CkksSessionOptions
{
    public int PolyModulusDegree { get; init; } = 8192;
    /// <summary>Bit sizes of the data primes, bottom first, then the special prime.</summary>
    public IReadOnlyList<int> PrimeBits { get; init; } = new[] { 60, 30, 30, 60 };
    public int InputScaleBits { get; init; } = 60;
    /// <summary>Bits of the integer weights in the packed products; the 30-bit rescale prime brings the scale back.</summary>
    public int WeightBits { get; init; } = 30;
    /// <summary>s, statistical security of the flooding.</summary>
    public int StatisticalSecurityBits { get; init; } = 30;
    /// <summary>τ, decryptions each key may release before it must be rotated.</summary>
    public long ReleaseBudget { get; init; } = 1L << 16;
    /// <summary>log2 of t, the bound on the ciphertext noise (coefficient domain) that flooding must hide.</summary>
    public double NoiseBoundBits { get; init; } = 14;
    /// <summary>Workers for the packed products; -1 = all cores.</summary>
    public int MaxDegreeOfParallelism { get; init; } = -1;

    /// <summary>σ_f = √(12τ)·2^{s/2}·t.</summary>
    public double FloodingSigma => NoiseFlooding.Width(StatisticalSecurityBits, ReleaseBudget, Math.Pow(2, NoiseBoundBits));

    public void Validate()
    {
        if (PrimeBits is null || PrimeBits.Count < 4)
            throw new ArgumentException("PrimeBits needs at least three data primes (input, rescale, headroom) and the special prime", nameof(PrimeBits));
        if (InputScaleBits <= 0 || InputScaleBits > PrimeBits[0])
            throw new ArgumentOutOfRangeException(nameof(InputScaleBits), InputScaleBits, $"the input scale must fit the bottom prime of {PrimeBits[0]} bits");
        if (WeightBits <= 0 || WeightBits > 40) throw new ArgumentOutOfRangeException(nameof(WeightBits), WeightBits, "weight bits must be in 1..40");
        if (ReleaseBudget <= 0) throw new ArgumentOutOfRangeException(nameof(ReleaseBudget), ReleaseBudget, "the release budget must be positive");
        if (StatisticalSecurityBits <= 0) throw new ArgumentOutOfRangeException(nameof(StatisticalSecurityBits), StatisticalSecurityBits, "statistical security must be positive");
    }
}
