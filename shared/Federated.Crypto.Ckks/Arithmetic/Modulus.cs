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
        ulong t3 = t2Hi + Carry(t1, t2Lo);
        ulong u2Hi = Math.BigMul(hi, RatioLo, out ulong u2Lo);
        ulong sum = t1 + u2Lo;
        carry = u2Hi + Carry(sum, t1);
        ulong quotient = hi * RatioHi + t3 + carry;
        ulong r = lo - quotient * Value;
        r = ConditionalSubtract(ConditionalSubtract(r, Value), Value);
        while (r >= Value) r -= Value; // rare: inputs far above q^2
        return r;
    }

    /// <summary>Carry out of sum = addend + something: 1 when the 64-bit sum wrapped (branch-free).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Carry(ulong sum, ulong addend)
    {
        bool c = sum < addend;
        return Unsafe.As<bool, byte>(ref c);
    }

    /// <summary>A ternary value -1, 0, 1 as a residue (branch-free).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong FromTernary(int v) => (ulong)(long)v + (Value & (ulong)((long)v >> 63));

    /// <summary>Reduces a 64-bit value modulo q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Reduce(ulong x)
    {
        ulong quotient = Math.BigMul(x, RatioHi, out _);
        ulong r = x - quotient * Value;
        r = ConditionalSubtract(ConditionalSubtract(r, Value), Value);
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
    public ulong Add(ulong a, ulong b) => ConditionalSubtract(a + b, Value);

    /// <summary>Branch-free x >= m ? x - m : x for x, m below 2^63. Hot loops use this because the JIT does not
    /// if-convert inside loops and these branches are unpredictable (measured: NTT 2.5x faster).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ConditionalSubtract(ulong x, ulong m)
    {
        ulong d = x - m;
        return d + (m & (ulong)((long)d >> 63));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Sub(ulong a, ulong b)
    {
        ulong d = a - b;
        return d + (Value & (ulong)((long)d >> 63));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Negate(ulong a) => ConditionalSubtract(Value - a, Value);

    /// <summary>A signed integer reduced into [0, q).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong FromSigned(long x)
    {
        ulong sign = (ulong)(x >> 63);
        ulong r = Reduce(((ulong)x ^ sign) - sign); // |x|, also for long.MinValue
        ulong negated = ConditionalSubtract(Value - r, Value);
        return r ^ ((r ^ negated) & sign);
    }

    /// <summary>Shoup precomputation floor(w * 2^64 / q) for a fixed multiplicand w &lt; q.</summary>
    public ulong ShoupPrecompute(ulong w) => (ulong)(((UInt128)w << 64) / Value);

    /// <summary>x * w mod q with the Shoup constant of w; x may be any 64-bit value, the result is in [0, q).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong MultiplyShoup(ulong x, ulong w, ulong wShoup)
    {
        ulong q = Math.BigMul(x, wShoup, out _);
        return ConditionalSubtract(x * w - q * Value, Value);
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
