using Federated.Crypto.Ckks;

namespace Federated.Ckks.Tests;

/// <summary>Every evaluator operation against the same computation on plaintext doubles (N=8192, scale 2^40).</summary>
public class EvaluatorTests
{
    private static readonly Lazy<TestSupport.Keys> Shared = new(() => TestSupport.CreateKeys(TestSupport.Standard8192));
    private static readonly double Scale = Math.Pow(2, 40);
    /// <summary>Stated bound for fresh-noise operations at scale 2^40 (measured errors are around 1e-9..1e-8).</summary>
    private const double FreshBound = 1e-6;
    /// <summary>Stated bound after one key switch: the digit-times-error term sum_j d_j e_j / P adds coefficient
    /// noise of a few hundred (q_0 ~ P ~ 2^60); measured max slot errors 7e-8..5e-7, like SEAL's 1.7e-7..1.3e-6.</summary>
    private const double RotationBound = 4e-6;

    private static (double[] Values, Ciphertext Ct) Fresh(int seed, double magnitude = 4)
    {
        var k = Shared.Value;
        var v = TestSupport.RandomValues(k.Context.SlotCount, magnitude, seed);
        return (v, k.Encryptor.Encrypt(k.Encoder.Encode(v, Scale)));
    }

    private static double[] Dec(Ciphertext ct) => Shared.Value.Encoder.Decode(Shared.Value.Decryptor.Decrypt(ct));

    private static void AssertClose(double[] expected, double[] actual, double bound, string what)
    {
        double err = TestSupport.MaxAbsDiff(expected, actual, expected.Length);
        Assert.True(err <= bound, $"{what}: max error {err:E3} exceeds {bound:E1}");
    }

    [Fact]
    public void Add_sub_negate()
    {
        var ev = Shared.Value.Evaluator;
        var (a, ca) = Fresh(1);
        var (b, cb) = Fresh(2);
        AssertClose(a.Zip(b, (x, y) => x + y).ToArray(), Dec(ev.Add(ca, cb)), FreshBound, "add");
        AssertClose(a.Zip(b, (x, y) => x - y).ToArray(), Dec(ev.Sub(ca, cb)), FreshBound, "sub");
        AssertClose(a.Select(x => -x).ToArray(), Dec(ev.Negate(ca)), FreshBound, "negate");
    }

    [Fact]
    public void Add_plain_sub_plain()
    {
        var k = Shared.Value;
        var (a, ca) = Fresh(3);
        var b = TestSupport.RandomValues(k.Context.SlotCount, 4, 4);
        var pb = k.Encoder.Encode(b, Scale);
        AssertClose(a.Zip(b, (x, y) => x + y).ToArray(), Dec(k.Evaluator.AddPlain(ca, pb)), FreshBound, "add_plain");
        AssertClose(a.Zip(b, (x, y) => x - y).ToArray(), Dec(k.Evaluator.SubPlain(ca, pb)), FreshBound, "sub_plain");
    }

    [Fact]
    public void Multiply_plain_then_rescale()
    {
        var k = Shared.Value;
        var (a, ca) = Fresh(5);
        var b = TestSupport.RandomValues(k.Context.SlotCount, 2, 6);
        var prod = k.Evaluator.MultiplyPlain(ca, k.Encoder.Encode(b, Scale));
        Assert.Equal(Scale * Scale, prod.Scale);
        var expected = a.Zip(b, (x, y) => x * y).ToArray();
        AssertClose(expected, Dec(prod), FreshBound, "multiply_plain");
        k.Evaluator.RescaleToNextInplace(prod);
        Assert.Equal(k.Context.MaxLevel - 1, prod.Level);
        Assert.Equal(Scale * Scale / k.Context.Moduli[2].Value, prod.Scale, 1e-6 * prod.Scale);
        AssertClose(expected, Dec(prod), FreshBound, "multiply_plain + rescale");
    }

    [Fact]
    public void Scalar_multiply_on_rns_coefficients_then_rescale()
    {
        var k = Shared.Value;
        var (a, ca) = Fresh(7);
        foreach (double w in new[] { 0.7310585, -1.25, 3e-5 })
        {
            var r = k.Evaluator.MultiplyScalar(ca, w, 40);
            k.Evaluator.RescaleToNextInplace(r);
            AssertClose(a.Select(x => x * w).ToArray(), Dec(r), FreshBound, $"scalar {w}");
        }
        var ci = ca.Clone();
        k.Evaluator.MultiplyIntegerInplace(ci, -7);
        AssertClose(a.Select(x => -7 * x).ToArray(), Dec(ci), 7 * FreshBound, "integer -7");
    }

    [Fact]
    public void Destination_overloads_match_the_value_operations_and_leave_inputs_intact()
    {
        var k = Shared.Value;
        var ev = k.Evaluator;
        var (a, ca) = Fresh(21);
        var (b, cb) = Fresh(22);
        var pb = k.Encoder.Encode(b, Scale);
        var caCopy = ca.Clone();
        var dst = new Ciphertext(k.Context, 0, 1); // wrong shape on purpose: reshaped by each call
        ev.Add(ca, cb, dst);
        AssertClose(a.Zip(b, (x, y) => x + y).ToArray(), Dec(dst), FreshBound, "add into destination");
        ev.AddPlain(ca, pb, dst);
        AssertClose(a.Zip(b, (x, y) => x + y).ToArray(), Dec(dst), FreshBound, "add_plain into destination");
        ev.MultiplyPlain(ca, pb, dst);
        AssertClose(a.Zip(b, (x, y) => x * y).ToArray(), Dec(dst), FreshBound, "multiply_plain into destination");
        ev.MultiplyScalar(ca, -0.375, 40, dst);
        ev.RescaleToNextInplace(dst);
        AssertClose(a.Select(x => -0.375 * x).ToArray(), Dec(dst), FreshBound, "multiply_scalar into destination");
        Assert.True(ca.C0.SequenceEqual(caCopy.C0) && ca.C1.SequenceEqual(caCopy.C1), "an input was modified");
        // Aliased destination works too.
        ev.Add(ca, cb, ca);
        AssertClose(a.Zip(b, (x, y) => x + y).ToArray(), Dec(ca), FreshBound, "add in place via destination");
    }

    [Fact]
    public void Seeded_ciphertext_keeps_its_seed_through_mod_switch_and_serializes_at_the_lower_level()
    {
        var k = Shared.Value;
        var v = TestSupport.RandomValues(k.Context.SlotCount, 1, 23);
        var ct = k.Encryptor.EncryptSymmetric(k.Encoder.Encode(v, Scale));
        k.Evaluator.ModSwitchToInplace(ct, 0);
        Assert.True(ct.IsSeeded);
        var bytes = Federated.Crypto.Ckks.Serialization.CkksSerializer.Serialize(ct);
        Assert.Equal(8 * k.Context.N + 32 + 48, bytes.Length);
        var back = Federated.Crypto.Ckks.Serialization.CkksSerializer.DeserializeCiphertext(k.Context, bytes, expectedLevel: 0);
        AssertClose(v, Dec(back), FreshBound, "seeded ciphertext at level 0");
    }

    [Fact]
    public void Mod_switch_keeps_the_value_at_a_lower_level()
    {
        var k = Shared.Value;
        var (a, ca) = Fresh(8);
        k.Evaluator.ModSwitchToNextInplace(ca);
        Assert.Equal(1, ca.Level);
        AssertClose(a, Dec(ca), FreshBound, "mod_switch");
        k.Evaluator.ModSwitchToInplace(ca, 0);
        AssertClose(a, Dec(ca), FreshBound, "mod_switch to 0");
        Assert.Throws<CkksMismatchException>(() => k.Evaluator.ModSwitchToNextInplace(ca));
        Assert.Throws<CkksMismatchException>(() => k.Evaluator.RescaleToNextInplace(ca));
    }

    [Fact]
    public void Mismatched_levels_scales_and_parameters_give_clear_errors()
    {
        var k = Shared.Value;
        var (_, ca) = Fresh(9);
        var (_, cb) = Fresh(10);
        var low = ca.Clone();
        k.Evaluator.ModSwitchToNextInplace(low);
        Assert.Contains("level mismatch", Assert.Throws<CkksMismatchException>(() => k.Evaluator.Add(low, cb)).Message);
        var scaled = k.Evaluator.MultiplyScalar(cb, 1.0, 10);
        Assert.Contains("scale mismatch", Assert.Throws<CkksMismatchException>(() => k.Evaluator.Add(ca, scaled)).Message);
        var foreign = TestSupport.CreateKeys(TestSupport.Small4096);
        var fct = foreign.Encryptor.Encrypt(foreign.Encoder.Encode([1.0], Math.Pow(2, 30)));
        Assert.Contains("different parameters", Assert.Throws<CkksMismatchException>(() => k.Evaluator.Add(ca, fct)).Message);
        // Scale overflow: 2^40 * 2^40 * 2^60 exceeds the level's modulus.
        var big = k.Evaluator.MultiplyScalar(ca, 1.0, 40);
        Assert.Contains("rescale first", Assert.Throws<CkksMismatchException>(() => k.Evaluator.MultiplyScalar(big, 1.0, 60)).Message);
    }

    [Fact]
    public void Rotation_by_several_steps_including_negative()
    {
        var k = Shared.Value;
        int[] steps = [1, 3, -1, -5, 64, 1000, -2047];
        var gk = k.Generator.CreateGaloisKeys(steps);
        Assert.Equal(steps.Length, gk.GaloisElements.Count);
        var (a, ca) = Fresh(11);
        int slots = k.Context.SlotCount;
        k.Evaluator.ResetRotationCount();
        foreach (int step in steps)
        {
            var r = k.Evaluator.Rotate(ca, step, gk);
            var expected = new double[slots];
            for (int j = 0; j < slots; j++) expected[j] = a[(((j + step) % slots) + slots) % slots];
            AssertClose(expected, Dec(r), RotationBound, $"rotate {step}");
        }
        Assert.Equal(steps.Length, k.Evaluator.RotationCount);
        // Rotation at a lower level uses the same keys.
        var low = ca.Clone();
        k.Evaluator.ModSwitchToInplace(low, 0);
        var r0 = k.Evaluator.Rotate(low, -1, gk);
        AssertClose(Enumerable.Range(0, slots).Select(j => a[(j - 1 + slots) % slots]).ToArray(), Dec(r0), RotationBound, "rotate at level 0");
        var ex = Assert.Throws<CkksMismatchException>(() => k.Evaluator.Rotate(ca, 2, gk));
        Assert.Contains("no Galois key for rotation step 2", ex.Message);
    }

    [Fact]
    public void Hoisted_rotations_match_plain_rotations()
    {
        var k = Shared.Value;
        int[] steps = [1, 2, 7, -3];
        var gk = k.Generator.CreateGaloisKeys(steps);
        var (a, ca) = Fresh(12);
        int slots = k.Context.SlotCount;
        var hoisted = k.Evaluator.Hoist(ca);
        foreach (int step in steps)
        {
            var r = new Ciphertext(k.Context, ca.Level, ca.Scale);
            k.Evaluator.RotateHoisted(hoisted, step, gk, r);
            var expected = Enumerable.Range(0, slots).Select(j => a[((j + step) % slots + slots) % slots]).ToArray();
            AssertClose(expected, Dec(r), RotationBound, $"hoisted rotate {step}");
        }
    }

    [Fact]
    public void Key_switched_rotations_allocate_no_buffers_per_call()
    {
        // Both key-switch paths work in pooled buffers: what a call allocates is its small index array, never
        // anything of the order of N (one N-value polynomial at N=8192 is 64 KiB).
        var k = Shared.Value;
        var gk = k.Generator.CreateGaloisKeys([1]);
        var (_, ca) = Fresh(13);
        var r = new Ciphertext(k.Context, ca.Level, ca.Scale);
        using var hoisted = k.Evaluator.Hoist(ca);
        k.Evaluator.Rotate(ca, 1, gk, r);
        k.Evaluator.RotateHoisted(hoisted, 1, gk, r);
        // The least of several rounds: another test's thread growing the shared pool's bookkeeping at the same
        // moment can show up once as a few hundred bytes; a per-call polynomial would show up in every round.
        long plain = LeastBytesPerCall(() => k.Evaluator.Rotate(ca, 1, gk, r));
        long hoistedBytes = LeastBytesPerCall(() => k.Evaluator.RotateHoisted(hoisted, 1, gk, r));
        Assert.True(plain <= 256, $"Rotate into a destination allocated {plain} bytes per call");
        Assert.True(hoistedBytes <= 256, $"RotateHoisted allocated {hoistedBytes} bytes per call");
    }

    private static long LeastBytesPerCall(Action call, int rounds = 5, int calls = 8)
    {
        long least = long.MaxValue;
        for (int round = 0; round < rounds; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < calls; i++) call();
            least = Math.Min(least, (GC.GetAllocatedBytesForCurrentThread() - before) / calls);
        }
        return least;
    }

    [Fact]
    public void Protocol_sizing_scale_60_times_thirty_bit_weights_rescales_back_near_scale_60()
    {
        // docs/protocol.md §2.7: input scale 2^60, weights as integers round(w * 2^30), one rescale by a 30-bit prime.
        var k = TestSupport.CreateKeys(TestSupport.Protocol8192);
        double scale = Math.Pow(2, 60);
        var a = TestSupport.RandomValues(k.Context.SlotCount, 1, 13);
        var ct = k.Encryptor.Encrypt(k.Encoder.Encode(a, scale));
        var acc = k.Evaluator.MultiplyScalar(ct, 0.8, 30);
        var second = k.Evaluator.MultiplyScalar(ct, -0.3, 30);
        k.Evaluator.AddInplace(acc, second);
        k.Evaluator.RescaleToNextInplace(acc);
        Assert.InRange(Math.Log2(acc.Scale), 59.9, 60.1);
        var got = k.Encoder.Decode(k.Decryptor.Decrypt(acc));
        double err = TestSupport.MaxAbsDiff(a.Select(x => 0.5 * x).ToArray(), got, a.Length);
        Assert.True(err < 1e-8, $"error {err:E3}");
    }
}
