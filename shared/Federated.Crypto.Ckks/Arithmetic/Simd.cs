using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Federated.Crypto.Ckks.Arithmetic;

/// <summary>
/// 64-bit modular arithmetic on eight lanes (AVX-512 F + DQ). There is no 64 x 64 -> 128-bit vector multiply, so the
/// high word comes from four 32 x 32 -> 64-bit products (exact, not an estimate), and the low words from VPMULLQ.
/// Every kernel built on these has a scalar reference and a test that both give the same bits.
/// </summary>
internal static class Simd
{
    /// <summary>True when the eight-lane kernels run; otherwise the scalar references do.</summary>
    public static bool IsSupported { get; } = Avx512F.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported;

    private static readonly Vector512<ulong> Low32 = Vector512.Create(0xFFFF_FFFFUL);

    /// <summary>High 64 bits of a * b per lane; bHi = b >> 32 (passed in so broadcast constants shift once).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> MulHi(Vector512<ulong> a, Vector512<ulong> b, Vector512<ulong> bHi)
    {
        var aHi = Vector512.ShiftRightLogical(a, 32);
        var ll = Avx512F.Multiply(a.AsUInt32(), b.AsUInt32());
        var lh = Avx512F.Multiply(a.AsUInt32(), bHi.AsUInt32());
        var hl = Avx512F.Multiply(aHi.AsUInt32(), b.AsUInt32());
        var hh = Avx512F.Multiply(aHi.AsUInt32(), bHi.AsUInt32());
        var mid = Vector512.ShiftRightLogical(ll, 32) + (lh & Low32) + (hl & Low32);
        return hh + Vector512.ShiftRightLogical(lh, 32) + Vector512.ShiftRightLogical(hl, 32) + Vector512.ShiftRightLogical(mid, 32);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> MulHi(Vector512<ulong> a, Vector512<ulong> b) => MulHi(a, b, Vector512.ShiftRightLogical(b, 32));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> MulLo(Vector512<ulong> a, Vector512<ulong> b) => Avx512DQ.MultiplyLow(a, b);

    /// <summary>x >= m ? x - m : x per lane, for x below 2^63 + m (the wrapped difference is larger than x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> ConditionalSubtract(Vector512<ulong> x, Vector512<ulong> m) => Avx512F.Min(x, x - m);

    /// <summary>Lazy Shoup product x * w mod q in [0, 2q), as <see cref="Modulus.MultiplyShoupLazy"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> MultiplyShoupLazy(Vector512<ulong> x, Vector512<ulong> w, Vector512<ulong> ws, Vector512<ulong> wsHi, Vector512<ulong> q) =>
        MulLo(x, w) - MulLo(MulHi(x, ws, wsHi), q);

    /// <summary>
    /// Barrett constants for <see cref="MultiplyMod"/>: with L = bit size of q, mu = floor(2^(2L) / q) (below 2^(L+1)).
    /// For a, b below q, x = a * b, the quotient estimate floor(floor(x / 2^(L-1)) * mu / 2^(L+1)) is at most 2 below
    /// floor(x / q), so x - estimate * q lies in [0, 3q) and two conditional subtractions finish.
    /// </summary>
    public static ulong BarrettMu(Modulus q) => (ulong)(((UInt128)1 << (2 * q.BitCount)) / q.Value);

    /// <summary>a * b mod q per lane for a, b below q (bit size L); mu from <see cref="BarrettMu"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> MultiplyMod(Vector512<ulong> a, Vector512<ulong> b, Vector512<ulong> q, Vector512<ulong> mu, Vector512<ulong> muHi, int bits)
    {
        var hi = MulHi(a, b);
        var lo = MulLo(a, b);
        // x1 = x >> (L - 1) fits 64 bits since x < 2^(2L) and L <= 61.
        var x1 = Vector512.ShiftLeft(hi, 65 - bits) | Vector512.ShiftRightLogical(lo, bits - 1);
        var phi = MulHi(x1, mu, muHi);
        var plo = MulLo(x1, mu);
        var estimate = Vector512.ShiftLeft(phi, 63 - bits) | Vector512.ShiftRightLogical(plo, bits + 1);
        var r = lo - MulLo(estimate, q);
        return ConditionalSubtract(ConditionalSubtract(r, q), q);
    }

    /// <summary>x mod q per lane for any 64-bit x, as <see cref="Modulus.Reduce(ulong)"/>; ratio = floor(2^64 / q)
    /// (the modulus's RatioHi), whose estimate is at most 2 below the quotient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Reduce(Vector512<ulong> x, Vector512<ulong> q, Vector512<ulong> ratio, Vector512<ulong> ratioHi)
    {
        var r = x - MulLo(MulHi(x, ratio, ratioHi), q);
        return ConditionalSubtract(ConditionalSubtract(r, q), q);
    }

    /// <summary>A signed 64-bit value per lane reduced into [0, q), as <see cref="Modulus.FromSigned"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> FromSigned(Vector512<long> x, Vector512<ulong> q, Vector512<ulong> ratio, Vector512<ulong> ratioHi)
    {
        var sign = Vector512.ShiftRightArithmetic(x, 63).AsUInt64();
        var r = Reduce((x.AsUInt64() ^ sign) - sign, q, ratio, ratioHi);
        var negated = ConditionalSubtract(q - r, q);
        return Vector512.ConditionalSelect(sign, negated, r);
    }
}
