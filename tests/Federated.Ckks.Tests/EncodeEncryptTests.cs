using System.Numerics;
using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Keys;

namespace Federated.Ckks.Tests;

public class EncodeEncryptTests
{
    /// <summary>Rounding each coefficient moves each slot by at most N/2 / scale (stated bound).</summary>
    private static double EncodeBound(CkksContext ctx, double scale) => ctx.N / 2.0 / scale + 1e-12;

    [Theory]
    [InlineData(4096, 30)]
    [InlineData(8192, 40)]
    [InlineData(8192, 60)]
    public void Encode_decode_round_trip_is_within_the_rounding_bound(int n, int logScale)
    {
        var ctx = n == 4096 ? TestSupport.Small4096 : logScale == 60 ? TestSupport.Protocol8192 : TestSupport.Standard8192;
        var encoder = new CkksEncoder(ctx);
        double scale = Math.Pow(2, logScale);
        var values = TestSupport.RandomValues(ctx.SlotCount, 8.0, n + logScale);
        var pt = encoder.Encode(values, scale);
        var decoded = encoder.Decode(pt);
        double err = TestSupport.MaxAbsDiff(values, decoded, values.Length);
        Assert.True(err <= EncodeBound(ctx, scale), $"round-trip error {err:E3} exceeds {EncodeBound(ctx, scale):E3}");
        Assert.True(err > 0 || logScale >= 60); // real rounding happened at small scales
    }

    [Fact]
    public void Large_scale_coefficients_above_two_to_64_are_decomposed_exactly()
    {
        // Scale 2^60 with values near 60 makes coefficients exceed 2^64.
        var ctx = TestSupport.Protocol8192;
        var encoder = new CkksEncoder(ctx);
        var values = TestSupport.RandomValues(ctx.SlotCount, 1000.0, 3);
        values[0] = 1.0e6;
        var pt = encoder.Encode(values, Math.Pow(2, 60));
        var coeffs = new double[ctx.N];
        encoder.DecodeCoefficients(pt, coeffs);
        Assert.True(coeffs.Max(Math.Abs) * Math.Pow(2, 60) > Math.Pow(2, 64));
        var decoded = encoder.Decode(pt);
        Assert.True(TestSupport.MaxAbsDiff(values, decoded, values.Length) < 1e-6);
    }

    [Fact]
    public void Complex_slots_round_trip_and_constant_encoding_fills_every_slot()
    {
        var ctx = TestSupport.Standard8192;
        var encoder = new CkksEncoder(ctx);
        var re = TestSupport.RandomValues(ctx.SlotCount, 1, 5);
        var im = TestSupport.RandomValues(ctx.SlotCount, 1, 6);
        var z = re.Zip(im, (a, b) => new Complex(a, b)).ToArray();
        var back = encoder.DecodeComplex(encoder.Encode(z, Math.Pow(2, 40)));
        Assert.True(z.Zip(back, (a, b) => (a - b).Magnitude).Max() < EncodeBound(ctx, Math.Pow(2, 40)));
        var c = encoder.Decode(encoder.Encode(-3.25, Math.Pow(2, 40), 1));
        Assert.All(c, v => Assert.InRange(v, -3.25 - 1e-9, -3.25 + 1e-9));
    }

    [Fact]
    public void Encoding_too_large_for_the_modulus_is_rejected()
    {
        var ctx = TestSupport.Small4096;
        var encoder = new CkksEncoder(ctx);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => encoder.Encode([1e9], Math.Pow(2, 30), 0));
        Assert.Contains("does not fit", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Encrypt_decrypt_recovers_the_message(bool symmetric)
    {
        var k = TestSupport.CreateKeys(TestSupport.Standard8192);
        double scale = Math.Pow(2, 40);
        var values = TestSupport.RandomValues(k.Context.SlotCount, 10, 11);
        var pt = k.Encoder.Encode(values, scale);
        var ct = symmetric ? k.Encryptor.EncryptSymmetric(pt) : k.Encryptor.Encrypt(pt);
        Assert.Equal(symmetric, ct.IsSeeded);
        // Ciphertext is not the plaintext.
        Assert.False(ct.C0.SequenceEqual(pt.Data));
        var decoded = k.Encoder.Decode(k.Decryptor.Decrypt(ct));
        double err = TestSupport.MaxAbsDiff(values, decoded, values.Length);
        Assert.True(err < 1e-6, $"fresh encryption error {err:E3} exceeds 1e-6");
        // A different key does not decrypt it.
        var other = new Decryptor(k.Context, new KeyGenerator(k.Context).SecretKey);
        Assert.True(TestSupport.MaxAbsDiff(values, k.Encoder.Decode(other.Decrypt(ct)), values.Length) > 1e3);
    }

    [Fact]
    public void Encrypt_decrypt_at_every_level_of_an_N16384_chain()
    {
        var k = TestSupport.CreateKeys(TestSupport.Context(16384, 60, 40, 40, 40, 40, 40, 40, 60));
        double scale = Math.Pow(2, 40);
        var values = TestSupport.RandomValues(k.Context.SlotCount, 1, 12);
        foreach (int level in new[] { k.Context.MaxLevel, 2, 0 })
        {
            var ct = k.Encryptor.Encrypt(k.Encoder.Encode(values, scale, level));
            Assert.Equal(level, ct.Level);
            double err = TestSupport.MaxAbsDiff(values, k.Encoder.Decode(k.Decryptor.Decrypt(ct)), values.Length);
            Assert.True(err < 1e-6, $"level {level}: error {err:E3}");
        }
    }
}
