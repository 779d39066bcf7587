using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Packing;
using Federated.Crypto.Ckks.Protocol;
using Federated.Crypto.Ckks.Serialization;
using Xunit.Abstractions;

namespace Federated.Ckks.Tests;

/// <summary>
/// The forward messages F1-F4 of docs/protocol.md §2.3 with the sizing of §2.7: N=8192, primes {60,30,30}+60, input scale
/// 2^60, weights as integers round(w * 2^30), one rescale, flooding width from the OpenFHE rule (s=30, tau=2^16,
/// t=2^14). Checks the end-to-end relative error of z_E = alpha * W stays below 1e-3.
/// </summary>
public class ProtocolFlowTests(ITestOutputHelper output)
{
    [Fact]
    public void Forward_step_with_mask_rerandomisation_and_flooding_meets_the_error_target()
    {
        var ctx = TestSupport.Protocol8192;
        const int rows = 4096, k = 8, d = 4;
        double inputScale = Math.Pow(2, 60);
        var e = TestSupport.CreateKeys(ctx); // E's keys
        var alpha = TestSupport.RandomValues(rows * k, 1, 1001);   // bounded activations (tanh range)
        var wM = TestSupport.RandomValues(k * d, 0.5, 1002);
        var a = TestSupport.RandomValues(k * d, 0.5, 1003);
        var layout = new ColumnPacking(ctx.SlotCount, rows);

        // F1: E encrypts alpha column-packed (symmetric, seeded: half the upload).
        var f1 = Enumerable.Range(0, k)
            .Select(i => CkksSerializer.Serialize(e.Encryptor.EncryptSymmetric(e.Encoder.Encode(layout.PackColumn(alpha, k, i), inputScale))))
            .ToList();

        // F2: M computes alpha * W_M, rescales, re-randomises under E's key and masks.
        var received = f1.Select(b => CkksSerializer.DeserializeCiphertext(ctx, b, expectedLevel: ctx.MaxLevel)).ToList();
        var m = new PackedMatrixProducts(ctx);
        var ev = new Evaluator(ctx);
        var rerandomizer = new Rerandomizer(ctx, CkksSerializer.DeserializePublicKey(ctx, CkksSerializer.Serialize(e.PublicKey)));
        var outputs = m.ColumnPackedProduct(received, wM, d, 30, layout);
        // Ciphertext noise t (coefficient domain, integer units at the output scale) before flooding, measured on
        // E's decryption of the unmasked, re-randomised product against the exactly encoded expected result.
        var probe = outputs[0].Clone();
        ev.RescaleToNextInplace(probe);
        rerandomizer.RerandomizeInplace(probe);
        var decryptedCoeffs = new double[ctx.N];
        e.Encoder.DecodeCoefficients(e.Decryptor.Decrypt(probe), decryptedCoeffs);
        var exactCoeffs = new double[ctx.N];
        // The expected value uses the weights exactly as M applied them: round(w * 2^30) / 2^30.
        var wQuantized = wM.Select(w => Evaluator.ScalarToInteger(w, 30) / Math.Pow(2, 30)).ToArray();
        e.Encoder.DecodeCoefficients(e.Encoder.Encode(layout.PackColumn(Product(alpha, rows, k, wQuantized, d), d, 0), probe.Scale, probe.Level), exactCoeffs);
        double t = Enumerable.Range(0, ctx.N).Max(x => Math.Abs(decryptedCoeffs[x] - exactCoeffs[x])) * probe.Scale;
        output.WriteLine($"ciphertext noise before flooding: t = {t:F0} = 2^{Math.Log2(t):F1} (the protocol's sizing assumes 2^14)");
        Assert.True(t < 1 << 14, $"noise t = {t:F0} exceeds the 2^14 assumed by the flooding width");

        var masks = new RingMask[outputs.Length];
        var f2 = new List<byte[]>();
        for (int j = 0; j < outputs.Length; j++)
        {
            ev.RescaleToNextInplace(outputs[j]);
            rerandomizer.RerandomizeInplace(outputs[j]);
            masks[j] = RingMask.Sample(ctx, outputs[j].Level);
            masks[j].ApplyTo(outputs[j]);
            f2.Add(CkksSerializer.Serialize(outputs[j]));
        }

        // F3: E decrypts each masked output, adds Encode(alpha * A) and flooding, releases.
        double sigma = NoiseFlooding.Width(30, 1 << 16, 1 << 14);
        var releaser = new ShareReleaser(ctx, e.Generator.SecretKey, new ReleaseBudget(e.Generator.SecretKey.KeyId, 1 << 16), sigma);
        var f3 = new List<byte[]>();
        for (int j = 0; j < f2.Count; j++)
        {
            var ct = CkksSerializer.DeserializeCiphertext(ctx, f2[j]);
            var ownTerm = e.Encoder.Encode(layout.PackColumn(Product(alpha, rows, k, a, d), d, j), ct.Scale, ct.Level);
            f3.Add(releaser.ReleaseSerialized(ct, ownTerm));
        }

        // F4: M removes its masks and decodes z_E = alpha * (W_M + A).
        var z = f3.Select((b, j) => masks[j].Unmask(CkksSerializer.DeserializePlaintext(ctx, b, expectedLevel: 1), e.Encoder)).ToList();
        var w = wM.Zip(a, (x, y) => x + y).ToArray();
        var expected = Product(alpha, rows, k, w, d);
        var got = layout.UnpackOutputs(z, d);
        double maxAbs = expected.Max(Math.Abs), err = TestSupport.MaxAbsDiff(expected, got, expected.Length);
        double rms = Math.Sqrt(expected.Zip(got, (x, y) => (x - y) * (x - y)).Average());
        output.WriteLine($"z_E: max |error| {err:E3}, rms error {rms:E3}, max |z| {maxAbs:F3}, relative {err / maxAbs:E3}, flooding sigma 2^{Math.Log2(sigma):F1}, output level {outputs[0].Level}, scale 2^{Math.Log2(outputs[0].Scale):F2}");
        Assert.True(err / maxAbs < 1e-3, $"relative error {err / maxAbs:E3} exceeds 1e-3");
        // Flooding dominates: the rms matches sigma * sqrt(N/2) / scale within 20%.
        Assert.InRange(rms / NoiseFlooding.SlotStandardDeviation(ctx, sigma, outputs[0].Scale), 0.8, 1.2);
    }

    private static double[] Product(double[] x, int rows, int k, double[] w, int d)
    {
        var r = new double[rows * d];
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < d; j++)
            {
                double s = 0;
                for (int i = 0; i < k; i++) s += x[b * k + i] * w[i * d + j];
                r[b * d + j] = s;
            }
        return r;
    }
}
