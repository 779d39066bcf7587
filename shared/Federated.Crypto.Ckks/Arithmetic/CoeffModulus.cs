namespace Federated.Crypto.Ckks.Arithmetic;

/// <summary>Generates NTT-friendly primes (q = 1 mod 2N), like SEAL's <c>CoeffModulus.Create</c>.</summary>
public static class CoeffModulus
{
    /// <summary>Smallest supported prime bit size (smaller primes leave no room above 2N).</summary>
    public const int MinBitSize = 20;

    /// <summary>
    /// One distinct prime per entry of <paramref name="bitSizes"/>, each the largest unused prime of exactly that bit
    /// size congruent to 1 mod 2N. The last entry is conventionally the special (key-switching) prime.
    /// </summary>
    public static Modulus[] Create(int polyModulusDegree, IReadOnlyList<int> bitSizes)
    {
        ArgumentNullException.ThrowIfNull(bitSizes);
        if (polyModulusDegree < 2 || (polyModulusDegree & (polyModulusDegree - 1)) != 0)
            throw new ArgumentException($"poly modulus degree must be a power of two, got {polyModulusDegree}", nameof(polyModulusDegree));
        if (bitSizes.Count == 0) throw new ArgumentException("at least one prime bit size is required", nameof(bitSizes));
        var used = new HashSet<ulong>();
        var result = new Modulus[bitSizes.Count];
        ulong step = 2UL * (ulong)polyModulusDegree;
        for (int i = 0; i < bitSizes.Count; i++)
        {
            int bits = bitSizes[i];
            if (bits < MinBitSize || bits > Modulus.MaxBitCount)
                throw new ArgumentOutOfRangeException(nameof(bitSizes), $"bit size at index {i} must be in [{MinBitSize}, {Modulus.MaxBitCount}], got {bits}");
            ulong upper = 1UL << bits;
            ulong lower = 1UL << (bits - 1);
            // Largest candidate below 2^bits congruent to 1 mod 2N.
            ulong candidate = upper - step + 1;
            bool found = false;
            while (candidate > lower)
            {
                if (!used.Contains(candidate) && IsPrime(candidate)) { found = true; break; }
                candidate -= step;
            }
            if (!found)
                throw new InvalidOperationException($"no unused {bits}-bit prime congruent to 1 mod {step} exists");
            used.Add(candidate);
            result[i] = new Modulus(candidate);
        }
        return result;
    }

    /// <summary>Deterministic Miller-Rabin for 64-bit integers.</summary>
    public static bool IsPrime(ulong n)
    {
        if (n < 2) return false;
        ReadOnlySpan<ulong> small = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
        foreach (ulong p in small)
        {
            if (n == p) return true;
            if (n % p == 0) return false;
        }
        ulong d = n - 1;
        int r = 0;
        while ((d & 1) == 0) { d >>= 1; r++; }
        foreach (ulong a in small)
        {
            ulong x = PowMod(a, d, n);
            if (x == 1 || x == n - 1) continue;
            bool composite = true;
            for (int i = 1; i < r; i++)
            {
                x = (ulong)((UInt128)x * x % n);
                if (x == n - 1) { composite = false; break; }
            }
            if (composite) return false;
        }
        return true;
    }

    private static ulong PowMod(ulong b, ulong e, ulong m)
    {
        ulong result = 1;
        b %= m;
        while (e != 0)
        {
            if ((e & 1) != 0) result = (ulong)((UInt128)result * b % m);
            b = (ulong)((UInt128)b * b % m);
            e >>= 1;
        }
        return result;
    }
}
