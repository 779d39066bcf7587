using System.Runtime.CompilerServices;

namespace Federated.Crypto.Ckks.Arithmetic;

/// <summary>
/// An NTT-friendly prime modulus below 2^61 with its Barrett constant floor(2^128 / q), so that products of two
/// reduced values (and lazy sums of up to 2^6 such products) reduce without division.
/// </summary>
public readonly struct Modulus : IEquatable<Modulus>
{
    /// <summary>Largest supported modulus bit size: the lazy NTT keeps values below 4q &lt; 2^64.</summary>
    public const int MaxBitCount = 61;

    public ulong Value { get; }
    public int BitCount { get; }
    /// <summary>High word of floor(2^128 / q).</summary>
    internal readonly ulong RatioHi;
    /// <summary>Low word of floor(2^128 / q).</summary>
    internal readonly ulong RatioLo;

    public Modulus(ulong value)
    {
        if (value < 2 || value >> MaxBitCount != 0)
            throw new ArgumentOutOfRangeException(nameof(value), $"modulus must be in [2, 2^{MaxBitCount}), got {value}");
        Value = value;
        BitCount = 64 - System.Numerics.BitOperations.LeadingZeroCount(value);
        UInt128 ratio = UInt128.MaxValue / value; // floor((2^128 - 1) / q) == floor(2^128 / q) since q is not a power of 2
        RatioHi = (ulong)(ratio >> 64);
        RatioLo = (ulong)ratio;
    }

    /// <summary>Reduces a 128-bit value (hi, lo) modulo q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Reduce(ulong hi, ulong lo)
    {
        // Barrett: estimate floor(x * ratio / 2^128) from the three high partial products; the estimate is at most
        // a few below the true quotient, so a short correction loop finishes the job.
        ulong carry = Math.BigMul(lo, RatioLo, out _);
        ulong t2Hi = Math.BigMul(lo, RatioHi, out ulong t2Lo);
        ulong t1 = t2Lo + carry;
        ulong t3 = t2Hi + (t1 < t2Lo ? 1UL : 0UL);
        ulong u2Hi = Math.BigMul(hi, RatioLo, out ulong u2Lo);
        ulong sum = t1 + u2Lo;
        carry = u2Hi + (sum < t1 ? 1UL : 0UL);
        ulong quotient = hi * RatioHi + t3 + carry;
        ulong r = lo - quotient * Value;
        while (r >= Value) r -= Value;
        return r;
    }

    /// <summary>Reduces a 64-bit value modulo q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Reduce(ulong x)
    {
        ulong quotient = Math.BigMul(x, RatioHi, out _);
        ulong r = x - quotient * Value;
        while (r >= Value) r -= Value;
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Reduce(UInt128 x) => Reduce((ulong)(x >> 64), (ulong)x);

    /// <summary>a * b mod q for a, b &lt; q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Multiply(ulong a, ulong b)
    {
        ulong hi = Math.BigMul(a, b, out ulong lo);
        return Reduce(hi, lo);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Add(ulong a, ulong b)
    {
        ulong s = a + b;
        return s >= Value ? s - Value : s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Sub(ulong a, ulong b) => a >= b ? a - b : a + Value - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Negate(ulong a) => a == 0 ? 0 : Value - a;

    /// <summary>A signed integer reduced into [0, q).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong FromSigned(long x)
    {
        if (x >= 0) return Reduce((ulong)x);
        ulong r = Reduce((ulong)(-(x + 1)) + 1UL); // |x| without overflow at long.MinValue
        return r == 0 ? 0 : Value - r;
    }

    /// <summary>Shoup precomputation floor(w * 2^64 / q) for a fixed multiplicand w &lt; q.</summary>
    public ulong ShoupPrecompute(ulong w) => (ulong)(((UInt128)w << 64) / Value);

    /// <summary>x * w mod q with the Shoup constant of w; x may be any 64-bit value, the result is in [0, q).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong MultiplyShoup(ulong x, ulong w, ulong wShoup)
    {
        ulong q = Math.BigMul(x, wShoup, out _);
        ulong r = x * w - q * Value;
        return r >= Value ? r - Value : r;
    }

    /// <summary>Lazy Shoup product in [0, 2q).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong MultiplyShoupLazy(ulong x, ulong w, ulong wShoup)
    {
        ulong q = Math.BigMul(x, wShoup, out _);
        return x * w - q * Value;
    }

    public ulong Pow(ulong b, ulong e)
    {
        ulong result = 1 % Value;
        b = Reduce(b);
        while (e != 0)
        {
            if ((e & 1) != 0) result = Multiply(result, b);
            b = Multiply(b, b);
            e >>= 1;
        }
        return result;
    }

    /// <summary>Inverse modulo the prime q (Fermat).</summary>
    public ulong Inverse(ulong a)
    {
        a = Reduce(a);
        if (a == 0) throw new ArithmeticException($"0 has no inverse modulo {Value}");
        return Pow(a, Value - 2);
    }

    public bool Equals(Modulus other) => Value == other.Value;
    public override bool Equals(object? obj) => obj is Modulus m && Equals(m);
    public override int GetHashCode() => Value.GetHashCode();
    public override string ToString() => $"{Value} ({BitCount} bits)";
}
