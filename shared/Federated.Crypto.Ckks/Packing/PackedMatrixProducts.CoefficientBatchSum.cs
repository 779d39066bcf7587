using System.Buffers;
using Federated.Crypto.Ckks.Arithmetic;

namespace Federated.Crypto.Ckks.Packing;

public sealed partial class PackedMatrixProducts
{
    /// <summary>
    /// alpha^T * delta by coefficient packing (<see cref="CoefficientBatchSumPlan"/>): <paramref name="deltaBlocks"/>
    /// are the plan's inputs (coefficient-encoded with <see cref="CkksEncoder.EncodeCoefficients(ReadOnlySpan{double}, double, Plaintext)"/>),
    /// <paramref name="alpha"/> is rows x k row-major, multiplied as integers round(alpha * 2^bits). Returns the plan's
    /// outputs at scale input scale * 2^bits; no rotation. The outputs' non-result coefficients hold cross terms of
    /// alpha and delta: mask them (<see cref="Protocol.UnusedCoefficientMask"/>) before anyone else decrypts.
    /// </summary>
    public Ciphertext[] CoefficientBatchSumProduct(IReadOnlyList<Ciphertext> deltaBlocks, double[] alpha, int alphaBits, CoefficientBatchSumPlan plan)
    {
        var (level, scale) = CheckInputs(deltaBlocks, nameof(deltaBlocks));
        ArgumentNullException.ThrowIfNull(alpha);
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.N != _ctx.N) throw new ArgumentException($"the plan is for N = {plan.N}, the parameters have N = {_ctx.N}");
        if (deltaBlocks.Count != plan.InputCount) throw new ArgumentException($"the plan takes {plan.InputCount} delta blocks, got {deltaBlocks.Count}");
        int rows = plan.BatchRows, k = plan.InnerColumns;
        if (alpha.Length != rows * k) throw new ArgumentException($"alpha must be rows x k = {rows} x {k} = {rows * k} values row-major, got {alpha.Length}");
        double outScale = scale * Math.Pow(2, alphaBits);
        CheckResultScale(outScale, level, "coefficient batch-sum product");
        var integers = new long[alpha.Length];
        for (int x = 0; x < alpha.Length; x++) integers[x] = Evaluator.ScalarToInteger(alpha[x], alphaBits);

        var outputs = new Ciphertext[plan.OutputCount];
        int n = _ctx.N, primes = level + 1, len = primes * n, outer = plan.OuterBlocks;
        int flush = int.MaxValue;
        for (int t = 0; t <= level; t++) flush = Math.Min(flush, FlushLimit(_ctx.Moduli[t]));
        Parallel.For(0, plan.InnerBlocks, Options, ib =>
        {
            ulong[] pt = ArrayPool<ulong>.Shared.Rent(len);
            ulong[] lo = ArrayPool<ulong>.Shared.Rent(outer * 2 * len), hi = ArrayPool<ulong>.Shared.Rent(outer * 2 * len);
            try
            {
                Array.Clear(lo, 0, outer * 2 * len); Array.Clear(hi, 0, outer * 2 * len);
                int count = 0;
                for (int rb = 0; rb < plan.RowBlocks; rb++)
                {
                    if (!EncodeAlphaBlock(plan, integers, rb, ib, level, pt.AsSpan(0, len))) continue;
                    for (int jb = 0; jb < outer; jb++)
                    {
                        var input = deltaBlocks[rb * outer + jb];
                        for (int p = 0; p < 2; p++)
                            for (int t = 0; t <= level; t++)
                            {
                                int o = (jb * 2 + p) * len + t * n;
                                RnsOps.MultiplyAccumulateLazy(input.Component(p, t), pt.AsSpan(t * n, n), lo.AsSpan(o, n), hi.AsSpan(o, n));
                            }
                    }
                    if (++count == flush)
                    {
                        for (int jb = 0; jb < outer; jb++) FlushAll(lo.AsSpan(jb * 2 * len), hi.AsSpan(jb * 2 * len), len, level);
                        count = 1;
                    }
                }
                for (int jb = 0; jb < outer; jb++)
                {
                    var output = new Ciphertext(_ctx, level, outScale);
                    for (int p = 0; p < 2; p++)
                        for (int t = 0; t <= level; t++)
                        {
                            int o = (jb * 2 + p) * len + t * n;
                            RnsOps.ReduceLazy(lo.AsSpan(o, n), hi.AsSpan(o, n), output.Component(p, t), _ctx.Moduli[t]);
                        }
                    outputs[ib * outer + jb] = output;
                }
            }
            finally
            {
                ArrayPool<ulong>.Shared.Return(pt);
                ArrayPool<ulong>.Shared.Return(lo);
                ArrayPool<ulong>.Shared.Return(hi);
            }
        });
        return outputs;
    }

    /// <summary>Plaintext (rowBlock, innerBlock) of alpha in NTT form into <paramref name="destination"/>; false when it is zero.</summary>
    private bool EncodeAlphaBlock(CoefficientBatchSumPlan plan, long[] alpha, int rowBlock, int innerBlock, int level, Span<ulong> destination)
    {
        int n = _ctx.N, k = plan.InnerColumns;
        destination.Clear();
        bool any = false;
        for (int li = 0; li < plan.InnerBlock; li++)
        {
            int i = innerBlock * plan.InnerBlock + li;
            if (i >= k) break;
            for (int b = 0; b < plan.RowBlock; b++)
            {
                int row = rowBlock * plan.RowBlock + b;
                if (row >= plan.BatchRows) break;
                long v = alpha[row * k + i];
                if (v == 0) continue;
                any = true;
                int c = plan.PlaintextCoefficient(b, li);
                for (int t = 0; t <= level; t++) destination[t * n + c] = _ctx.Moduli[t].FromSigned(v);
            }
        }
        if (!any) return false;
        for (int t = 0; t <= level; t++) _ctx.Ntt[t].ForwardSparse(destination.Slice(t * n, n), plan.Period, plan.RowBlock);
        return true;
    }
}
