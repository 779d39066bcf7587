using System.Buffers;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Federated.Crypto.Ckks.Arithmetic;
using Federated.Crypto.Ckks.Keys;

namespace Federated.Crypto.Ckks.Packing;

/// <summary>Rotation schedule of the batch-sum product for one (rows, inner columns) shape.</summary>
public sealed record BatchSumPlan(int BatchRows, int InnerColumns, int PaddedColumns, int BabySteps, int GiantSteps, int[] FoldSteps)
{
    /// <summary>Rotation steps whose Galois keys the product needs (and the only ones it uses).</summary>
    public int[] RequiredSteps =>
        [.. Enumerable.Range(1, BabySteps - 1), .. Enumerable.Range(1, GiantSteps - 1).Select(g => g * BabySteps), .. FoldSteps];

    /// <summary>Key-switched rotations per output ciphertext: (n1 - 1) + (n2 - 1) + log2(slots / padded columns).</summary>
    public int RotationsPerOutput => BabySteps - 1 + GiantSteps - 1 + FoldSteps.Length;

    /// <summary>
    /// A slot vector holding values[i] at every slot congruent to i mod the padded column count: the layout of a
    /// batch-sum output. Anything added to an output (such as the Xi / eta of B3, docs/protocol.md §2.3) must use this layout:
    /// adding it to the first k slots only would leave the other replicas of alpha^T * delta unprotected.
    /// </summary>
    public double[] ReplicateLikeOutput(ReadOnlySpan<double> values, int slotCount)
    {
        if (values.Length != InnerColumns) throw new ArgumentException($"expected {InnerColumns} values, got {values.Length}");
        var slots = new double[slotCount];
        for (int s = 0; s < slotCount; s++)
        {
            int i = s % PaddedColumns;
            if (i < InnerColumns) slots[s] = values[i];
        }
        return slots;
    }

    /// <summary>The k results of one decoded batch-sum output (its first k slots).</summary>
    public double[] ExtractOutput(ReadOnlySpan<double> decodedSlots) => decodedSlots[..InnerColumns].ToArray();
}

/// <summary>
/// Packed ciphertext-by-plaintext matrix products of docs/protocol.md §2, parallel over outputs:
/// <list type="bullet">
/// <item>Column-packed product (forward, F2): k ciphertexts (column i of alpha, slot = batch row) times a plaintext
/// k x d matrix W. Rotation-free: with one block, output column j = sum_i round(W[i,j] * 2^bits) * ct_i directly on
/// the RNS coefficients; with replicated columns, each output ciphertext carries several output columns in blocks.</item>
/// <item>Batch-sum product (backward, B3): alpha^T * delta for a plaintext alpha (rows x k) and d ciphertexts (column
/// j of delta, slot = batch row). Halevi-Shoup diagonals with a baby-step/giant-step schedule, then a fold over the
/// slots; result i of output j lands in slot i (replicated every padded-k slots).</item>
/// </list>
/// Result scale = input scale * 2^bits (rescale once afterwards).
/// </summary>
public sealed partial class PackedMatrixProducts
{
    private const int Tile = 1024;
    private const int OutputGroup = 4;
    private readonly CkksContext _ctx;
    private readonly CkksEncoder _encoder;
    private readonly Evaluator _evaluator;

    /// <param name="maxDegreeOfParallelism">Workers over outputs; -1 = all cores, 1 = single thread.</param>
    public PackedMatrixProducts(CkksContext context, int maxDegreeOfParallelism = -1)
    {
        _ctx = context ?? throw new ArgumentNullException(nameof(context));
        _encoder = new CkksEncoder(context);
        _evaluator = new Evaluator(context);
        MaxDegreeOfParallelism = maxDegreeOfParallelism;
    }

    public int MaxDegreeOfParallelism { get; }
    /// <summary>Key-switched rotations performed so far by this instance.</summary>
    public long RotationCount => _evaluator.RotationCount;
    public void ResetRotationCount() => _evaluator.ResetRotationCount();

    private ParallelOptions Options => new() { MaxDegreeOfParallelism = MaxDegreeOfParallelism };

    private (int Level, double Scale) CheckInputs(IReadOnlyList<Ciphertext> inputs, string name)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0) throw new ArgumentException($"{name}: no input ciphertexts");
        int level = inputs[0].Level;
        double scale = inputs[0].Scale;
        for (int i = 0; i < inputs.Count; i++)
        {
            var c = inputs[i] ?? throw new ArgumentNullException(name, $"{name}[{i}] is null");
            if (!c.Context.SameParameters(_ctx)) throw new CkksMismatchException($"{name}[{i}] belongs to different parameters");
            if (c.Level != level) throw new CkksMismatchException($"{name}[{i}] is at level {c.Level}, {name}[0] at {level}");
            Evaluator.CheckScales(c.Scale, scale, $"{name}[{i}]");
        }
        return (level, scale);
    }

    private void CheckResultScale(double scale, int level, string what)
    {
        if (Math.Log2(scale) >= _ctx.LogModulusAtLevel(level) - 1)
            throw new CkksMismatchException($"{what}: result scale 2^{Math.Log2(scale):F1} does not fit the modulus at level {level} (2^{_ctx.LogModulusAtLevel(level):F1}); use fewer weight bits or a higher level");
    }

    private static int FlushLimit(Modulus q) => RnsOps.LazyTermLimit(q);

    // ------------------------------------------------------------------ forward: column-packed product

    /// <summary>
    /// Column-packed product. <paramref name="weights"/> is k x d row-major (k = inputs). Returns
    /// <see cref="ColumnPacking.OutputCiphertextCount"/>(d) ciphertexts; decode and gather with
    /// <see cref="ColumnPacking.UnpackOutputs"/>.
    /// </summary>
    public Ciphertext[] ColumnPackedProduct(IReadOnlyList<Ciphertext> inputColumns, double[] weights, int outputColumns, int weightBits, ColumnPacking layout)
    {
        var (level, scale) = CheckInputs(inputColumns, nameof(inputColumns));
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(layout);
        int k = inputColumns.Count, d = outputColumns;
        if (d <= 0 || weights.Length != k * d)
            throw new ArgumentException($"weights must be k x d = {k} x {d} = {k * d} values row-major, got {weights.Length}");
        if (layout.SlotCount != _ctx.SlotCount) throw new ArgumentException($"layout is for {layout.SlotCount} slots, the parameters have {_ctx.SlotCount}");
        double outScale = scale * Math.Pow(2, weightBits);
        CheckResultScale(outScale, level, "column-packed product");
        return layout.Blocks == 1
            ? ScalarColumnProduct(inputColumns, weights, d, weightBits, level, outScale)
            : BlockColumnProduct(inputColumns, weights, d, weightBits, level, outScale, layout);
    }

    private Ciphertext[] ScalarColumnProduct(IReadOnlyList<Ciphertext> inputs, double[] weights, int d, int bits, int level, double outScale)
    {
        int k = inputs.Count, n = _ctx.N, primes = level + 1;
        // Weights as integers, reduced per prime: wq[t][i * d + j].
        var wq = new ulong[primes][];
        for (int t = 0; t < primes; t++) wq[t] = new ulong[k * d];
        for (int x = 0; x < k * d; x++)
        {
            long w = Evaluator.ScalarToInteger(weights[x], bits);
            for (int t = 0; t < primes; t++) wq[t][x] = _ctx.Moduli[t].FromSigned(w);
        }
        var outputs = new Ciphertext[d];
        for (int j = 0; j < d; j++) outputs[j] = new Ciphertext(_ctx, level, outScale);
        int groups = (d + OutputGroup - 1) / OutputGroup;
        if (LimbKernel.Applies(weights, bits, k))
        {
            Parallel.For(0, groups, Options, g => LimbKernel.Run(_ctx, inputs, weights, bits, d, g * OutputGroup, Math.Min(OutputGroup, d - g * OutputGroup), outputs));
            return outputs;
        }
        Parallel.For(0, groups, Options, g =>
        {
            int j0 = g * OutputGroup, gs = Math.Min(OutputGroup, d - j0);
            ulong[] lo = ArrayPool<ulong>.Shared.Rent(OutputGroup * Tile), hi = ArrayPool<ulong>.Shared.Rent(OutputGroup * Tile);
            try
            {
                for (int p = 0; p < 2; p++)
                    for (int t = 0; t < primes; t++)
                    {
                        Modulus q = _ctx.Moduli[t];
                        int flush = FlushLimit(q);
                        ulong[] wt = wq[t];
                        for (int x0 = 0; x0 < n; x0 += Tile)
                        {
                            int len = Math.Min(Tile, n - x0);
                            Array.Clear(lo, 0, gs * Tile); Array.Clear(hi, 0, gs * Tile);
                            int count = 0;
                            for (int i = 0; i < k; i++)
                            {
                                ReadOnlySpan<ulong> src = inputs[i].Component(p, t).Slice(x0, len);
                                for (int gj = 0; gj < gs; gj++)
                                    MacScalar(src, wt[i * d + j0 + gj], lo.AsSpan(gj * Tile, len), hi.AsSpan(gj * Tile, len));
                                if (++count == flush) { for (int gj = 0; gj < gs; gj++) RnsOps.FlushLazy(lo.AsSpan(gj * Tile, len), hi.AsSpan(gj * Tile, len), q); count = 1; }
                            }
                            for (int gj = 0; gj < gs; gj++)
                            {
                                Span<ulong> dst = outputs[j0 + gj].Component(p, t).Slice(x0, len);
                                for (int x = 0; x < len; x++) dst[x] = q.Reduce(hi[gj * Tile + x], lo[gj * Tile + x]);
                            }
                        }
                    }
            }
            finally { ArrayPool<ulong>.Shared.Return(lo); ArrayPool<ulong>.Shared.Return(hi); }
        });
        return outputs;
    }

    private static void MacScalar(ReadOnlySpan<ulong> src, ulong w, Span<ulong> lo, Span<ulong> hi)
    {
        for (int x = 0; x < src.Length; x++)
        {
            ulong h = Math.BigMul(src[x], w, out ulong l);
            ulong s = lo[x] + l;
            hi[x] += h + Modulus.Carry(s, l);
            lo[x] = s;
        }
    }

    private Ciphertext[] BlockColumnProduct(IReadOnlyList<Ciphertext> inputs, double[] weights, int d, int bits, int level, double outScale, ColumnPacking layout)
    {
        int k = inputs.Count, n = _ctx.N, r = layout.Blocks, rows = layout.BatchRows;
        // Unscaled coefficient vectors of each block's indicator; a weight plaintext is their linear combination.
        var indicators = new double[r][];
        for (int blk = 0; blk < r; blk++)
        {
            var slots = new double[_ctx.SlotCount];
            slots.AsSpan(blk * rows, rows).Fill(1.0);
            indicators[blk] = new double[n];
            _encoder.EncodeUnscaledCoefficients(slots, indicators[blk]);
        }
        int outCount = layout.OutputCiphertextCount(d);
        var outputs = new Ciphertext[outCount];
        double wScale = Math.Pow(2, bits);
        Parallel.For(0, outCount, Options, g =>
        {
            var output = new Ciphertext(_ctx, level, outScale);
            int len = output.PolyLength;
            var pt = new Plaintext(_ctx, level, wScale);
            double[] coeffs = ArrayPool<double>.Shared.Rent(n);
            ulong[] lo = ArrayPool<ulong>.Shared.Rent(2 * len), hi = ArrayPool<ulong>.Shared.Rent(2 * len);
            try
            {
                Array.Clear(lo, 0, 2 * len); Array.Clear(hi, 0, 2 * len);
                int count = 0, flush = int.MaxValue;
                for (int t = 0; t <= level; t++) flush = Math.Min(flush, FlushLimit(_ctx.Moduli[t]));
                for (int i = 0; i < k; i++)
                {
                    Span<double> c = coeffs.AsSpan(0, n);
                    c.Clear();
                    bool any = false;
                    for (int blk = 0; blk < r; blk++)
                    {
                        int j = g * r + blk;
                        if (j >= d) break;
                        double w = weights[i * d + j] * wScale;
                        if (w == 0) continue;
                        any = true;
                        double[] ind = indicators[blk];
                        for (int x = 0; x < n; x++) c[x] += w * ind[x];
                    }
                    if (!any) continue;
                    _encoder.EncodeScaledCoefficients(c, wScale, pt);
                    for (int p = 0; p < 2; p++)
                        for (int t = 0; t <= level; t++)
                            RnsOps.MultiplyAccumulateLazy(inputs[i].Component(p, t), pt.Component(t), lo.AsSpan(p * len + t * n, n), hi.AsSpan(p * len + t * n, n));
                    if (++count == flush) { FlushAll(lo, hi, len, level); count = 1; }
                }
                for (int p = 0; p < 2; p++)
                    for (int t = 0; t <= level; t++)
                    {
                        Modulus q = _ctx.Moduli[t];
                        Span<ulong> dst = output.Component(p, t);
                        int o = p * len + t * n;
                        for (int x = 0; x < n; x++) dst[x] = q.Reduce(hi[o + x], lo[o + x]);
                    }
                outputs[g] = output;
            }
            finally
            {
                ArrayPool<double>.Shared.Return(coeffs);
                ArrayPool<ulong>.Shared.Return(lo);
                ArrayPool<ulong>.Shared.Return(hi);
            }
        });
        return outputs;
    }

    private void FlushAll(Span<ulong> lo, Span<ulong> hi, int len, int level)
    {
        int n = _ctx.N;
        for (int p = 0; p < 2; p++)
            for (int t = 0; t <= level; t++)
                RnsOps.FlushLazy(lo.Slice(p * len + t * n, n), hi.Slice(p * len + t * n, n), _ctx.Moduli[t]);
    }

    // ------------------------------------------------------------------ backward: batch-sum product

    /// <summary>The BSGS schedule for alpha (rows x innerColumns); generate Galois keys for its RequiredSteps.</summary>
    public BatchSumPlan PlanBatchSum(int batchRows, int innerColumns)
    {
        int slots = _ctx.SlotCount;
        if (batchRows <= 0 || batchRows > slots) throw new ArgumentOutOfRangeException(nameof(batchRows), $"batch rows must be in [1, {slots}], got {batchRows}");
        if (innerColumns <= 0 || innerColumns > slots) throw new ArgumentOutOfRangeException(nameof(innerColumns), $"inner columns must be in [1, {slots}], got {innerColumns}");
        int kp = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)innerColumns);
        int logK = System.Numerics.BitOperations.Log2((uint)kp);
        int n1 = 1 << ((logK + 1) / 2);
        int n2 = kp / n1;
        var fold = new List<int>();
        for (int s = kp; s < slots; s <<= 1) fold.Add(s);
        return new BatchSumPlan(batchRows, innerColumns, kp, n1, n2, [.. fold]);
    }

    /// <summary>
    /// alpha^T * delta: <paramref name="alpha"/> is rows x k row-major plaintext, <paramref name="deltaColumns"/> are d
    /// ciphertexts with delta[b, j] in slot b. Output j holds sum_b alpha[b, i] * delta[b, j] in slot i (i &lt; k).
    /// </summary>
    public Ciphertext[] BatchSumProduct(IReadOnlyList<Ciphertext> deltaColumns, double[] alpha, int alphaBits, GaloisKeys keys, BatchSumPlan plan)
    {
        var (level, scale) = CheckInputs(deltaColumns, nameof(deltaColumns));
        ArgumentNullException.ThrowIfNull(alpha);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(plan);
        int rows = plan.BatchRows, k = plan.InnerColumns, kp = plan.PaddedColumns, n1 = plan.BabySteps, slots = _ctx.SlotCount;
        if (alpha.Length != rows * k) throw new ArgumentException($"alpha must be rows x k = {rows} x {k} = {rows * k} values row-major, got {alpha.Length}");
        var missing = plan.RequiredSteps.Where(s => !keys.HasStep(s)).ToArray();
        if (missing.Length > 0) throw new CkksMismatchException($"batch-sum product needs Galois keys for steps [{string.Join(",", missing)}]; generate plan.RequiredSteps");
        double pScale = Math.Pow(2, alphaBits);
        CheckResultScale(scale * pScale, level, "batch-sum product");

        // Diagonal t = g*n1 + b, pre-rotated right by g*n1: diag'[s] = M[(s - g n1) mod kp, (s - g n1 + t) mod S],
        // where M[i, row] = alpha[row, i] for i < k and row < rows, else 0.
        var diagonals = new Plaintext?[kp];
        Parallel.For(0, kp, Options, t =>
        {
            int g = t / n1;
            var v = new double[slots];
            bool any = false;
            for (int s = 0; s < slots; s++)
            {
                int src = ((s - g * n1) % slots + slots) % slots;
                int i = src % kp, row = (src + t) % slots;
                if (i < k && row < rows)
                {
                    double a = alpha[row * k + i];
                    v[s] = a;
                    any |= a != 0;
                }
            }
            diagonals[t] = any ? _encoder.Encode(v, pScale, level) : null;
        });

        var outputs = new Ciphertext[deltaColumns.Count];
        // Each worker reuses its baby-step, inner-sum and rotation buffers across outputs.
        Parallel.For(0, deltaColumns.Count, Options,
            () => new BatchSumWorkspace(_ctx, n1, level, scale, scale * pScale),
            (j, _, ws) =>
            {
                var x = deltaColumns[j];
                ws.Baby[0] = x;
                if (n1 > 1)
                {
                    // Hoisting: decompose x once for all baby-step rotations.
                    using var hoisted = _evaluator.Hoist(x);
                    for (int b = 1; b < n1; b++) _evaluator.RotateHoisted(hoisted, b, keys, ws.Baby[b]);
                }
                var result = new Ciphertext(_ctx, level, scale * pScale);
                bool empty = true;
                for (int g = 0; g < plan.GiantSteps; g++)
                {
                    if (!InnerSum(ws.Baby, diagonals, g * n1, ws.Inner)) continue;
                    Ciphertext term = ws.Inner;
                    if (g > 0) { _evaluator.Rotate(ws.Inner, g * n1, keys, ws.Rotated); term = ws.Rotated; }
                    if (empty) { term.CopyTo(result); empty = false; } else _evaluator.AddInplace(result, term);
                }
                foreach (int step in plan.FoldSteps)
                {
                    _evaluator.Rotate(result, step, keys, ws.Rotated);
                    _evaluator.AddInplace(result, ws.Rotated);
                }
                outputs[j] = result;
                return ws;
            },
            _ => { });
        return outputs;
    }

    private sealed class BatchSumWorkspace
    {
        public BatchSumWorkspace(CkksContext ctx, int babySteps, int level, double inputScale, double productScale)
        {
            Baby = new Ciphertext[babySteps];
            for (int b = 1; b < babySteps; b++) Baby[b] = new Ciphertext(ctx, level, inputScale);
            Inner = new Ciphertext(ctx, level, productScale);
            Rotated = new Ciphertext(ctx, level, productScale);
        }

        public Ciphertext[] Baby { get; }
        public Ciphertext Inner { get; }
        public Ciphertext Rotated { get; }
    }

    /// <summary>inner = sum_b baby[b] * diagonals[offset + b]; false when every diagonal is zero.</summary>
    private bool InnerSum(Ciphertext[] baby, Plaintext?[] diagonals, int offset, Ciphertext inner)
    {
        int n = _ctx.N, level = inner.Level;
        bool any = false;
        for (int b = 0; b < baby.Length; b++) any |= diagonals[offset + b] is not null;
        if (!any) return false;
        ulong[] lo = ArrayPool<ulong>.Shared.Rent(n), hi = ArrayPool<ulong>.Shared.Rent(n);
        try
        {
            for (int p = 0; p < 2; p++)
                for (int t = 0; t <= level; t++)
                {
                    Modulus q = _ctx.Moduli[t];
                    int flush = FlushLimit(q), count = 0;
                    Span<ulong> l = lo.AsSpan(0, n), h = hi.AsSpan(0, n);
                    l.Clear(); h.Clear();
                    for (int b = 0; b < baby.Length; b++)
                    {
                        var pt = diagonals[offset + b];
                        if (pt is null) continue;
                        RnsOps.MultiplyAccumulateLazy(baby[b].Component(p, t), pt.Component(t), l, h);
                        if (++count == flush) { RnsOps.FlushLazy(l, h, q); count = 1; }
                    }
                    Span<ulong> dst = inner.Component(p, t);
                    for (int x = 0; x < n; x++) dst[x] = q.Reduce(h[x], l[x]);
                }
        }
        finally { ArrayPool<ulong>.Shared.Return(lo); ArrayPool<ulong>.Shared.Return(hi); }
        return true;
    }

    /// <summary>
    /// AVX-512 kernel for the rotation-free product when every integer weight fits 31 bits: residues are split into
    /// 21-bit limbs and multiplied by |w| with 32x32->64-bit lane products (8 lanes), so up to 4,095 terms sum without
    /// overflow; a negative weight multiplies q - c instead of c. Limb sums are recombined mod q at the end.
    /// </summary>
    private static class LimbKernel
    {
        private const int LimbBits = 21;
        private const ulong LimbMask = (1UL << LimbBits) - 1;

        public static bool Applies(double[] weights, int bits, int k)
        {
            if (!Avx512F.IsSupported || k >= 4096) return false;
            foreach (double w in weights)
                if (Math.Abs(Math.Round(w * Math.Pow(2, bits))) >= 2147483648.0) return false;
            return true;
        }

        public static void Run(CkksContext ctx, IReadOnlyList<Ciphertext> inputs, double[] weights, int bits, int d, int j0, int gs, Ciphertext[] outputs)
        {
            int k = inputs.Count, n = ctx.N, primes = outputs[j0].Level + 1;
            var wAbs = new uint[k * gs];
            var wNeg = new bool[k * gs];
            for (int i = 0; i < k; i++)
                for (int gj = 0; gj < gs; gj++)
                {
                    long w = Evaluator.ScalarToInteger(weights[i * d + j0 + gj], bits);
                    wAbs[i * gs + gj] = (uint)Math.Abs(w);
                    wNeg[i * gs + gj] = w < 0;
                }
            int accLen = 3 * Tile * gs;
            ulong[] acc = ArrayPool<ulong>.Shared.Rent(accLen);
            try
            {
                for (int p = 0; p < 2; p++)
                    for (int t = 0; t < primes; t++)
                    {
                        Modulus q = ctx.Moduli[t];
                        ulong p21 = q.Reduce(1UL << LimbBits), p42 = q.Reduce(1UL << (2 * LimbBits));
                        ulong p21s = q.ShoupPrecompute(p21), p42s = q.ShoupPrecompute(p42);
                        for (int x0 = 0; x0 < n; x0 += Tile)
                        {
                            int len = Math.Min(Tile, n - x0);
                            Array.Clear(acc, 0, accLen);
                            for (int i = 0; i < k; i++)
                            {
                                ReadOnlySpan<ulong> src = inputs[i].Component(p, t).Slice(x0, len);
                                for (int gj = 0; gj < gs; gj++)
                                    Accumulate(src, q.Value, wAbs[i * gs + gj], wNeg[i * gs + gj], acc.AsSpan(3 * Tile * gj, 3 * Tile));
                            }
                            for (int gj = 0; gj < gs; gj++)
                            {
                                Span<ulong> dst = outputs[j0 + gj].Component(p, t).Slice(x0, len);
                                int o = 3 * Tile * gj;
                                for (int x = 0; x < len; x++)
                                {
                                    ulong r = q.Reduce(acc[o + x]);
                                    r = q.Add(r, q.MultiplyShoup(acc[o + Tile + x], p21, p21s));
                                    dst[x] = q.Add(r, q.MultiplyShoup(acc[o + 2 * Tile + x], p42, p42s));
                                }
                            }
                        }
                    }
            }
            finally { ArrayPool<ulong>.Shared.Return(acc); }
        }

        /// <summary>acc[limb * Tile + x] += limb(c'[x]) * w with c' = c or q - c.</summary>
        private static void Accumulate(ReadOnlySpan<ulong> src, ulong q, uint w, bool negative, Span<ulong> acc)
        {
            if (w == 0) return;
            var vq = Vector512.Create(q);
            var vw = Vector512.Create((ulong)w).AsUInt32();
            var mask = Vector512.Create(LimbMask);
            ref ulong s0 = ref MemoryMarshal.GetReference(src);
            ref ulong a0 = ref MemoryMarshal.GetReference(acc);
            int len = src.Length;
            for (int x = 0; x < len; x += 8)
            {
                var c = Vector512.LoadUnsafe(ref s0, (nuint)x);
                if (negative) c = vq - c;
                var l0 = c & mask;
                var l1 = Vector512.ShiftRightLogical(c, LimbBits) & mask;
                var l2 = Vector512.ShiftRightLogical(c, 2 * LimbBits);
                (Vector512.LoadUnsafe(ref a0, (nuint)x) + Avx512F.Multiply(l0.AsUInt32(), vw)).StoreUnsafe(ref a0, (nuint)x);
                (Vector512.LoadUnsafe(ref a0, (nuint)(Tile + x)) + Avx512F.Multiply(l1.AsUInt32(), vw)).StoreUnsafe(ref a0, (nuint)(Tile + x));
                (Vector512.LoadUnsafe(ref a0, (nuint)(2 * Tile + x)) + Avx512F.Multiply(l2.AsUInt32(), vw)).StoreUnsafe(ref a0, (nuint)(2 * Tile + x));
            }
        }
    }
}
