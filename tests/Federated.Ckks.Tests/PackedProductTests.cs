using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Packing;

namespace Federated.Ckks.Tests;

/// <summary>Packed products against a plain matrix product over random shapes, with padding and rotation counts.</summary>
public class PackedProductTests
{
    private static readonly Lazy<TestSupport.Keys> Shared = new(() => TestSupport.CreateKeys(TestSupport.Small4096));
    private static readonly double Scale = Math.Pow(2, 30);
    private const int WeightBits = 30;

    private static double[] PlainProduct(double[] a, int rows, int k, double[] w, int d)
    {
        var r = new double[rows * d];
        for (int b = 0; b < rows; b++)
            for (int j = 0; j < d; j++)
            {
                double s = 0;
                for (int i = 0; i < k; i++) s += a[b * k + i] * w[i * d + j];
                r[b * d + j] = s;
            }
        return r;
    }

    [Theory]
    [InlineData(2048, 5, 3, true, 1.0)]   // batch fills the slots: rotation-free scalar path (31-bit limb kernel)
    [InlineData(2048, 5, 3, true, 6.0)]   // weights above 2^31 as integers: 128-bit scalar path
    [InlineData(1000, 4, 7, true, 1.0)]   // padding, 2 blocks: 2 output columns per ciphertext
    [InlineData(300, 3, 5, true, 1.0)]    // 6 blocks, last output ciphertext partly empty
    [InlineData(300, 6, 2, false, 1.0)]   // padding without replication: scalar path
    public void Column_packed_product_matches_the_plain_product(int rows, int k, int d, bool replicate, double weightMagnitude)
    {
        var keys = Shared.Value;
        var ctx = keys.Context;
        var layout = new ColumnPacking(ctx.SlotCount, rows, replicate);
        var alpha = TestSupport.RandomValues(rows * k, 1, rows + k);
        var w = TestSupport.RandomValues(k * d, weightMagnitude, d + 100);
        var inputs = Enumerable.Range(0, k).Select(i => keys.Encryptor.Encrypt(keys.Encoder.Encode(layout.PackColumn(alpha, k, i), Scale))).ToList();
        var products = new PackedMatrixProducts(ctx, maxDegreeOfParallelism: 2);
        var outputs = products.ColumnPackedProduct(inputs, w, d, WeightBits, layout);
        Assert.Equal(layout.OutputCiphertextCount(d), outputs.Length);
        Assert.Equal(replicate ? ctx.SlotCount / rows : 1, layout.Blocks);
        Assert.Equal(0, products.RotationCount);
        foreach (var o in outputs) keys.Evaluator.RescaleToNextInplace(o);
        var decoded = outputs.Select(o => keys.Encoder.Decode(keys.Decryptor.Decrypt(o))).ToList();
        var got = layout.UnpackOutputs(decoded, d);
        var expected = PlainProduct(alpha, rows, k, w, d);
        double err = TestSupport.MaxAbsDiff(expected, got, expected.Length);
        // Stated bound at scale 2^30 (N=4096): fresh noise times sum |w| plus rescale rounding, ~1e-5 measured.
        Assert.True(err < 1e-3 * weightMagnitude, $"max error {err:E3}");
    }

    [Theory]
    [InlineData(2048, 16, 3)]  // kp = 16: n1 = 4, n2 = 4, folds 16..1024
    [InlineData(700, 10, 2)]   // padding of rows and of k (10 -> 16)
    [InlineData(2048, 256, 1)] // n1 = 16, n2 = 16, 3 folds
    [InlineData(64, 5, 2)]
    public void Batch_sum_product_matches_the_plain_product_with_the_designed_rotation_count(int rows, int k, int d)
    {
        var keys = Shared.Value;
        var ctx = keys.Context;
        var products = new PackedMatrixProducts(ctx, maxDegreeOfParallelism: 2);
        var plan = products.PlanBatchSum(rows, k);
        var gk = keys.Generator.CreateGaloisKeys(plan.RequiredSteps);
        Assert.Equal(plan.RequiredSteps.Distinct().Count(), gk.GaloisElements.Count);
        var alpha = TestSupport.RandomValues(rows * k, 1, rows * 3 + k);
        var delta = TestSupport.RandomValues(rows * d, 1, rows * 5 + d);
        var layout = new ColumnPacking(ctx.SlotCount, rows, replicate: false);
        var cts = Enumerable.Range(0, d).Select(j => keys.Encryptor.Encrypt(keys.Encoder.Encode(layout.PackColumn(delta, d, j), Scale))).ToList();
        var outputs = products.BatchSumProduct(cts, alpha, WeightBits, gk, plan);
        Assert.Equal(d * plan.RotationsPerOutput, products.RotationCount);
        int kp = plan.PaddedColumns;
        Assert.Equal(kp, plan.BabySteps * plan.GiantSteps);
        Assert.Equal(System.Numerics.BitOperations.Log2((uint)(ctx.SlotCount / kp)), plan.FoldSteps.Length);
        for (int j = 0; j < d; j++)
        {
            keys.Evaluator.RescaleToNextInplace(outputs[j]);
            var got = keys.Encoder.Decode(keys.Decryptor.Decrypt(outputs[j]));
            for (int i = 0; i < k; i++)
            {
                double expected = 0;
                for (int b = 0; b < rows; b++) expected += alpha[b * k + i] * delta[b * d + j];
                Assert.True(Math.Abs(expected - got[i]) < 1e-2, $"output {j} entry {i}: expected {expected}, got {got[i]}");
                // Replicated every kp slots.
                Assert.True(Math.Abs(got[i] - got[(i + kp) % ctx.SlotCount]) < 1e-2);
            }
        }
    }

    [Fact]
    public void Noise_added_in_the_output_layout_covers_every_replica()
    {
        // B3: E adds Xi / eta to alpha^T * delta before M decrypts; every replica of each result must carry it.
        var keys = Shared.Value;
        var ctx = keys.Context;
        const int rows = 512, k = 12;
        var products = new PackedMatrixProducts(ctx, 1);
        var plan = products.PlanBatchSum(rows, k);
        var gk = keys.Generator.CreateGaloisKeys(plan.RequiredSteps);
        var alpha = TestSupport.RandomValues(rows * k, 1, 91);
        var delta = TestSupport.RandomValues(rows, 1, 92);
        var ct = keys.Encryptor.Encrypt(keys.Encoder.Encode(delta, Scale));
        var output = products.BatchSumProduct([ct], alpha, WeightBits, gk, plan)[0];
        keys.Evaluator.RescaleToNextInplace(output);
        var xi = TestSupport.RandomValues(k, 100, 93);
        keys.Evaluator.AddPlainInplace(output, keys.Encoder.Encode(plan.ReplicateLikeOutput(xi, ctx.SlotCount), output.Scale, output.Level));
        var got = keys.Encoder.Decode(keys.Decryptor.Decrypt(output));
        for (int s = 0; s < ctx.SlotCount; s++)
        {
            int i = s % plan.PaddedColumns;
            if (i >= k) continue;
            double plain = 0;
            for (int b = 0; b < rows; b++) plain += alpha[b * k + i] * delta[b];
            Assert.True(Math.Abs(got[s] - plain - xi[i]) < 1e-2, $"slot {s}: replica of result {i} is not masked by xi");
        }
        Assert.Equal(plan.ExtractOutput(got), got.Take(k).ToArray());
    }

    [Fact]
    public void Batch_sum_product_refuses_missing_galois_keys_and_names_them()
    {
        var keys = Shared.Value;
        var products = new PackedMatrixProducts(keys.Context);
        var plan = products.PlanBatchSum(2048, 16);
        var gk = keys.Generator.CreateGaloisKeys(plan.RequiredSteps.Skip(1));
        var ct = keys.Encryptor.Encrypt(keys.Encoder.Encode([1.0], Scale));
        var ex = Assert.Throws<CkksMismatchException>(() => products.BatchSumProduct([ct], new double[2048 * 16], WeightBits, gk, plan));
        Assert.Contains($"steps [{plan.RequiredSteps[0]}]", ex.Message);
    }
}
