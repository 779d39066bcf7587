using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Federated.Crypto.Ckks.Arithmetic;

/// <summary>
/// Eight-lane forms of the NTT stages (AVX-512): the same lazy butterflies, bit for bit, as the scalar stages. Stages
/// with a half-span of at least 8 read both halves directly; the last three forward (first three inverse) stages, with
/// half-spans 4, 2 and 1, take 16 values at a time and sort them into upper and lower halves with two-source permutes,
/// their twiddles loaded as one vector and spread to the lanes of their groups.
/// </summary>
public sealed partial class NttTables
{
    /// <summary>Per half-span t in {1, 2, 4}: lane indices of x and y in a block of 16, the twiddle lane of each x,
    /// and the inverse permutes writing (x, y) back to the two halves of the block.</summary>
    private static readonly (Vector512<ulong> X, Vector512<ulong> Y, Vector512<ulong> W, Vector512<ulong> Lower, Vector512<ulong> Upper)[] Permutes = BuildPermutes();

    private static (Vector512<ulong>, Vector512<ulong>, Vector512<ulong>, Vector512<ulong>, Vector512<ulong>)[] BuildPermutes()
    {
        var result = new (Vector512<ulong>, Vector512<ulong>, Vector512<ulong>, Vector512<ulong>, Vector512<ulong>)[5];
        foreach (int t in new[] { 1, 2, 4 })
        {
            ulong[] ix = new ulong[8], iy = new ulong[8], iw = new ulong[8], back = new ulong[16];
            for (int l = 0; l < 8; l++)
            {
                ix[l] = (ulong)(l / t * 2 * t + l % t);
                iy[l] = ix[l] + (ulong)t;
                iw[l] = (ulong)(l / t);
            }
            for (int e = 0; e < 16; e++)
            {
                int block = e / (2 * t), r = e % (2 * t);
                back[e] = r < t ? (ulong)(block * t + r) : (ulong)(8 + block * t + r - t);
            }
            result[t] = (Vector512.Create(ix), Vector512.Create(iy), Vector512.Create(iw),
                Vector512.Create(back.AsSpan(0, 8)), Vector512.Create(back.AsSpan(8, 8)));
        }
        return result;
    }

    /// <summary>Whether this table's transforms take the eight-lane path (AVX-512 present and N at least 16).</summary>
    internal bool UsesVectorKernels => Simd.IsSupported && N >= 16;

    /// <summary>One forward (Cooley-Tukey) stage over all m groups of half-span t, eight lanes at a time.</summary>
    private static unsafe void FullStageVector(ulong* pa, ulong* pw, ulong* pws, int m, int t, ulong q)
    {
        var vq = Vector512.Create(q);
        var v2q = Vector512.Create(2 * q);
        if (t >= 8)
        {
            for (int i = 0; i < m; i++)
            {
                ulong ws = pws[m + i];
                var vw = Vector512.Create(pw[m + i]);
                var vws = Vector512.Create(ws);
                var vwsHi = Vector512.Create(ws >> 32);
                ulong* x = pa + 2 * i * t;
                ulong* y = x + t;
                for (int j = 0; j < t; j += 8)
                {
                    var u = Simd.ConditionalSubtract(Vector512.Load(x + j), v2q);
                    var p = Simd.MultiplyShoupLazy(Vector512.Load(y + j), vw, vws, vwsHi, vq);
                    Vector512.Store(u + p, x + j);
                    Vector512.Store(u - p + v2q, y + j);
                }
            }
            return;
        }
        var (ix, iy, iw, lower, upper) = Permutes[t];
        int n = 2 * m * t, groups = 8 / t;
        for (int block = 0, g = m; block < n; block += 16, g += groups)
        {
            var a = Vector512.Load(pa + block);
            var b = Vector512.Load(pa + block + 8);
            var w = Avx512F.PermuteVar8x64(Vector512.Load(pw + g), iw);
            var ws = Avx512F.PermuteVar8x64(Vector512.Load(pws + g), iw);
            var u = Simd.ConditionalSubtract(Avx512F.PermuteVar8x64x2(a, ix, b), v2q);
            var p = Simd.MultiplyShoupLazy(Avx512F.PermuteVar8x64x2(a, iy, b), w, ws, Vector512.ShiftRightLogical(ws, 32), vq);
            var x2 = u + p;
            var y2 = u - p + v2q;
            Vector512.Store(Avx512F.PermuteVar8x64x2(x2, lower, y2), pa + block);
            Vector512.Store(Avx512F.PermuteVar8x64x2(x2, upper, y2), pa + block + 8);
        }
    }

    /// <summary>One inverse (Gentleman-Sande) stage over h groups of half-span t, eight lanes at a time.</summary>
    private static unsafe void InverseStageVector(ulong* pa, ulong* pw, ulong* pws, int h, int t, ulong q)
    {
        var vq = Vector512.Create(q);
        var v2q = Vector512.Create(2 * q);
        if (t >= 8)
        {
            for (int i = 0; i < h; i++)
            {
                ulong ws = pws[h + i];
                var vw = Vector512.Create(pw[h + i]);
                var vws = Vector512.Create(ws);
                var vwsHi = Vector512.Create(ws >> 32);
                ulong* x = pa + 2 * i * t;
                ulong* y = x + t;
                for (int j = 0; j < t; j += 8)
                {
                    var u = Vector512.Load(x + j);
                    var v = Vector512.Load(y + j);
                    Vector512.Store(Simd.ConditionalSubtract(u + v, v2q), x + j);
                    Vector512.Store(Simd.MultiplyShoupLazy(u - v + v2q, vw, vws, vwsHi, vq), y + j);
                }
            }
            return;
        }
        var (ix, iy, iw, lower, upper) = Permutes[t];
        int n = 2 * h * t, groups = 8 / t;
        for (int block = 0, g = h; block < n; block += 16, g += groups)
        {
            var a = Vector512.Load(pa + block);
            var b = Vector512.Load(pa + block + 8);
            var w = Avx512F.PermuteVar8x64(Vector512.Load(pw + g), iw);
            var ws = Avx512F.PermuteVar8x64(Vector512.Load(pws + g), iw);
            var u = Avx512F.PermuteVar8x64x2(a, ix, b);
            var v = Avx512F.PermuteVar8x64x2(a, iy, b);
            var x2 = Simd.ConditionalSubtract(u + v, v2q);
            var y2 = Simd.MultiplyShoupLazy(u - v + v2q, w, ws, Vector512.ShiftRightLogical(ws, 32), vq);
            Vector512.Store(Avx512F.PermuteVar8x64x2(x2, lower, y2), pa + block);
            Vector512.Store(Avx512F.PermuteVar8x64x2(x2, upper, y2), pa + block + 8);
        }
    }

    /// <summary>From the lazy range [0, 4q) to [0, q), eight lanes at a time (n a multiple of 8).</summary>
    private static unsafe void ReduceAllVector(ulong* pa, int n, ulong q)
    {
        var vq = Vector512.Create(q);
        var v2q = Vector512.Create(2 * q);
        for (int i = 0; i < n; i += 8)
            Vector512.Store(Simd.ConditionalSubtract(Simd.ConditionalSubtract(Vector512.Load(pa + i), v2q), vq), pa + i);
    }

    /// <summary>Multiplies by 1/N (Shoup) and reduces to [0, q), eight lanes at a time.</summary>
    private static unsafe void ScaleByInverseNVector(ulong* pa, int n, ulong q, ulong invN, ulong invNShoup)
    {
        var vq = Vector512.Create(q);
        var vw = Vector512.Create(invN);
        var vws = Vector512.Create(invNShoup);
        var vwsHi = Vector512.Create(invNShoup >> 32);
        for (int i = 0; i < n; i += 8)
            Vector512.Store(Simd.ConditionalSubtract(Simd.MultiplyShoupLazy(Vector512.Load(pa + i), vw, vws, vwsHi, vq), vq), pa + i);
    }
}
