using System.Runtime.CompilerServices;

namespace Federated.Crypto.Ckks.Arithmetic;

/// <summary>
/// Negacyclic NTT modulo one prime (Harvey's lazy butterflies with Shoup constants). Forward output index k holds
/// a(psi^(2*bitrev(k)+1)), where psi is a primitive 2N-th root of unity mod q.
/// </summary>
public sealed partial class NttTables
{
    public Modulus Modulus { get; }
    public int N { get; }
    public int LogN { get; }
    /// <summary>The primitive 2N-th root of unity used.</summary>
    public ulong Psi { get; }

    private readonly ulong[] _rootPowers;      // psi^bitrev(i)
    private readonly ulong[] _rootPowersShoup;
    private readonly ulong[] _invRootPowers;   // psi^-bitrev(i)
    private readonly ulong[] _invRootPowersShoup;
    private readonly ulong _invN, _invNShoup;

    public NttTables(int n, Modulus modulus)
    {
        if (n < 2 || (n & (n - 1)) != 0) throw new ArgumentException($"N must be a power of two, got {n}", nameof(n));
        ulong q = modulus.Value;
        if ((q - 1) % (2UL * (ulong)n) != 0)
            throw new ArgumentException($"prime {q} is not congruent to 1 mod 2N = {2 * n}", nameof(modulus));
        Modulus = modulus;
        N = n;
        LogN = System.Numerics.BitOperations.Log2((uint)n);
        Psi = FindPrimitiveRoot(2UL * (ulong)n, modulus);
        ulong psiInv = modulus.Inverse(Psi);
        _rootPowers = new ulong[n];
        _invRootPowers = new ulong[n];
        _rootPowersShoup = new ulong[n];
        _invRootPowersShoup = new ulong[n];
        ulong pw = 1, ipw = 1;
        for (int i = 0; i < n; i++)
        {
            int rev = (int)BitReverse((uint)i, LogN);
            _rootPowers[rev] = pw;
            _invRootPowers[rev] = ipw;
            pw = modulus.Multiply(pw, Psi);
            ipw = modulus.Multiply(ipw, psiInv);
        }
        for (int i = 0; i < n; i++)
        {
            _rootPowersShoup[i] = modulus.ShoupPrecompute(_rootPowers[i]);
            _invRootPowersShoup[i] = modulus.ShoupPrecompute(_invRootPowers[i]);
        }
        _invN = modulus.Inverse((ulong)n);
        _invNShoup = modulus.ShoupPrecompute(_invN);
    }

    public static uint BitReverse(uint x, int bits) => bits == 0 ? 0 : ReverseBits(x) >> (32 - bits);

    private static uint ReverseBits(uint v)
    {
        v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
        v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
        v = ((v >> 4) & 0x0F0F0F0Fu) | ((v & 0x0F0F0F0Fu) << 4);
        v = ((v >> 8) & 0x00FF00FFu) | ((v & 0x00FF00FFu) << 8);
        return (v >> 16) | (v << 16);
    }

    private static ulong FindPrimitiveRoot(ulong order, Modulus modulus)
    {
        // g^((q-1)/order) has order dividing `order`; it is primitive iff its (order/2)-th power is -1.
        ulong q = modulus.Value;
        ulong exponent = (q - 1) / order;
        for (ulong g = 2; g < q; g++)
        {
            ulong root = modulus.Pow(g, exponent);
            if (modulus.Pow(root, order / 2) == q - 1)
            {
                // Use the smallest primitive root among the powers so the tables are canonical.
                ulong best = root, gen = root, sq = modulus.Multiply(root, root);
                for (ulong k = 3; k < order; k += 2)
                {
                    gen = modulus.Multiply(gen, sq);
                    if (gen < best) best = gen;
                }
                return best;
            }
        }
        throw new InvalidOperationException($"no primitive {order}-th root of unity modulo {q}");
    }

    /// <summary>In-place forward negacyclic NTT; input in [0, q), output in [0, q). Eight lanes at a time where
    /// AVX-512 is present (<see cref="ForwardReference"/> is the scalar form; both give the same result).</summary>
    public unsafe void Forward(Span<ulong> a)
    {
        if (a.Length != N) throw new ArgumentException($"expected {N} coefficients, got {a.Length}");
        ulong q = Modulus.Value;
        bool vector = UsesVectorKernels;
        fixed (ulong* pa = a, pw = _rootPowers, pws = _rootPowersShoup)
        {
            for (int m = 1, t = N >> 1; m < N; m <<= 1, t >>= 1) Stage(pa, pw, pws, m, t, q, vector);
            if (vector) ReduceAllVector(pa, N, q);
            else ReduceAll(pa, N, q);
        }
    }

    /// <summary>The scalar forward NTT, the reference the vector form is tested against.</summary>
    internal unsafe void ForwardReference(Span<ulong> a)
    {
        if (a.Length != N) throw new ArgumentException($"expected {N} coefficients, got {a.Length}");
        ulong q = Modulus.Value;
        fixed (ulong* pa = a, pw = _rootPowers, pws = _rootPowersShoup)
        {
            for (int m = 1, t = N >> 1; m < N; m <<= 1, t >>= 1) FullStage(pa, pw, pws, m, t, q);
            ReduceAll(pa, N, q);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Stage(ulong* pa, ulong* pw, ulong* pws, int m, int t, ulong q, bool vector)
    {
        if (vector) FullStageVector(pa, pw, pws, m, t, q);
        else FullStage(pa, pw, pws, m, t, q);
    }

    /// <summary>
    /// Forward NTT of a polynomial whose nonzero coefficients all sit at positions p with (p mod period) &lt; width
    /// (both powers of two, width &lt;= period &lt;= N); same output as <see cref="Forward"/>. Stages with a half-span of
    /// at least <paramref name="period"/> touch only the supported positions, stages down to <paramref name="width"/>
    /// only copy (their upper inputs are zero), and only the last log2(width) stages are full butterflies: the
    /// plaintexts of the coefficient-packed batch-sum product have width 64 at N = 8192, so 6 of 13 stages.
    /// </summary>
    public unsafe void ForwardSparse(Span<ulong> a, int period, int width)
    {
        if (a.Length != N) throw new ArgumentException($"expected {N} coefficients, got {a.Length}");
        if (width <= 0 || period < width || period > N || (period & (period - 1)) != 0 || (width & (width - 1)) != 0)
            throw new ArgumentException($"period ({period}) and width ({width}) must be powers of two with width <= period <= N");
        ulong q = Modulus.Value, twoQ = 2 * q;
        bool vector = UsesVectorKernels;
        fixed (ulong* pa = a, pw = _rootPowers, pws = _rootPowersShoup)
        {
            for (int m = 1, t = N >> 1; m < N; m <<= 1, t >>= 1)
            {
                if (t >= period)
                {
                    // Both halves share the residue mod period: butterflies on the supported positions only.
                    for (int i = 0; i < m; i++)
                    {
                        ulong* x = pa + 2 * i * t;
                        for (int b = 0; b < t; b += period)
                            for (int j = b; j < b + width; j++) Butterfly(x + j, x + t + j, pw[m + i], pws[m + i], q);
                    }
                }
                else if (t >= width)
                {
                    // The upper half is zero here: the butterfly is (u, u); the support doubles.
                    for (int i = 0; i < m; i++)
                    {
                        ulong* x = pa + 2 * i * t;
                        for (int j = 0; j < width; j++) x[t + j] = x[j] = Modulus.ConditionalSubtract(x[j], twoQ);
                    }
                }
                else Stage(pa, pw, pws, m, t, q, vector);
            }
            if (vector) ReduceAllVector(pa, N, q);
            else ReduceAll(pa, N, q);
        }
    }

    /// <summary>One Cooley-Tukey stage over all m groups of half-span t (Harvey's lazy butterflies, values below 4q).</summary>
    private static unsafe void FullStage(ulong* pa, ulong* pw, ulong* pws, int m, int t, ulong q)
    {
        ulong twoQ = 2 * q;
        for (int i = 0; i < m; i++)
        {
            ulong w = pw[m + i], ws = pws[m + i];
            ulong* x = pa + 2 * i * t;
            ulong* y = x + t;
            if (t >= 4)
            {
                // Two butterflies per iteration: the JIT keeps both in registers.
                for (ulong* end = y; x < end; x += 2, y += 2)
                {
                    ulong u0 = Modulus.ConditionalSubtract(x[0], twoQ);
                    ulong u1 = Modulus.ConditionalSubtract(x[1], twoQ);
                    ulong v0 = y[0], v1 = y[1];
                    ulong p0 = v0 * w - Math.BigMul(v0, ws, out _) * q;
                    ulong p1 = v1 * w - Math.BigMul(v1, ws, out _) * q;
                    x[0] = u0 + p0; y[0] = u0 - p0 + twoQ;
                    x[1] = u1 + p1; y[1] = u1 - p1 + twoQ;
                }
            }
            else
                for (int j = 0; j < t; j++) Butterfly(x + j, y + j, w, ws, q);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static unsafe void Butterfly(ulong* x, ulong* y, ulong w, ulong ws, ulong q)
    {
        ulong twoQ = 2 * q;
        ulong u = Modulus.ConditionalSubtract(*x, twoQ);
        ulong v = *y;
        ulong p = v * w - Math.BigMul(v, ws, out _) * q;
        *x = u + p; *y = u - p + twoQ;
    }

    /// <summary>From the lazy range [0, 4q) to [0, q).</summary>
    private static unsafe void ReduceAll(ulong* pa, int n, ulong q)
    {
        ulong twoQ = 2 * q;
        for (int i = 0; i < n; i++) pa[i] = Modulus.ConditionalSubtract(Modulus.ConditionalSubtract(pa[i], twoQ), q);
    }

    /// <summary>In-place inverse negacyclic NTT; input in [0, q), output in [0, q). Eight lanes at a time where
    /// AVX-512 is present (<see cref="InverseReference"/> is the scalar form; both give the same result).</summary>
    public unsafe void Inverse(Span<ulong> a)
    {
        if (!UsesVectorKernels) { InverseReference(a); return; }
        if (a.Length != N) throw new ArgumentException($"expected {N} coefficients, got {a.Length}");
        ulong q = Modulus.Value;
        fixed (ulong* pa = a, pw = _invRootPowers, pws = _invRootPowersShoup)
        {
            for (int h = N >> 1, t = 1; h >= 1; h >>= 1, t <<= 1) InverseStageVector(pa, pw, pws, h, t, q);
            ScaleByInverseNVector(pa, N, q, _invN, _invNShoup);
        }
    }

    /// <summary>The scalar inverse NTT, the reference the vector form is tested against.</summary>
    internal unsafe void InverseReference(Span<ulong> a)
    {
        if (a.Length != N) throw new ArgumentException($"expected {N} coefficients, got {a.Length}");
        ulong q = Modulus.Value, twoQ = 2 * q;
        fixed (ulong* pa = a, pw = _invRootPowers, pws = _invRootPowersShoup)
        {
            int t = 1;
            for (int m = N; m > 1; m >>= 1)
            {
                int h = m >> 1;
                ulong* x = pa;
                for (int i = 0; i < h; i++)
                {
                    ulong w = pw[h + i], ws = pws[h + i];
                    ulong* y = x + t;
                    for (int j = 0; j < t; j++)
                    {
                        ulong u = x[j], v = y[j];
                        x[j] = Modulus.ConditionalSubtract(u + v, twoQ);
                        ulong d = u - v + twoQ;
                        y[j] = d * w - Math.BigMul(d, ws, out _) * q;
                    }
                    x += 2 * t;
                }
                t <<= 1;
            }
            ulong invN = _invN, invNs = _invNShoup;
            for (int i = 0; i < N; i++)
            {
                ulong v = pa[i];
                pa[i] = Modulus.ConditionalSubtract(v * invN - Math.BigMul(v, invNs, out _) * q, q);
            }
        }
    }
}
