using Federated.Crypto.Ckks.Arithmetic;

namespace Federated.Crypto.Ckks;

/// <summary>Security requirement checked by <see cref="CkksContext"/>.</summary>
public enum SecurityLevel
{
    /// <summary>No check at all. Only for tests and benchmarks that say so explicitly.</summary>
    NoneInsecure = 0,
    /// <summary>The HE standard's 128-bit classical bound on log Q for a ternary secret.</summary>
    Tc128 = 128,
}

/// <summary>
/// CKKS parameters: the ring degree N and the RNS coefficient modulus. The LAST prime of the coefficient modulus is
/// the special prime used only for key switching (as in SEAL); the others form the data modulus chain, first prime
/// at the bottom.
/// </summary>
public sealed class EncryptionParameters
{
    public int PolyModulusDegree { get; }
    public IReadOnlyList<Modulus> CoeffModulus { get; }

    public EncryptionParameters(int polyModulusDegree, IReadOnlyList<Modulus> coeffModulus)
    {
        ArgumentNullException.ThrowIfNull(coeffModulus);
        PolyModulusDegree = polyModulusDegree;
        CoeffModulus = coeffModulus.ToArray();
    }

    /// <summary>Parameters with freshly generated primes of the given bit sizes (last = special prime).</summary>
    public static EncryptionParameters Create(int polyModulusDegree, params int[] bitSizes) =>
        new(polyModulusDegree, Arithmetic.CoeffModulus.Create(polyModulusDegree, bitSizes));

    /// <summary>Sum of the bit sizes of all primes, the special prime included.</summary>
    public int TotalCoeffModulusBitCount => CoeffModulus.Sum(m => m.BitCount);

    /// <summary>The HE standard's 128-bit bound on log Q (ternary secret, classical), or -1 if N is not tabulated.</summary>
    public static int MaxLogQ128(int polyModulusDegree) => polyModulusDegree switch
    {
        1024 => 27,
        2048 => 54,
        4096 => 109,
        8192 => 218,
        16384 => 438,
        32768 => 881,
        _ => -1,
    };

    public override string ToString() =>
        $"N={PolyModulusDegree}, primes=[{string.Join(",", CoeffModulus.Select(m => m.BitCount))}] (log Q={TotalCoeffModulusBitCount})";
}
