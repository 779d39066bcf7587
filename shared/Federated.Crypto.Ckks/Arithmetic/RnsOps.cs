using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Federated.Crypto.Ckks.Arithmetic;

/// <summary>RNS polynomial operations shared by rescaling, public-key encryption and key switching.</summary>
internal static class RnsOps
{
    /// <summary>
    /// poly holds one NTT-form component per entry of primeIndices (N values each). Replaces the first k-1
    /// components with round(poly / p_last) mod q_i, in NTT form. The last component is left as garbage.
    /// </summary>
    public static void DivideRoundByLast(CkksContext ctx, Span<ulong> poly, ReadOnlySpan<int> primeIndices)
    {
        int n = ctx.N, k = primeIndices.Length;
        int last = primeIndices[k - 1];
        Modulus pl = ctx.Moduli[last];
        ulong[] tmpArr = ArrayPool<ulong>.Shared.Rent(n);
        ulong[] bufArr = ArrayPool<ulong>.Shared.Rent(n);
        try
        {
            Span<ulong> tmp = tmpArr.AsSpan(0, n), buf = bufArr.AsSpan(0, n);
            poly.Slice((k - 1) * n, n).CopyTo(tmp);
            ctx.Ntt[last].Inverse(tmp);
            ulong half = pl.Value >> 1;
            for (int j = 0; j < n; j++) tmp[j] = pl.Add(tmp[j], half);
            for (int i = 0; i < k - 1; i++)
            {
                int idx = primeIndices[i];
                Modulus qi = ctx.Moduli[idx];
                ulong q = qi.Value;
                ulong halfMod = qi.Reduce(half);
                for (int j = RnsKernels.ReduceSubtract(tmp, halfMod, buf, qi); j < n; j++) buf[j] = qi.Sub(qi.Reduce(tmp[j]), halfMod);
                ctx.Ntt[idx].Forward(buf);
                ulong inv = ctx.InverseOf[last][idx], invS = ctx.InverseOfShoup[last][idx];
                Span<ulong> comp = poly.Slice(i * n, n);
                for (int j = RnsKernels.SubtractMultiplyShoup(comp, buf, inv, invS, comp, q); j < n; j++) comp[j] = qi.MultiplyShoup(comp[j] + q - buf[j], inv, invS);
            }
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(tmpArr);
            ArrayPool<ulong>.Shared.Return(bufArr);
        }
    }

    /// <summary>dst[j] = a[j] * b[j] mod q over one component.</summary>
    public static void MultiplyPointwise(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, Span<ulong> dst, Modulus q)
    {
        for (int j = RnsKernels.MultiplyPointwise(a, b, dst, q); j < dst.Length; j++)
        {
            ulong hi = Math.BigMul(a[j], b[j], out ulong lo);
            dst[j] = q.Reduce(hi, lo);
        }
    }

    /// <summary>dst[j] = dst[j] + a[j] * b[j] mod q over one component.</summary>
    public static void MultiplyAddPointwise(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, Span<ulong> dst, Modulus q)
    {
        for (int j = RnsKernels.MultiplyAddPointwise(a, b, dst, q); j < dst.Length; j++)
        {
            ulong hi = Math.BigMul(a[j], b[j], out ulong lo);
            dst[j] = q.Add(dst[j], q.Reduce(hi, lo));
        }
    }

    /// <summary>(hi, lo) += a[x] * b[x]: 128-bit lazy accumulation, reduced once at the end.</summary>
    public static void MultiplyAccumulateLazy(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, Span<ulong> lo, Span<ulong> hi)
    {
        if (a.Length < lo.Length || b.Length < lo.Length || hi.Length < lo.Length) throw new ArgumentException("lazy accumulation spans are shorter than the accumulator");
        for (int x = RnsKernels.MultiplyAccumulateLazy(a, b, lo, hi); x < lo.Length; x++)
        {
            ulong h = Math.BigMul(a[x], b[x], out ulong l);
            ulong s = lo[x] + l;
            hi[x] += h + Modulus.Carry(s, l);
            lo[x] = s;
        }
    }

    /// <summary>Key-switching inner step for both key halves at once: v = d[x] (or d[perm[x]], an NTT-domain
    /// automorphism applied on the fly), (hi0, lo0) += v * kb[x], (hi1, lo1) += v * ka[x].</summary>
    public static void KeySwitchAccumulate(ReadOnlySpan<ulong> d, ReadOnlySpan<int> perm, ReadOnlySpan<ulong> kb, ReadOnlySpan<ulong> ka,
        Span<ulong> lo0, Span<ulong> hi0, Span<ulong> lo1, Span<ulong> hi1)
    {
        int n = lo0.Length;
        if (d.Length < n || kb.Length < n || ka.Length < n || hi0.Length < n || lo1.Length < n || hi1.Length < n || (!perm.IsEmpty && perm.Length < n))
            throw new ArgumentException("key-switching spans are shorter than the accumulator");
        ref ulong d0 = ref MemoryMarshal.GetReference(d);
        ref int p0 = ref MemoryMarshal.GetReference(perm);
        ref ulong b0 = ref MemoryMarshal.GetReference(kb), a0 = ref MemoryMarshal.GetReference(ka);
        ref ulong l0 = ref MemoryMarshal.GetReference(lo0), h0 = ref MemoryMarshal.GetReference(hi0);
        ref ulong l1 = ref MemoryMarshal.GetReference(lo1), h1 = ref MemoryMarshal.GetReference(hi1);
        if (perm.IsEmpty)
            for (int x = RnsKernels.KeySwitchAccumulate(d, kb, ka, lo0, hi0, lo1, hi1); x < n; x++) Step(Unsafe.Add(ref d0, x), x, ref b0, ref a0, ref l0, ref h0, ref l1, ref h1);
        else
            for (int x = RnsKernels.KeySwitchAccumulatePermuted(d, perm, kb, ka, lo0, hi0, lo1, hi1); x < n; x++) Step(Unsafe.Add(ref d0, Unsafe.Add(ref p0, x)), x, ref b0, ref a0, ref l0, ref h0, ref l1, ref h1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(ulong v, int x, ref ulong b0, ref ulong a0, ref ulong l0, ref ulong h0, ref ulong l1, ref ulong h1)
    {
        ulong h = Math.BigMul(v, Unsafe.Add(ref b0, x), out ulong l);
        ulong s = Unsafe.Add(ref l0, x) + l;
        Unsafe.Add(ref h0, x) += h + Modulus.Carry(s, l);
        Unsafe.Add(ref l0, x) = s;
        h = Math.BigMul(v, Unsafe.Add(ref a0, x), out l);
        s = Unsafe.Add(ref l1, x) + l;
        Unsafe.Add(ref h1, x) += h + Modulus.Carry(s, l);
        Unsafe.Add(ref l1, x) = s;
    }

    /// <summary>Products of two residues below q that may be summed lazily before the 128-bit sum can overflow.</summary>
    public static int LazyTermLimit(Modulus q) => 1 << Math.Min(30, 128 - 2 * q.BitCount - 1);

    /// <summary>dst[x] = (hi, lo)[x] mod q.</summary>
    public static void ReduceLazy(Span<ulong> lo, Span<ulong> hi, Span<ulong> dst, Modulus q)
    {
        for (int x = 0; x < dst.Length; x++) dst[x] = q.Reduce(hi[x], lo[x]);
    }

    public static void FlushLazy(Span<ulong> lo, Span<ulong> hi, Modulus q)
    {
        for (int x = 0; x < lo.Length; x++) { lo[x] = q.Reduce(hi[x], lo[x]); hi[x] = 0; }
    }

    public static void AddInto(Span<ulong> dst, ReadOnlySpan<ulong> a, Modulus q)
    {
        ulong v = q.Value;
        for (int j = RnsKernels.Add(dst, a, dst, v); j < dst.Length; j++) dst[j] = Modulus.ConditionalSubtract(dst[j] + a[j], v);
    }

    public static void SubInto(Span<ulong> dst, ReadOnlySpan<ulong> a, Modulus q)
    {
        ulong v = q.Value;
        for (int j = RnsKernels.Subtract(dst, a, dst, v); j < dst.Length; j++)
        {
            ulong d = dst[j] - a[j];
            dst[j] = d + (v & (ulong)((long)d >> 63));
        }
    }

    public static void NegateInPlace(Span<ulong> dst, Modulus q)
    {
        ulong v = q.Value;
        for (int j = 0; j < dst.Length; j++) dst[j] = Modulus.ConditionalSubtract(v - dst[j], v);
    }

    public static void MultiplyScalar(Span<ulong> dst, ulong w, Modulus q)
    {
        ulong ws = q.ShoupPrecompute(w);
        for (int j = RnsKernels.MultiplyShoup(dst, w, ws, dst, q.Value); j < dst.Length; j++) dst[j] = q.MultiplyShoup(dst[j], w, ws);
    }
}
