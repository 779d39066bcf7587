using System.Numerics;
using Federated.Crypto.Ckks;

namespace Federated.Learning.Tests.Support;

/// <summary>
/// docs/protocol.md §5.4, the key owner's attack on an evaluator's plaintext weights: E sent ciphertexts c_i = (b_i, a_i)
/// and gets back M's product rescaled by the last prime q_L, whose second half is a' = round(Σ_i w_i a_i / q_L) with
/// integer weights w = round(W_M · 2^bits). E knows every a_i, so Σ_i w_i a_i − q_L·a' ≡ r (mod q_0) with
/// |r| ≤ q_L / 2 at every coefficient: a noisy linear system that lattice reduction (<see cref="IntegerLll"/>)
/// solves from a few coefficients. Re-randomisation adds u·pk_a + e to a', which leaves no short solution.
/// </summary>
public static class WeightRecoveryAttack
{
    /// <returns>The recovered integer weights, or null when no solution explains every coefficient.</returns>
    public static long[]? Solve(IReadOnlyList<Ciphertext> sent, Ciphertext returned, int equations = 16)
    {
        var ctx = returned.Context;
        int k = sent.Count, n = ctx.N;
        BigInteger q0 = ctx.Moduli[0].Value, qLast = ctx.Moduli[sent[0].Level].Value;
        var a = sent.Select(c => Coefficients(ctx, c.Component(1, 0))).ToArray();
        var target = Coefficients(ctx, returned.Component(1, 0));
        BigInteger errorScale = qLast / 2;

        // Rows: w_i (identity | a_i at the chosen coefficients), the modulus q_0 per equation, and the embedding row
        // (−q_L·a' | errorScale). The wanted vector is (w | r | errorScale).
        int dim = k + equations + 1;
        var basis = new BigInteger[dim][];
        for (int r = 0; r < dim; r++) basis[r] = new BigInteger[dim];
        for (int i = 0; i < k; i++)
        {
            basis[i][i] = 1;
            for (int x = 0; x < equations; x++) basis[i][k + x] = a[i][x];
        }
        for (int x = 0; x < equations; x++) basis[k + x][k + x] = q0;
        for (int x = 0; x < equations; x++) basis[dim - 1][k + x] = Mod(-qLast * target[x], q0);
        basis[dim - 1][dim - 1] = errorScale;
        IntegerLll.Reduce(basis);

        foreach (var row in basis)
        {
            if (BigInteger.Abs(row[dim - 1]) != errorScale) continue;
            int sign = row[dim - 1].Sign;
            var w = new long[k];
            bool fits = true;
            for (int i = 0; i < k && fits; i++)
            {
                var v = sign * row[i];
                fits = BigInteger.Abs(v) < long.MaxValue;
                if (fits) w[i] = (long)v;
            }
            if (fits && ExplainsEveryCoefficient(w, a, target, q0, qLast, n)) return w;
        }
        return null;
    }

    private static bool ExplainsEveryCoefficient(long[] w, BigInteger[][] a, BigInteger[] target, BigInteger q0, BigInteger qLast, int n)
    {
        for (int x = 0; x < n; x++)
        {
            BigInteger s = -qLast * target[x];
            for (int i = 0; i < w.Length; i++) s += w[i] * a[i][x];
            s = Mod(s, q0);
            if (s > q0 / 2) s -= q0;
            if (BigInteger.Abs(s) > qLast) return false;
        }
        return true;
    }

    private static BigInteger[] Coefficients(CkksContext ctx, ReadOnlySpan<ulong> nttForm)
    {
        var copy = nttForm.ToArray();
        ctx.Ntt[0].Inverse(copy);
        return copy.Select(v => (BigInteger)v).ToArray();
    }

    private static BigInteger Mod(BigInteger v, BigInteger m)
    {
        var r = BigInteger.Remainder(v, m);
        return r.Sign < 0 ? r + m : r;
    }
}
