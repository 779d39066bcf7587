using System.Numerics;

namespace Federated.Learning.Tests.Support;

/// <summary>
/// Exact integer LLL reduction (Cohen, "A Course in Computational Algebraic Number Theory", algorithm 2.6.7, with
/// δ = 0.99): the attacker's tool for docs/protocol.md §5.4. All Gram-Schmidt quantities are kept as integers (d_i and
/// d_i·μ), so 60-bit moduli lose no precision.
/// </summary>
public static class IntegerLll
{
    /// <summary>Reduces the rows of <paramref name="basis"/> in place (they must be linearly independent).</summary>
    public static void Reduce(BigInteger[][] basis)
    {
        int n = basis.Length;
        if (n < 2) return;
        var d = new BigInteger[n + 1];
        var lambda = new BigInteger[n][];
        for (int i = 0; i < n; i++) lambda[i] = new BigInteger[n];
        d[0] = 1;
        d[1] = Dot(basis[0], basis[0]);
        int k = 1, kmax = 0;
        while (k < n)
        {
            if (k > kmax)
            {
                kmax = k;
                for (int j = 0; j <= k; j++)
                {
                    var u = Dot(basis[k], basis[j]);
                    for (int i = 0; i < j; i++) u = (d[i + 1] * u - lambda[k][i] * lambda[j][i]) / d[i];
                    if (j < k) lambda[k][j] = u;
                    else if (u.IsZero) throw new ArgumentException("the basis vectors are linearly dependent");
                    else d[k + 1] = u;
                }
            }
            SizeReduce(basis, lambda, d, k, k - 1);
            var l = lambda[k][k - 1];
            if (100 * d[k + 1] * d[k - 1] < 99 * d[k] * d[k] - 100 * l * l)
            {
                (basis[k], basis[k - 1]) = (basis[k - 1], basis[k]);
                for (int j = 0; j < k - 1; j++) (lambda[k][j], lambda[k - 1][j]) = (lambda[k - 1][j], lambda[k][j]);
                var b = (d[k - 1] * d[k + 1] + l * l) / d[k];
                for (int i = k + 1; i <= kmax; i++)
                {
                    var t = lambda[i][k];
                    lambda[i][k] = (d[k + 1] * lambda[i][k - 1] - l * t) / d[k];
                    lambda[i][k - 1] = (b * t + l * lambda[i][k]) / d[k + 1];
                }
                d[k] = b;
                k = Math.Max(1, k - 1);
            }
            else
            {
                for (int m = k - 2; m >= 0; m--) SizeReduce(basis, lambda, d, k, m);
                k++;
            }
        }
    }

    private static void SizeReduce(BigInteger[][] basis, BigInteger[][] lambda, BigInteger[] d, int k, int l)
    {
        if (BigInteger.Abs(2 * lambda[k][l]) <= d[l + 1]) return;
        var q = RoundDivide(lambda[k][l], d[l + 1]);
        for (int c = 0; c < basis[k].Length; c++) basis[k][c] -= q * basis[l][c];
        lambda[k][l] -= q * d[l + 1];
        for (int i = 0; i < l; i++) lambda[k][i] -= q * lambda[l][i];
    }

    /// <summary>round(a / b) for b &gt; 0, halves away from minus infinity.</summary>
    private static BigInteger RoundDivide(BigInteger a, BigInteger b)
    {
        var numerator = 2 * a + b;
        var denominator = 2 * b;
        var q = BigInteger.DivRem(numerator, denominator, out var r);
        return r.Sign < 0 ? q - 1 : q; // floor
    }

    private static BigInteger Dot(BigInteger[] a, BigInteger[] b)
    {
        BigInteger s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }
}
