using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Federated.Crypto.Ckks.Arithmetic;

/// <summary>
/// Eight-lane bodies of the element-wise RNS loops (AVX-512). Each returns how many leading elements it handled (a
/// multiple of 8); the caller's scalar loop, the reference, finishes the rest. All operands are residues below q.
/// </summary>
internal static class RnsKernels
{
    private static ref ulong At(ReadOnlySpan<ulong> s) => ref MemoryMarshal.GetReference(s);
    private static ref ulong At(Span<ulong> s) => ref MemoryMarshal.GetReference(s);

    /// <summary>dst = a * b mod q (Barrett, <see cref="Simd.MultiplyMod"/>).</summary>
    public static int MultiplyPointwise(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, Span<ulong> dst, Modulus q)
    {
        if (!Simd.IsSupported) return 0;
        int n = dst.Length & ~7;
        ulong mu = Simd.BarrettMu(q);
        var vq = Vector512.Create(q.Value);
        var vmu = Vector512.Create(mu);
        var vmuHi = Vector512.Create(mu >> 32);
        int bits = q.BitCount;
        ref ulong pa = ref At(a), pb = ref At(b), pd = ref At(dst);
        for (int j = 0; j < n; j += 8)
            Simd.MultiplyMod(Vector512.LoadUnsafe(ref pa, (nuint)j), Vector512.LoadUnsafe(ref pb, (nuint)j), vq, vmu, vmuHi, bits).StoreUnsafe(ref pd, (nuint)j);
        return n;
    }

    /// <summary>dst = dst + a * b mod q.</summary>
    public static int MultiplyAddPointwise(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, Span<ulong> dst, Modulus q)
    {
        if (!Simd.IsSupported) return 0;
        int n = dst.Length & ~7;
        ulong mu = Simd.BarrettMu(q);
        var vq = Vector512.Create(q.Value);
        var vmu = Vector512.Create(mu);
        var vmuHi = Vector512.Create(mu >> 32);
        int bits = q.BitCount;
        ref ulong pa = ref At(a), pb = ref At(b), pd = ref At(dst);
        for (int j = 0; j < n; j += 8)
        {
            var p = Simd.MultiplyMod(Vector512.LoadUnsafe(ref pa, (nuint)j), Vector512.LoadUnsafe(ref pb, (nuint)j), vq, vmu, vmuHi, bits);
            Simd.ConditionalSubtract(Vector512.LoadUnsafe(ref pd, (nuint)j) + p, vq).StoreUnsafe(ref pd, (nuint)j);
        }
        return n;
    }

    /// <summary>dst = a + b mod q.</summary>
    public static int Add(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, Span<ulong> dst, ulong q)
    {
        if (!Simd.IsSupported) return 0;
        int n = dst.Length & ~7;
        var vq = Vector512.Create(q);
        ref ulong pa = ref At(a), pb = ref At(b), pd = ref At(dst);
        for (int j = 0; j < n; j += 8)
            Simd.ConditionalSubtract(Vector512.LoadUnsafe(ref pa, (nuint)j) + Vector512.LoadUnsafe(ref pb, (nuint)j), vq).StoreUnsafe(ref pd, (nuint)j);
        return n;
    }

    /// <summary>dst = a - b mod q.</summary>
    public static int Subtract(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, Span<ulong> dst, ulong q)
    {
        if (!Simd.IsSupported) return 0;
        int n = dst.Length & ~7;
        var vq = Vector512.Create(q);
        ref ulong pa = ref At(a), pb = ref At(b), pd = ref At(dst);
        for (int j = 0; j < n; j += 8)
        {
            var d = Vector512.LoadUnsafe(ref pa, (nuint)j) - Vector512.LoadUnsafe(ref pb, (nuint)j);
            Vector512.Min(d, d + vq).StoreUnsafe(ref pd, (nuint)j); // d wrapped below 0 exactly when d + q is the smaller
        }
        return n;
    }

    /// <summary>dst = x * w mod q for a fixed w with its Shoup constant; x any 64-bit value.</summary>
    public static int MultiplyShoup(ReadOnlySpan<ulong> x, ulong w, ulong wShoup, Span<ulong> dst, ulong q)
    {
        if (!Simd.IsSupported) return 0;
        int n = dst.Length & ~7;
        var vq = Vector512.Create(q);
        var vw = Vector512.Create(w);
        var vws = Vector512.Create(wShoup);
        var vwsHi = Vector512.Create(wShoup >> 32);
        ref ulong px = ref At(x), pd = ref At(dst);
        for (int j = 0; j < n; j += 8)
            Simd.ConditionalSubtract(Simd.MultiplyShoupLazy(Vector512.LoadUnsafe(ref px, (nuint)j), vw, vws, vwsHi, vq), vq).StoreUnsafe(ref pd, (nuint)j);
        return n;
    }

    /// <summary>dst = (x mod q) - c mod q for x any 64-bit value and c below q (<see cref="Modulus.Reduce(ulong)"/>).</summary>
    public static int ReduceSubtract(ReadOnlySpan<ulong> x, ulong c, Span<ulong> dst, Modulus q)
    {
        if (!Simd.IsSupported) return 0;
        int n = dst.Length & ~7;
        var vq = Vector512.Create(q.Value);
        var vc = Vector512.Create(c);
        var ratio = Vector512.Create(q.RatioHi);
        var ratioHi = Vector512.Create(q.RatioHi >> 32);
        ref ulong px = ref At(x), pd = ref At(dst);
        for (int j = 0; j < n; j += 8)
        {
            var v = Vector512.LoadUnsafe(ref px, (nuint)j);
            var r = v - Simd.MulLo(Simd.MulHi(v, ratio, ratioHi), vq);
            r = Simd.ConditionalSubtract(Simd.ConditionalSubtract(r, vq), vq);
            var d = r - vc;
            Vector512.Min(d, d + vq).StoreUnsafe(ref pd, (nuint)j);
        }
        return n;
    }

    /// <summary>dst = (a + q - b) * w mod q with w's Shoup constant, a and b below q.</summary>
    public static int SubtractMultiplyShoup(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, ulong w, ulong wShoup, Span<ulong> dst, ulong q)
    {
        if (!Simd.IsSupported) return 0;
        int n = dst.Length & ~7;
        var vq = Vector512.Create(q);
        var vw = Vector512.Create(w);
        var vws = Vector512.Create(wShoup);
        var vwsHi = Vector512.Create(wShoup >> 32);
        ref ulong pa = ref At(a), pb = ref At(b), pd = ref At(dst);
        for (int j = 0; j < n; j += 8)
        {
            var x = Vector512.LoadUnsafe(ref pa, (nuint)j) + vq - Vector512.LoadUnsafe(ref pb, (nuint)j);
            Simd.ConditionalSubtract(Simd.MultiplyShoupLazy(x, vw, vws, vwsHi, vq), vq).StoreUnsafe(ref pd, (nuint)j);
        }
        return n;
    }

    /// <summary>(hi, lo) += v * k: 128-bit lazy accumulation of full 64 x 64-bit products.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(Vector512<ulong> v, Vector512<ulong> k, ref Vector512<ulong> lo, ref Vector512<ulong> hi)
    {
        var pl = Simd.MulLo(v, k);
        var ph = Simd.MulHi(v, k);
        var s = lo + pl;
        // carry: s < pl (unsigned) is 1; GreaterThan gives all-ones (-1) per carrying lane.
        hi = hi + ph - Vector512.GreaterThan(pl, s);
        lo = s;
    }

    /// <summary>The key-switch inner step of <see cref="RnsOps.KeySwitchAccumulate"/> for the elements without a
    /// permutation, eight at a time.</summary>
    public static int KeySwitchAccumulate(ReadOnlySpan<ulong> d, ReadOnlySpan<ulong> kb, ReadOnlySpan<ulong> ka,
        Span<ulong> lo0, Span<ulong> hi0, Span<ulong> lo1, Span<ulong> hi1)
    {
        if (!Simd.IsSupported) return 0;
        int n = lo0.Length & ~7;
        ref ulong pd = ref At(d), pb = ref At(kb), pa = ref At(ka);
        ref ulong l0 = ref At(lo0), h0 = ref At(hi0), l1 = ref At(lo1), h1 = ref At(hi1);
        for (int x = 0; x < n; x += 8)
        {
            nuint i = (nuint)x;
            var v = Vector512.LoadUnsafe(ref pd, i);
            var lo = Vector512.LoadUnsafe(ref l0, i);
            var hi = Vector512.LoadUnsafe(ref h0, i);
            Accumulate(v, Vector512.LoadUnsafe(ref pb, i), ref lo, ref hi);
            lo.StoreUnsafe(ref l0, i);
            hi.StoreUnsafe(ref h0, i);
            lo = Vector512.LoadUnsafe(ref l1, i);
            hi = Vector512.LoadUnsafe(ref h1, i);
            Accumulate(v, Vector512.LoadUnsafe(ref pa, i), ref lo, ref hi);
            lo.StoreUnsafe(ref l1, i);
            hi.StoreUnsafe(ref h1, i);
        }
        return n;
    }

    /// <summary>As <see cref="KeySwitchAccumulate"/> with the digit read through an NTT-domain automorphism:
    /// v = d[perm[x]], gathered four at a time (there is no eight-lane 64-bit gather in .NET).</summary>
    public static unsafe int KeySwitchAccumulatePermuted(ReadOnlySpan<ulong> d, ReadOnlySpan<int> perm, ReadOnlySpan<ulong> kb, ReadOnlySpan<ulong> ka,
        Span<ulong> lo0, Span<ulong> hi0, Span<ulong> lo1, Span<ulong> hi1)
    {
        if (!Simd.IsSupported) return 0;
        int n = lo0.Length & ~7;
        ref int pp = ref MemoryMarshal.GetReference(perm);
        ref ulong pb = ref At(kb), pa = ref At(ka);
        ref ulong l0 = ref At(lo0), h0 = ref At(hi0), l1 = ref At(lo1), h1 = ref At(hi1);
        fixed (ulong* pd = d)
        {
            for (int x = 0; x < n; x += 8)
            {
                nuint i = (nuint)x;
                var v = Vector512.Create(Avx2.GatherVector256(pd, Vector128.LoadUnsafe(ref pp, i), 8), Avx2.GatherVector256(pd, Vector128.LoadUnsafe(ref pp, i + 4), 8));
                var lo = Vector512.LoadUnsafe(ref l0, i);
                var hi = Vector512.LoadUnsafe(ref h0, i);
                Accumulate(v, Vector512.LoadUnsafe(ref pb, i), ref lo, ref hi);
                lo.StoreUnsafe(ref l0, i);
                hi.StoreUnsafe(ref h0, i);
                lo = Vector512.LoadUnsafe(ref l1, i);
                hi = Vector512.LoadUnsafe(ref h1, i);
                Accumulate(v, Vector512.LoadUnsafe(ref pa, i), ref lo, ref hi);
                lo.StoreUnsafe(ref l1, i);
                hi.StoreUnsafe(ref h1, i);
            }
        }
        return n;
    }

    /// <summary>(hi, lo) += a * b over the leading multiple of 8 elements (<see cref="RnsOps.MultiplyAccumulateLazy"/>).</summary>
    public static int MultiplyAccumulateLazy(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, Span<ulong> lo, Span<ulong> hi)
    {
        if (!Simd.IsSupported) return 0;
        int n = lo.Length & ~7;
        ref ulong pa = ref At(a), pb = ref At(b), pl = ref At(lo), ph = ref At(hi);
        for (int x = 0; x < n; x += 8)
        {
            nuint i = (nuint)x;
            var l = Vector512.LoadUnsafe(ref pl, i);
            var h = Vector512.LoadUnsafe(ref ph, i);
            Accumulate(Vector512.LoadUnsafe(ref pa, i), Vector512.LoadUnsafe(ref pb, i), ref l, ref h);
            l.StoreUnsafe(ref pl, i);
            h.StoreUnsafe(ref ph, i);
        }
        return n;
    }
}
