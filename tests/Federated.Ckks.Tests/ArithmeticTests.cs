using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Arithmetic;

namespace Federated.Ckks.Tests;

public class ArithmeticTests
{
    [Theory]
    [InlineData(20)]
    [InlineData(30)]
    [InlineData(39)]
    [InlineData(40)]
    [InlineData(50)]
    [InlineData(60)]
    [InlineData(61)]
    public void Ntt_product_equals_schoolbook_negacyclic_product(int bits)
    {
        const int n = 256;
        var q = CoeffModulus.Create(n, [bits])[0];
        Assert.Equal(bits, q.BitCount);
        Assert.Equal(1UL, q.Value % (2 * n));
        var ntt = new NttTables(n, q);
        var a = RandomPoly(n, q, 1 + bits);
        var b = RandomPoly(n, q, 100 + bits);

        // Schoolbook product modulo X^N + 1.
        var expected = new ulong[n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                ulong p = (ulong)((UInt128)a[i] * b[j] % q.Value);
                int k = i + j;
                if (k < n) expected[k] = (expected[k] + p) % q.Value;
                else expected[k - n] = (expected[k - n] + q.Value - p) % q.Value;
            }

        var fa = (ulong[])a.Clone();
        var fb = (ulong[])b.Clone();
        ntt.Forward(fa);
        ntt.Forward(fb);
        var prod = new ulong[n];
        for (int i = 0; i < n; i++) prod[i] = q.Multiply(fa[i], fb[i]);
        ntt.Inverse(prod);
        Assert.Equal(expected, prod);

        // Round trip.
        ntt.Inverse(fa);
        Assert.Equal(a, fa);
    }

    [Fact]
    public void Ntt_round_trips_at_full_size_for_every_prime_of_the_standard_sets()
    {
        foreach (var ctx in new[] { TestSupport.Standard8192, TestSupport.Protocol8192, TestSupport.Small4096 })
            for (int i = 0; i < ctx.Moduli.Length; i++)
            {
                var a = RandomPoly(ctx.N, ctx.Moduli[i], i);
                var c = (ulong[])a.Clone();
                ctx.Ntt[i].Forward(c);
                Assert.NotEqual(a, c);
                ctx.Ntt[i].Inverse(c);
                Assert.Equal(a, c);
            }
    }

    [Fact]
    public void Barrett_and_shoup_match_big_integer_arithmetic()
    {
        var q = CoeffModulus.Create(4096, [60])[0];
        var vals = RandomPoly(2000, new Modulus(ulong.MaxValue >> 3), 7);
        for (int i = 0; i + 1 < vals.Length; i += 2)
        {
            ulong a = vals[i] % q.Value, b = vals[i + 1] % q.Value;
            ulong expected = (ulong)((UInt128)a * b % q.Value);
            Assert.Equal(expected, q.Multiply(a, b));
            Assert.Equal(expected, q.MultiplyShoup(a, b, q.ShoupPrecompute(b)));
            UInt128 big = ((UInt128)vals[i] << 63) | vals[i + 1];
            Assert.Equal((ulong)(big % q.Value), q.Reduce(big));
            Assert.Equal(vals[i] % q.Value, q.Reduce(vals[i]));
        }
        Assert.Equal(q.Value - 5, q.FromSigned(-5));
        Assert.Equal(q.Reduce((ulong)long.MaxValue) == 0 ? 0 : q.Value - q.Reduce((ulong)long.MaxValue + 1), q.FromSigned(long.MinValue));
    }

    [Fact]
    public void Prime_generator_gives_distinct_ntt_friendly_primes_of_the_requested_sizes()
    {
        var primes = CoeffModulus.Create(16384, [60, 40, 40, 40, 60]);
        Assert.Equal(5, primes.Select(p => p.Value).Distinct().Count());
        Assert.Equal([60, 40, 40, 40, 60], primes.Select(p => p.BitCount));
        Assert.All(primes, p => Assert.Equal(1UL, p.Value % 32768));
        Assert.All(primes, p => Assert.True(CoeffModulus.IsPrime(p.Value)));
        Assert.False(CoeffModulus.IsPrime(3215031751UL)); // strong pseudoprime to bases 2, 3, 5, 7
        Assert.Throws<ArgumentOutOfRangeException>(() => CoeffModulus.Create(8192, [62]));
    }

    internal static ulong[] RandomPoly(int n, Modulus q, int seed)
    {
        var bytes = new byte[8 * n];
        TestSupport.FillDeterministic(bytes, seed);
        var r = new ulong[n];
        for (int i = 0; i < n; i++) r[i] = BitConverter.ToUInt64(bytes, 8 * i) % q.Value;
        return r;
    }
}
