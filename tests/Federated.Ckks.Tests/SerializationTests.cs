using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Serialization;

namespace Federated.Ckks.Tests;

public class SerializationTests
{
    private static readonly Lazy<TestSupport.Keys> Shared = new(() => TestSupport.CreateKeys(TestSupport.Standard8192));
    private static readonly double Scale = Math.Pow(2, 40);

    private static Ciphertext FreshCt(out double[] values, bool symmetric = false)
    {
        var k = Shared.Value;
        values = TestSupport.RandomValues(k.Context.SlotCount, 3, 21);
        var pt = k.Encoder.Encode(values, Scale);
        return symmetric ? k.Encryptor.EncryptSymmetric(pt) : k.Encryptor.Encrypt(pt);
    }

    [Fact]
    public void Ciphertext_round_trips_and_primes_below_the_level_are_dropped()
    {
        var k = Shared.Value;
        var ct = FreshCt(out var values);
        var bytes = CkksSerializer.Serialize(ct);
        var back = CkksSerializer.DeserializeCiphertext(k.Context, bytes);
        Assert.True(ct.C0.SequenceEqual(back.C0) && ct.C1.SequenceEqual(back.C1));
        Assert.Equal(ct.Scale, back.Scale);
        // 2 polys x (8 + 5 + 5 bytes per residue for 60/40/40-bit primes) x N plus a 48-byte header: 25% below
        // SEAL's 393,329 bytes.
        Assert.Equal(2 * 18 * 8192 + 38 + 10, bytes.Length);
        k.Evaluator.ModSwitchToNextInplace(back);
        var lower = CkksSerializer.Serialize(back);
        Assert.Equal(2 * 13 * 8192 + 48, lower.Length);
        var again = CkksSerializer.DeserializeCiphertext(k.Context, lower, expectedLevel: 1);
        Assert.True(TestSupport.MaxAbsDiff(values, k.Encoder.Decode(k.Decryptor.Decrypt(again)), values.Length) < 1e-6);
    }

    [Fact]
    public void Seeded_symmetric_ciphertext_travels_as_C0_plus_seed()
    {
        var k = Shared.Value;
        var ct = FreshCt(out var values, symmetric: true);
        var bytes = CkksSerializer.Serialize(ct);
        Assert.Equal(18 * 8192 + 32 + 48, bytes.Length);
        var back = CkksSerializer.DeserializeCiphertext(k.Context, bytes);
        Assert.True(back.IsSeeded);
        Assert.True(ct.C1.SequenceEqual(back.C1));
        Assert.True(TestSupport.MaxAbsDiff(values, k.Encoder.Decode(k.Decryptor.Decrypt(back)), values.Length) < 1e-6);
        // Once c1 changes the seed no longer describes it and the full form is written.
        k.Evaluator.AddInplace(back, ct);
        Assert.False(back.IsSeeded);
        Assert.Equal(2 * 18 * 8192 + 48, CkksSerializer.Serialize(back).Length);
    }

    [Fact]
    public void Keys_plaintexts_and_parameters_round_trip()
    {
        var k = Shared.Value;
        var ctx2 = CkksSerializer.DeserializeContext(CkksSerializer.Serialize(k.Context));
        Assert.True(ctx2.SameParameters(k.Context));

        var pt = k.Encoder.Encode(TestSupport.RandomValues(100, 1, 2), Scale, 1);
        var pt2 = CkksSerializer.DeserializePlaintext(k.Context, CkksSerializer.Serialize(pt));
        Assert.True(pt.Data.SequenceEqual(pt2.Data));
        Assert.Equal(1, pt2.Level);

        var pkBytes = CkksSerializer.Serialize(k.PublicKey);
        var pk2 = CkksSerializer.DeserializePublicKey(k.Context, pkBytes);
        Assert.Equal(k.PublicKey.KeyId, pk2.KeyId);
        Assert.True(TestSupport.MaxAbsDiff([1.5], k.Encoder.Decode(k.Decryptor.Decrypt(new Encryptor(k.Context, pk2).Encrypt(k.Encoder.Encode([1.5], Scale)))), 1) < 1e-6);

        var skBytes = CkksSerializer.Serialize(k.Generator.SecretKey);
        var dec2 = new Decryptor(k.Context, CkksSerializer.DeserializeSecretKey(k.Context, skBytes));
        var ct = FreshCt(out var values);
        Assert.True(TestSupport.MaxAbsDiff(values, k.Encoder.Decode(dec2.Decrypt(ct)), values.Length) < 1e-6);

        var gk = k.Generator.CreateGaloisKeys([1, -3]);
        var gk2 = CkksSerializer.DeserializeGaloisKeys(k.Context, CkksSerializer.Serialize(gk));
        Assert.True(gk2.HasStep(1) && gk2.HasStep(-3) && !gk2.HasStep(2));
        var rotated = k.Evaluator.Rotate(ct, -3, gk2);
        var got = k.Encoder.Decode(k.Decryptor.Decrypt(rotated));
        int s = k.Context.SlotCount;
        Assert.True(Enumerable.Range(0, s).Max(j => Math.Abs(got[j] - values[(j - 3 + s) % s])) < 4e-6);
    }

    public static TheoryData<string> CorruptionKinds => new() { "magic", "version", "kind", "foreign", "level", "expected-level", "truncated", "trailing", "coefficient", "scale", "flags" };

    [Theory]
    [MemberData(nameof(CorruptionKinds))]
    public void Each_kind_of_corrupted_ciphertext_is_rejected_with_a_clear_error(string corruption)
    {
        var k = Shared.Value;
        var bytes = CkksSerializer.Serialize(FreshCt(out _));
        var ctx = k.Context;
        int? expectedLevel = null;
        string expected;
        switch (corruption)
        {
            case "magic": bytes[0] = (byte)'X'; expected = "bad magic"; break;
            case "version": bytes[4] = 9; expected = "unsupported format version 9"; break;
            case "kind": bytes[5] = 4; expected = "object kind is PublicKey, expected Ciphertext"; break;
            case "foreign": ctx = TestSupport.Protocol8192; expected = "foreign parameters"; break;
            case "level": bytes[38] = 7; expected = "level 7 exceeds"; break;
            case "expected-level": expectedLevel = 1; expected = "wrong level 2, expected 1"; break;
            case "truncated": bytes = bytes[..(bytes.Length - 100)]; expected = "truncated"; break;
            case "trailing": bytes = [.. bytes, 0, 0]; expected = "trailing bytes"; break;
            case "coefficient":
                // The first 60-bit residue of c0 set to all ones: 2^60 - 1 is above the 60-bit prime.
                for (int i = 48; i < 48 + 7; i++) bytes[i] = 0xFF;
                bytes[55] |= 0x0F;
                expected = "c0 coefficient 0 of prime 0 is out of range"; break;
            case "scale": BitConverter.TryWriteBytes(bytes.AsSpan(39), double.NaN); expected = "scale"; break;
            case "flags": bytes[47] = 5; expected = "unknown flags 5"; break;
            default: throw new ArgumentException(corruption);
        }
        var ex = Assert.Throws<CkksFormatException>(() => CkksSerializer.DeserializeCiphertext(ctx, bytes, expectedLevel));
        Assert.Contains(expected, ex.Message);
        Assert.StartsWith("ciphertext:", ex.Message);
    }

    [Fact]
    public void Corrupted_keys_and_parameters_are_rejected()
    {
        var k = Shared.Value;
        var gk = CkksSerializer.Serialize(k.Generator.CreateGaloisKeys([1]));
        Assert.Contains("truncated", Assert.Throws<CkksFormatException>(() => CkksSerializer.DeserializeGaloisKeys(k.Context, gk.AsSpan(0, gk.Length / 2))).Message);
        var bad = (byte[])gk.Clone();
        BitConverter.TryWriteBytes(bad.AsSpan(38 + 16 + 4), 6); // even Galois element
        Assert.Contains("not a rotation element", Assert.Throws<CkksFormatException>(() => CkksSerializer.DeserializeGaloisKeys(k.Context, bad)).Message);
        var pk = CkksSerializer.Serialize(k.PublicKey);
        Assert.Contains("foreign parameters", Assert.Throws<CkksFormatException>(() => CkksSerializer.DeserializePublicKey(TestSupport.Small4096, pk)).Message);
        Assert.Contains("object kind is PublicKey, expected SecretKey", Assert.Throws<CkksFormatException>(() => CkksSerializer.DeserializeSecretKey(k.Context, pk)).Message);
        var parms = CkksSerializer.Serialize(k.Context);
        parms[^1] ^= 0x40; // corrupt the last prime
        Assert.StartsWith("parameters:", Assert.Throws<CkksFormatException>(() => CkksSerializer.DeserializeContext(parms)).Message);
        var pt = CkksSerializer.Serialize(k.Encoder.Encode([1.0], Scale));
        Assert.Contains("truncated", Assert.Throws<CkksFormatException>(() => CkksSerializer.DeserializePlaintext(k.Context, pt.AsSpan(0, 20))).Message);
    }
}
