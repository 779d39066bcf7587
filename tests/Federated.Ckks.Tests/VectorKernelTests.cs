using System.Runtime.Intrinsics;
using System.Numerics;
using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Arithmetic;
using Federated.Crypto.Ckks.Serialization;

namespace Federated.Ckks.Tests;

/// <summary>
/// The eight-lane (AVX-512) kernels against their scalar references on random inputs and on the edge values 0, 1,
/// q-1, q-2 and q/2. On a machine without AVX-512 the public entry points run the references themselves, so these
/// tests compare the reference with itself there; <see cref="Vector_kernels_run_on_this_machine_when_it_has_avx512"/>
/// states which case the run was.
/// </summary>
public class VectorKernelTests
{
    public static TheoryData<int, int> Primes => new()
    {
        { 1024, 20 }, { 1024, 30 }, { 4096, 39 }, { 8192, 40 }, { 8192, 50 }, { 8192, 60 }, { 16384, 61 }, { 32768, 60 },
    };

    private static ulong[] WithEdges(ulong[] values, ulong q)
    {
        ulong[] edges = [0, 1, q - 1, q - 2, q / 2, q / 2 + 1];
        for (int i = 0; i < edges.Length; i++) values[i * 37 % values.Length] = edges[i];
        for (int i = values.Length - 8; i < values.Length; i++) values[i] = q - 1;
        return values;
    }

    [Fact]
    public void Vector_kernels_run_on_this_machine_when_it_has_avx512()
    {
        var ntt = new NttTables(1024, CoeffModulus.Create(1024, [40])[0]);
        bool hardware = System.Runtime.Intrinsics.X86.Avx512F.IsSupported && System.Runtime.Intrinsics.X86.Avx512DQ.IsSupported;
        Assert.Equal(hardware, ntt.UsesVectorKernels);
    }

    [Theory]
    [MemberData(nameof(Primes))]
    public void Vector_ntt_equals_scalar_reference(int n, int bits)
    {
        var q = CoeffModulus.Create(n, [bits])[0];
        var ntt = new NttTables(n, q);
        for (int seed = 0; seed < 3; seed++)
        {
            var a = WithEdges(ArithmeticTests.RandomPoly(n, q, 31 * bits + seed), q.Value);
            if (seed == 2) Array.Fill(a, q.Value - 1);
            var vector = (ulong[])a.Clone();
            var scalar = (ulong[])a.Clone();
            ntt.Forward(vector);
            ntt.ForwardReference(scalar);
            Assert.Equal(scalar, vector);
            Assert.All(vector, v => Assert.True(v < q.Value));
            ntt.Inverse(vector);
            ntt.InverseReference(scalar);
            Assert.Equal(scalar, vector);
            Assert.Equal(a, vector);
        }
    }

    [Theory]
    [MemberData(nameof(Primes))]
    public void Vector_sparse_ntt_equals_scalar_full_transform(int n, int bits)
    {
        var q = CoeffModulus.Create(n, [bits])[0];
        var ntt = new NttTables(n, q);
        var a = ArithmeticTests.RandomPoly(n, q, 7 * bits);
        for (int p = 0; p < n; p++) if (p % 256 >= 64) a[p] = 0;
        var sparse = (ulong[])a.Clone();
        ntt.ForwardSparse(sparse, 256, 64);
        ntt.ForwardReference(a);
        Assert.Equal(a, sparse);
    }

    [Theory]
    [MemberData(nameof(Primes))]
    public void Vector_barrett_product_equals_128_bit_arithmetic(int n, int bits)
    {
        if (!Simd.IsSupported) return; // the kernel has no scalar entry point of its own; callers fall back to Modulus.Multiply
        var q = CoeffModulus.Create(n, [bits])[0];
        var a = WithEdges(ArithmeticTests.RandomPoly(4096, q, 3 * bits), q.Value);
        var b = WithEdges(ArithmeticTests.RandomPoly(4096, q, 5 * bits), q.Value);
        Array.Reverse(b, 0, 64);
        ulong mu = Simd.BarrettMu(q);
        var vq = Vector512.Create(q.Value);
        var vmu = Vector512.Create(mu);
        var vmuHi = Vector512.Create(mu >> 32);
        for (int i = 0; i < a.Length; i += 8)
        {
            var r = Simd.MultiplyMod(Vector512.Create(a.AsSpan(i, 8)), Vector512.Create(b.AsSpan(i, 8)), vq, vmu, vmuHi, q.BitCount);
            for (int l = 0; l < 8; l++)
                Assert.Equal((ulong)((UInt128)a[i + l] * b[i + l] % q.Value), r[l]);
        }
    }

    [Fact]
    public void Vector_high_product_equals_128_bit_arithmetic_at_the_extremes()
    {
        if (!Simd.IsSupported) return;
        ulong[] values = [0, 1, 2, 0xFFFF_FFFF, 0x1_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF,
            0xDEAD_BEEF_0123_4567, 0x0000_FFFF_FFFF_0000, 0xFFFF_0000_0000_FFFF, 0x1FFF_FFFF_FFFF_FFFF, 3, 0xAAAA_AAAA_AAAA_AAAA, 0x5555_5555_5555_5555, 0xFFFF_FFFE_0000_0001];
        for (int i = 0; i < values.Length; i += 8)
            foreach (ulong b in values)
            {
                var hi = Simd.MulHi(Vector512.Create(values.AsSpan(i, 8)), Vector512.Create(b));
                for (int l = 0; l < 8; l++) Assert.Equal((ulong)(((UInt128)values[i + l] * b) >> 64), hi[l]);
            }
    }

    /// <summary>Lengths with a scalar tail (not a multiple of 8) so both paths of each loop run.</summary>
    [Theory]
    [InlineData(20, 1003)]
    [InlineData(30, 4096)]
    [InlineData(40, 8191)]
    [InlineData(60, 8192)]
    [InlineData(61, 517)]
    public void Rns_element_loops_equal_128_bit_arithmetic(int bits, int length)
    {
        var q = CoeffModulus.Create(1024, [bits])[0];
        ulong qv = q.Value;
        var a = WithEdges(ArithmeticTests.RandomPoly(length, q, 11 * bits), qv);
        var b = WithEdges(ArithmeticTests.RandomPoly(length, q, 13 * bits), qv);
        Array.Reverse(b, 0, 16);
        var c = ArithmeticTests.RandomPoly(length, q, 17 * bits);

        var product = new ulong[length];
        RnsOps.MultiplyPointwise(a, b, product, q);
        var sum = (ulong[])c.Clone();
        RnsOps.MultiplyAddPointwise(a, b, sum, q);
        var added = (ulong[])a.Clone();
        RnsOps.AddInto(added, b, q);
        var subtracted = (ulong[])a.Clone();
        RnsOps.SubInto(subtracted, b, q);
        ulong w = b[length / 2];
        var scaled = (ulong[])a.Clone();
        RnsOps.MultiplyScalar(scaled, w, q);
        for (int j = 0; j < length; j++)
        {
            ulong p = (ulong)((UInt128)a[j] * b[j] % qv);
            Assert.Equal(p, product[j]);
            Assert.Equal((ulong)(((UInt128)c[j] + p) % qv), sum[j]);
            Assert.Equal((ulong)(((UInt128)a[j] + b[j]) % qv), added[j]);
            Assert.Equal((ulong)(((UInt128)a[j] + qv - b[j]) % qv), subtracted[j]);
            Assert.Equal((ulong)((UInt128)a[j] * w % qv), scaled[j]);
        }
    }

    [Theory]
    [InlineData(40, 1003)]
    [InlineData(60, 8192)]
    [InlineData(61, 4096)]
    public void Key_switch_accumulation_equals_128_bit_arithmetic(int bits, int length)
    {
        var q = CoeffModulus.Create(1024, [bits])[0];
        var d = WithEdges(ArithmeticTests.RandomPoly(length, q, 19 * bits), q.Value);
        var kb = WithEdges(ArithmeticTests.RandomPoly(length, q, 23 * bits), q.Value);
        var ka = ArithmeticTests.RandomPoly(length, q, 29 * bits);
        var perm = new int[length];
        for (int x = 0; x < length; x++) perm[x] = (int)((5L * x + 3) % length);
        foreach (bool permuted in new[] { false, true })
        {
            ulong[] lo0 = new ulong[length], hi0 = new ulong[length], lo1 = new ulong[length], hi1 = new ulong[length];
            ulong[] lo2 = new ulong[length], hi2 = new ulong[length];
            var expected0 = new UInt128[length];
            var expected1 = new UInt128[length];
            for (int round = 0; round < 5; round++)
            {
                RnsOps.KeySwitchAccumulate(d, permuted ? perm : default, kb, ka, lo0, hi0, lo1, hi1);
                if (!permuted) RnsOps.MultiplyAccumulateLazy(d, kb, lo2, hi2);
                for (int x = 0; x < length; x++)
                {
                    ulong v = d[permuted ? perm[x] : x];
                    expected0[x] += (UInt128)v * kb[x];
                    expected1[x] += (UInt128)v * ka[x];
                }
            }
            for (int x = 0; x < length; x++)
            {
                Assert.Equal(expected0[x], ((UInt128)hi0[x] << 64) | lo0[x]);
                Assert.Equal(expected1[x], ((UInt128)hi1[x] << 64) | lo1[x]);
                if (!permuted) Assert.Equal(expected0[x], ((UInt128)hi2[x] << 64) | lo2[x]);
            }
        }
    }

    [Theory]
    [InlineData(20, 1024)]
    [InlineData(30, 8192)]
    [InlineData(40, 8192)]
    [InlineData(40, 1003)]
    [InlineData(50, 4096)]
    [InlineData(60, 8192)]
    [InlineData(61, 517)]
    public void Residue_packing_equals_byte_by_byte_little_endian_and_finds_the_first_bad_value(int bits, int length)
    {
        var q = CoeffModulus.Create(1024, [bits])[0];
        var values = WithEdges(ArithmeticTests.RandomPoly(length, q, 41 * bits), q.Value);
        int width = BitPacking.BytesPerValue(bits);
        var packed = new byte[BitPacking.PackedSize(length, bits)];
        BitPacking.Pack(values, bits, packed);
        for (int i = 0; i < length; i++)
            for (int b = 0; b < width; b++) Assert.Equal((byte)(values[i] >> (8 * b)), packed[i * width + b]);
        var back = new ulong[length];
        Assert.Equal(-1, BitPacking.Unpack(packed, bits, q.Value, back));
        Assert.Equal(values, back);
        foreach (int at in new[] { 3, length / 2, length - 1 })
        {
            var corrupt = (byte[])packed.Clone();
            for (int b = 0; b < width; b++) corrupt[at * width + b] = 0xFF; // all ones in the value's bytes: at least q
            Assert.Equal(at, BitPacking.Unpack(corrupt, bits, q.Value, back));
        }
    }

    [Theory]
    [InlineData(2048)]
    [InlineData(8192)]
    public void Vector_fft_equals_scalar_reference_bit_for_bit(int n)
    {
        var ctx = n == 8192 ? TestSupport.Standard8192 : TestSupport.Context(2048, 27, 27);
        var encoder = new CkksEncoder(ctx);
        var bytes = new byte[16 * n];
        TestSupport.FillDeterministic(bytes, n);
        foreach (int sign in new[] { -1, 1 })
        {
            var re = new double[n];
            var im = new double[n];
            for (int i = 0; i < n; i++)
            {
                re[i] = (BitConverter.ToInt64(bytes, 16 * i) >> 11) / (double)(1L << 40);
                im[i] = (BitConverter.ToInt64(bytes, 16 * i + 8) >> 11) / (double)(1L << 40);
            }
            var re2 = (double[])re.Clone();
            var im2 = (double[])im.Clone();
            encoder.Fft(re, im, sign);
            encoder.FftReference(re2, im2, sign);
            Assert.Equal(re2, re);
            Assert.Equal(im2, im);
        }
    }

    [Fact]
    public void Coefficient_rounding_into_primes_equals_exact_integer_residues()
    {
        var ctx = TestSupport.Standard8192;
        int n = ctx.N;
        var encoder = new CkksEncoder(ctx);
        var bytes = new byte[8 * n];
        TestSupport.FillDeterministic(bytes, 99);
        var scaled = new double[n];
        for (int k = 0; k < n; k++) scaled[k] = (BitConverter.ToInt64(bytes, 8 * k) >> 3) / 4096.0 * (k % 3 == 0 ? 1 : 1e-6);
        double[] edges = [0.5, 1.5, 2.5, -0.5, -2.5, -3.5, 0, -0.0, 9.1e18, -9.1e18, 1e19, -1e19, 4.0e30, 123456789.4999, -123456789.5001, 1];
        for (int e = 0; e < edges.Length; e++) scaled[e * 101 + 5] = edges[e];
        var p = new Plaintext(ctx, ctx.MaxLevel, 1);
        encoder.EncodeScaledCoefficients(scaled, 1, p);
        for (int i = 0; i < p.PrimeCount; i++)
        {
            ulong q = ctx.Moduli[i].Value;
            var c = p.Component(i).ToArray();
            ctx.Ntt[i].Inverse(c);
            for (int k = 0; k < n; k++)
            {
                var exact = new BigInteger(Math.Round(scaled[k])) % q;
                if (exact < 0) exact += q;
                Assert.Equal((ulong)exact, c[k]);
            }
        }
    }
}
