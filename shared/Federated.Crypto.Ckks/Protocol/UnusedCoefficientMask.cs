using System.Buffers;
using Federated.Crypto.Ckks.Sampling;

namespace Federated.Crypto.Ckks.Protocol;

/// <summary>
/// Adds a uniformly random value to every coefficient of a ciphertext's message that is not a result. A
/// coefficient-packed product (<see cref="Packing.CoefficientBatchSumPlan"/>) leaves cross terms of the evaluator's
/// plaintext and the key owner's data in those coefficients; the key owner, who knows its own data, could solve for
/// the evaluator's plaintext from them. After this mask they are uniform mod q; the mask is never removed.
/// </summary>
public static class UnusedCoefficientMask
{
    /// <param name="isResult">N flags; true where the coefficient is a result the key owner may learn.</param>
    public static void AddTo(Ciphertext ciphertext, ReadOnlySpan<bool> isResult)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        var ctx = ciphertext.Context;
        int n = ctx.N, primes = ciphertext.PrimeCount;
        if (isResult.Length != n) throw new ArgumentException($"expected {n} result flags, got {isResult.Length}");
        ulong[] mask = ArrayPool<ulong>.Shared.Rent(primes * n);
        try
        {
            var span = mask.AsSpan(0, primes * n);
            using (var prng = Prng.CreateRandom())
                Samplers.Uniform(prng, ctx.ModuliAtLevel(ciphertext.Level), n, span);
            for (int i = 0; i < primes; i++)
            {
                var component = span.Slice(i * n, n);
                for (int c = 0; c < n; c++) if (isResult[c]) component[c] = 0;
                ctx.Ntt[i].Forward(component);
                Arithmetic.RnsOps.AddInto(ciphertext.Component(0, i), component, ctx.Moduli[i]);
            }
        }
        finally { ArrayPool<ulong>.Shared.Return(mask); }
    }
}
