using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Arithmetic;
using Federated.Crypto.Ckks.Packing;
using Federated.Crypto.Ckks.Protocol;
using Federated.Crypto.Ckks.Serialization;

namespace Federated.Ckks.Tests;

/// <summary>docs/protocol.md §2 primitives and the section 5 masking / re-randomisation tests.</summary>
public class ProtocolPrimitiveTests
{
    private static readonly Lazy<TestSupport.Keys> Small = new(() => TestSupport.CreateKeys(TestSupport.Small4096));

    // ------------------------------------------------------------------ re-randomisation (section 5, test 4)

    /// <summary>The key owner's attack: solve c1_out = sum_i w_i c1_i at k NTT points mod q_0 for the weights.</summary>
    private static long[]? SolveWeights(CkksContext ctx, IReadOnlyList<Ciphertext> sent, Ciphertext returned)
    {
        int k = sent.Count;
        Modulus q = ctx.Moduli[0];
        var m = new ulong[k, k + 1];
        for (int r = 0; r < k; r++)
        {
            for (int i = 0; i < k; i++) m[r, i] = sent[i].Component(1, 0)[r];
            m[r, k] = returned.Component(1, 0)[r];
        }
        for (int col = 0; col < k; col++)
        {
            int pivot = -1;
            for (int r = col; r < k; r++) if (m[r, col] != 0) { pivot = r; break; }
            if (pivot < 0) return null;
            for (int c = 0; c <= k; c++) (m[col, c], m[pivot, c]) = (m[pivot, c], m[col, c]);
            ulong inv = q.Inverse(m[col, col]);
            for (int c = 0; c <= k; c++) m[col, c] = q.Multiply(m[col, c], inv);
            for (int r = 0; r < k; r++)
            {
                if (r == col || m[r, col] == 0) continue;
                ulong f = m[r, col];
                for (int c = 0; c <= k; c++) m[r, c] = q.Sub(m[r, c], q.Multiply(f, m[col, c]));
            }
        }
        var w = new long[k];
        for (int i = 0; i < k; i++) w[i] = m[i, k] > q.Value / 2 ? -(long)(q.Value - m[i, k]) : (long)m[i, k];
        // A real solution must also explain every other NTT point.
        for (int x = k; x < ctx.N; x += 97)
        {
            ulong acc = 0;
            for (int i = 0; i < k; i++) acc = q.Add(acc, q.Multiply(sent[i].Component(1, 0)[x], q.FromSigned(w[i])));
            if (acc != returned.Component(1, 0)[x]) return null;
        }
        return w;
    }

    [Fact]
    public void Re_randomisation_defeats_solving_for_the_plaintext_weights()
    {
        var e = Small.Value; // E owns the key and sent its encrypted columns
        var ctx = e.Context;
        const int k = 6;
        var sent = Enumerable.Range(0, k).Select(i => e.Encryptor.Encrypt(e.Encoder.Encode(TestSupport.RandomValues(ctx.SlotCount, 1, 40 + i), Math.Pow(2, 30)))).ToList();
        var weights = TestSupport.RandomValues(k, 1, 77);
        var products = new PackedMatrixProducts(ctx, 1);
        var layout = new ColumnPacking(ctx.SlotCount, ctx.SlotCount);
        long[] trueIntegers = weights.Select(w => Evaluator.ScalarToInteger(w, 20)).ToArray();

        // Negative control: M returns the bare linear combination (masked, but c1 is untouched by the mask).
        var bare = products.ColumnPackedProduct(sent, weights, 1, 20, layout)[0];
        RingMask.Sample(ctx, bare.Level).ApplyTo(bare);
        var recovered = SolveWeights(ctx, sent, bare);
        Assert.NotNull(recovered);
        Assert.Equal(trueIntegers, recovered);

        // With re-randomisation under E's public key the same attack finds no consistent solution.
        var protectedCt = products.ColumnPackedProduct(sent, weights, 1, 20, layout)[0];
        new Rerandomizer(ctx, e.PublicKey).RerandomizeInplace(protectedCt);
        RingMask.Sample(ctx, protectedCt.Level).ApplyTo(protectedCt);
        Assert.Null(SolveWeights(ctx, sent, protectedCt));

        // And the re-randomised result still decrypts to the product.
        var plain = products.ColumnPackedProduct(sent, weights, 1, 20, layout)[0];
        new Rerandomizer(ctx, e.PublicKey).RerandomizeInplace(plain);
        var got = e.Encoder.Decode(e.Decryptor.Decrypt(plain));
        var inputs = sent.Select(c => e.Encoder.Decode(e.Decryptor.Decrypt(c))).ToList();
        double err = Enumerable.Range(0, ctx.SlotCount).Max(s => Math.Abs(got[s] - Enumerable.Range(0, k).Sum(i => inputs[i][s] * trueIntegers[i] / Math.Pow(2, 20))));
        Assert.True(err < 1e-4, $"re-randomised product error {err:E3}");
    }

    // ------------------------------------------------------------------ masking (section 5, test 3)

    private static (double Ks, double Chi2, double Corr) ShareStatistics(bool mask, int shares)
    {
        var e = Small.Value;
        var ctx = e.Context;
        Modulus q = ctx.Moduli[0];
        var u = new List<double>();
        var plainCoeffs = new List<double>();
        var coeffs = new double[ctx.N];
        for (int s = 0; s < shares; s++)
        {
            var values = TestSupport.RandomValues(ctx.SlotCount, 1, 500 + s);
            var pt = e.Encoder.Encode(values, Math.Pow(2, 30), 0);
            var ct = e.Encryptor.Encrypt(pt);
            if (mask) RingMask.Sample(ctx, 0).ApplyTo(ct);
            var share = e.Decryptor.Decrypt(ct); // what the decryptor sees
            var raw = share.Component(0).ToArray();
            ctx.Ntt[0].Inverse(raw);
            e.Encoder.DecodeCoefficients(pt, coeffs);
            for (int x = 0; x < ctx.N; x++)
            {
                // Centered position of the residue in [0, 1): message-dominated shares sit near 0 and 1.
                u.Add(raw[x] / (double)q.Value);
                plainCoeffs.Add(coeffs[x]);
            }
        }
        return Federated.Tests.Shared.ShareUniformity.Of(u, plainCoeffs);
    }

    [Fact]
    public void Masked_shares_are_uniform_and_uncorrelated_with_the_plaintext()
    {
        const int shares = 4; // 16,384 coefficients
        var (ks, chi2, corr) = ShareStatistics(mask: true, shares);
        // Critical values at p = 0.001: KS sqrt(n) * D < 1.95; chi-square with 31 dof < 61.1; |r| < 4 / sqrt(n).
        Assert.True(ks < 1.95, $"KS statistic {ks:F3}");
        Assert.True(chi2 < 61.1, $"chi-square {chi2:F1}");
        Assert.True(Math.Abs(corr) < 4 / Math.Sqrt(shares * 4096.0), $"correlation {corr:F4}");

        // Negative control: unmasked shares fail uniformity and reveal the plaintext.
        var (ks0, chi20, corr0) = ShareStatistics(mask: false, shares);
        Assert.True(ks0 > 10, $"unmasked KS statistic {ks0:F3}");
        Assert.True(chi20 > 1000, $"unmasked chi-square {chi20:F1}");
        Assert.True(corr0 > 0.99, $"unmasked correlation {corr0:F4}");
    }

    [Fact]
    public void Masked_share_round_trips_through_the_releaser_and_unmasking()
    {
        var e = Small.Value;
        var ctx = e.Context;
        var values = TestSupport.RandomValues(ctx.SlotCount, 1, 9);
        var own = TestSupport.RandomValues(ctx.SlotCount, 1, 10);
        var ct = e.Encryptor.Encrypt(e.Encoder.Encode(values, Math.Pow(2, 30)));
        var mask = RingMask.Sample(ctx, ct.Level);
        mask.ApplyTo(ct);
        var releaser = new ShareReleaser(ctx, e.Generator.SecretKey, new ReleaseBudget(e.Generator.SecretKey.KeyId, 10), floodingSigma: 0);
        var bytes = releaser.ReleaseSerialized(ct, e.Encoder.Encode(own, ct.Scale, ct.Level));
        var share = CkksSerializer.DeserializePlaintext(ctx, bytes, expectedLevel: ct.Level);
        var got = mask.Unmask(share, e.Encoder);
        Assert.True(Enumerable.Range(0, values.Length).Max(i => Math.Abs(got[i] - values[i] - own[i])) < 1e-5);
        // Without removing the mask the decoded share is garbage.
        Assert.True(e.Encoder.Decode(share).Take(100).Zip(values).Max(p => Math.Abs(p.First - p.Second)) > 1e3);
    }

    // ------------------------------------------------------------------ flooding and release budget

    [Fact]
    public void Flooding_widens_the_decryption_error_as_specified()
    {
        var k = TestSupport.CreateKeys(TestSupport.Standard8192);
        var ctx = k.Context;
        double scale = Math.Pow(2, 40), sigma = Math.Pow(2, 20);
        var values = TestSupport.RandomValues(ctx.SlotCount, 1, 31);
        var ct = k.Encryptor.Encrypt(k.Encoder.Encode(values, scale));
        var budget = new ReleaseBudget(k.Generator.SecretKey.KeyId, 100);
        var quiet = new ShareReleaser(ctx, k.Generator.SecretKey, budget, 0).Release(ct);
        var flooded = new ShareReleaser(ctx, k.Generator.SecretKey, budget, sigma).Release(ct);

        // Coefficient domain: the difference is exactly the flooding noise, of standard deviation sigma.
        var diff = flooded.Clone();
        for (int i = 0; i <= diff.Level; i++)
        {
            Span<ulong> d = diff.Component(i), qv = quiet.Component(i);
            for (int x = 0; x < ctx.N; x++) d[x] = ctx.Moduli[i].Sub(d[x], qv[x]);
        }
        diff.Scale = 1;
        var noise = new double[ctx.N];
        k.Encoder.DecodeCoefficients(diff, noise);
        double sd = Math.Sqrt(noise.Select(v => v * v).Average());
        Assert.InRange(sd / sigma, 0.97, 1.03);
        Assert.InRange(Math.Abs(noise.Average()) / sigma, 0, 0.05);

        // Slot domain: error standard deviation sigma * sqrt(N/2) / scale, far above the unflooded error.
        double expectedSlotSd = NoiseFlooding.SlotStandardDeviation(ctx, sigma, scale);
        var quietErr = k.Encoder.Decode(quiet).Zip(values, (a, b) => a - b).ToArray();
        var floodErr = k.Encoder.Decode(flooded).Zip(values, (a, b) => a - b).ToArray();
        double floodSd = Math.Sqrt(floodErr.Select(v => v * v).Average()), quietSd = Math.Sqrt(quietErr.Select(v => v * v).Average());
        Assert.InRange(floodSd / expectedSlotSd, 0.9, 1.1);
        Assert.True(quietSd < expectedSlotSd / 100, $"unflooded error sd {quietSd:E3} vs flooded {floodSd:E3}");
        Assert.Equal(2, budget.Used);
    }

    [Fact]
    public void Flooding_a_ciphertext_widens_its_decryption_error_as_specified()
    {
        var k = Small.Value;
        var ctx = k.Context;
        double scale = Math.Pow(2, 30), sigma = Math.Pow(2, 14);
        var values = TestSupport.RandomValues(ctx.SlotCount, 1, 32);
        var ct = k.Encryptor.Encrypt(k.Encoder.Encode(values, scale));
        var plainErr = k.Encoder.Decode(k.Decryptor.Decrypt(ct)).Zip(values, (a, b) => a - b).ToArray();
        NoiseFlooding.AddTo(ct, sigma);
        var err = k.Encoder.Decode(k.Decryptor.Decrypt(ct)).Zip(values, (a, b) => a - b).ToArray();
        double sd = Math.Sqrt(err.Select(v => v * v).Average()), sd0 = Math.Sqrt(plainErr.Select(v => v * v).Average());
        Assert.InRange(sd / NoiseFlooding.SlotStandardDeviation(ctx, sigma, scale), 0.9, 1.1);
        Assert.True(sd0 < sd / 20, $"unflooded {sd0:E3} vs flooded {sd:E3}");
    }

    [Fact]
    public void Flooding_width_follows_the_open_fhe_rule()
    {
        // docs/protocol.md §2.7: s = 30, tau = 2^16, t = 2^14 gives about 2^39.
        double w = NoiseFlooding.Width(30, 1 << 16, 1 << 14);
        Assert.InRange(Math.Log2(w), 38.7, 38.9);
    }

    [Fact]
    public void Release_counter_stops_releases_at_its_budget()
    {
        var e = Small.Value;
        var ctx = e.Context;
        var budget = new ReleaseBudget(e.Generator.SecretKey.KeyId, 3);
        var releaser = new ShareReleaser(ctx, e.Generator.SecretKey, budget, 16);
        var ct = e.Encryptor.Encrypt(e.Encoder.Encode([0.5], Math.Pow(2, 30)));
        for (int i = 0; i < 3; i++) releaser.Release(ct);
        Assert.True(budget.IsExhausted);
        var ex = Assert.Throws<ReleaseBudgetExhaustedException>(() => releaser.Release(ct));
        Assert.Contains("release budget of 3", ex.Message);
        Assert.Equal(3, budget.Used);
        // A budget restored from a persisted count keeps refusing; a budget for another key is refused outright.
        Assert.Throws<ReleaseBudgetExhaustedException>(() => new ShareReleaser(ctx, e.Generator.SecretKey, new ReleaseBudget(budget.KeyId, 3, 3), 16).Release(ct));
        Assert.Throws<CkksMismatchException>(() => new ShareReleaser(ctx, e.Generator.SecretKey, new ReleaseBudget(Guid.NewGuid(), 3), 16));
    }
}
