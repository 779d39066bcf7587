using System.Collections.Concurrent;
using System.Security.Cryptography;
using Federated.Crypto.Ckks.Arithmetic;

namespace Federated.Crypto.Ckks;

/// <summary>
/// Validated CKKS parameters with every precomputation (NTT tables, RNS constants, Galois permutations). Immutable
/// and thread-safe. Level l means l+1 data primes remain (top level = data prime count - 1, like SEAL's chain index).
/// </summary>
public sealed class CkksContext
{
    public const int MinDegree = 1024;
    public const int MaxDegree = 32768;

    public EncryptionParameters Parameters { get; }
    public int N { get; }
    public int LogN { get; }
    public int SlotCount => N / 2;
    /// <summary>Data primes q_0 .. q_{L-1} followed by the special prime P.</summary>
    public Modulus[] Moduli { get; }
    public int DataPrimeCount { get; }
    public int SpecialIndex => DataPrimeCount;
    public Modulus SpecialPrime => Moduli[SpecialIndex];
    public int MaxLevel => DataPrimeCount - 1;
    public NttTables[] Ntt { get; }
    public SecurityLevel SecurityLevel { get; }
    /// <summary>SHA-256 of the parameters; every serialized object carries it.</summary>
    public byte[] ParametersHash { get; }

    // InverseOf[a][b] = Moduli[a]^-1 mod Moduli[b] (a != b), with its Shoup constant.
    internal readonly ulong[][] InverseOf;
    internal readonly ulong[][] InverseOfShoup;
    private readonly ConcurrentDictionary<int, int[]> _galoisPermutations = new();
    private readonly CrtLevelData?[] _crt;
    private readonly double[] _logModulus;

    public CkksContext(EncryptionParameters parameters, SecurityLevel securityLevel = SecurityLevel.Tc128)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters;
        SecurityLevel = securityLevel;
        int n = parameters.PolyModulusDegree;
        if (n < MinDegree || n > MaxDegree || (n & (n - 1)) != 0)
            throw new CkksParameterException($"poly modulus degree must be a power of two in [{MinDegree}, {MaxDegree}], got {n}");
        var moduli = parameters.CoeffModulus;
        if (moduli.Count < 2)
            throw new CkksParameterException($"coefficient modulus needs at least one data prime and the special prime, got {moduli.Count} prime(s)");
        var seen = new HashSet<ulong>();
        for (int i = 0; i < moduli.Count; i++)
        {
            ulong q = moduli[i].Value;
            if (!seen.Add(q)) throw new CkksParameterException($"coefficient modulus prime at index {i} ({q}) is repeated");
            if (!CoeffModulus.IsPrime(q)) throw new CkksParameterException($"coefficient modulus value at index {i} ({q}) is not prime");
            if ((q - 1) % (2UL * (ulong)n) != 0)
                throw new CkksParameterException($"prime at index {i} ({q}) is not NTT-friendly: q mod 2N = {q % (2UL * (ulong)n)}, expected 1");
            if (moduli[i].BitCount > Modulus.MaxBitCount)
                throw new CkksParameterException($"prime at index {i} has {moduli[i].BitCount} bits, at most {Modulus.MaxBitCount} supported");
        }
        for (int i = 0; i < moduli.Count - 1; i++)
            if (moduli[i].BitCount > moduli[^1].BitCount)
                throw new CkksParameterException($"special prime ({moduli[^1].BitCount} bits) must have at least as many bits as every data prime (key-switching noise); data prime {i} has {moduli[i].BitCount} bits");
        int logQ = parameters.TotalCoeffModulusBitCount;
        if (securityLevel == SecurityLevel.Tc128)
        {
            int bound = EncryptionParameters.MaxLogQ128(n);
            if (logQ > bound)
                throw new CkksParameterException(
                    $"insecure parameters: log Q = {logQ} bits (special prime included) exceeds the HE standard's 128-bit bound of {bound} for N = {n}; " +
                    "use fewer or smaller primes, a larger N, or SecurityLevel.NoneInsecure for tests only");
        }

        N = n;
        LogN = System.Numerics.BitOperations.Log2((uint)n);
        Moduli = moduli.ToArray();
        DataPrimeCount = Moduli.Length - 1;
        Ntt = Moduli.Select(m => new NttTables(n, m)).ToArray();
        InverseOf = new ulong[Moduli.Length][];
        InverseOfShoup = new ulong[Moduli.Length][];
        for (int a = 0; a < Moduli.Length; a++)
        {
            InverseOf[a] = new ulong[Moduli.Length];
            InverseOfShoup[a] = new ulong[Moduli.Length];
            for (int b = 0; b < Moduli.Length; b++)
            {
                if (a == b) continue;
                ulong inv = Moduli[b].Inverse(Moduli[b].Reduce(Moduli[a].Value));
                InverseOf[a][b] = inv;
                InverseOfShoup[a][b] = Moduli[b].ShoupPrecompute(inv);
            }
        }
        _crt = new CrtLevelData?[DataPrimeCount];
        _logModulus = new double[DataPrimeCount];
        for (int l = 0; l < DataPrimeCount; l++) _logModulus[l] = (l > 0 ? _logModulus[l - 1] : 0) + Math.Log2(Moduli[l].Value);
        ParametersHash = ComputeHash(n, Moduli, securityLevel);
    }

    private static byte[] ComputeHash(int n, Modulus[] moduli, SecurityLevel level)
    {
        var buf = new byte[16 + 8 * moduli.Length];
        "FCKSparm"u8.CopyTo(buf);
        BitConverter.TryWriteBytes(buf.AsSpan(8), n);
        BitConverter.TryWriteBytes(buf.AsSpan(12), (int)level);
        for (int i = 0; i < moduli.Length; i++) BitConverter.TryWriteBytes(buf.AsSpan(16 + 8 * i), moduli[i].Value);
        return SHA256.HashData(buf);
    }

    /// <summary>The data moduli present at a level (level + 1 primes).</summary>
    public ReadOnlySpan<Modulus> ModuliAtLevel(int level)
    {
        CheckLevel(level);
        return Moduli.AsSpan(0, level + 1);
    }

    public void CheckLevel(int level)
    {
        if ((uint)level > (uint)MaxLevel)
            throw new CkksMismatchException($"level {level} is outside [0, {MaxLevel}] for {Parameters}");
    }

    /// <summary>log2 of the product of the data primes at a level.</summary>
    public double LogModulusAtLevel(int level)
    {
        CheckLevel(level);
        return _logModulus[level];
    }

    /// <summary>Galois element of a left rotation by <paramref name="step"/> slots (negative = right): 5^step mod 2N.</summary>
    public int GaloisElementForStep(int step)
    {
        int slots = SlotCount;
        int s = ((step % slots) + slots) % slots;
        if (s == 0) throw new ArgumentException("rotation by 0 (mod the slot count) needs no Galois element", nameof(step));
        ulong m = 2UL * (ulong)N, g = 1;
        for (int i = 0; i < s; i++) g = g * 5 % m;
        return (int)g;
    }

    /// <summary>For NTT-domain automorphism X -> X^g: output index k takes input index perm[k].</summary>
    internal int[] GaloisPermutation(int galoisElement) => _galoisPermutations.GetOrAdd(galoisElement, g =>
    {
        var perm = new int[N];
        uint mask = (uint)(2 * N - 1);
        for (int k = 0; k < N; k++)
        {
            uint e = 2 * NttTables.BitReverse((uint)k, LogN) + 1;
            uint ge = (uint)(((ulong)e * (uint)g) & mask);
            perm[k] = (int)NttTables.BitReverse((ge - 1) >> 1, LogN);
        }
        return perm;
    });

    internal CrtLevelData Crt(int level)
    {
        CheckLevel(level);
        return _crt[level] ??= new CrtLevelData(Moduli.AsSpan(0, level + 1));
    }

    /// <summary>True when both contexts describe the same parameters.</summary>
    public bool SameParameters(CkksContext other) => ReferenceEquals(this, other) || ParametersHash.AsSpan().SequenceEqual(other.ParametersHash);

    public override string ToString() => Parameters.ToString();
}
