using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Arithmetic;
using Federated.Crypto.Ckks.Packing;
using Federated.Crypto.Ckks.Protocol;

namespace Federated.Ckks.Tests;

/// <summary>The coefficient-packed batch-sum product (B3 of docs/protocol.md §2.3, without rotations), its sparse NTT and its mask.</summary>
public class CoefficientBatchSumTests
{
    private static readonly Lazy<TestSupport.Keys> Shared = new(() => TestSupport.CreateKeys(TestSupport.Small4096));
    private static readonly double Scale = Math.Pow(2, 30);
    private const int WeightBits = 30;

    [Theory]
    [InlineData(8192, 64, 8192)]
    [InlineData(8192, 64, 1024)]
    [InlineData(8192, 1, 1)]
    [InlineData(8192, 8192, 8192)]
    [InlineData(4096, 32, 64)]
    public void Sparse_forward_ntt_equals_the_full_ntt(int n, int width, int period)
    {
        var q = CoeffModulus.Create(n, [60])[0];
        var ntt = new NttTables(n, q);
        var random = new Random(width * 31 + period);
        var a = new ulong[n];
        for (int p = 0; p < n; p++) if (p % period < width) a[p] = (ulong)random.NextInt64((long)Math.Min(q.Value, long.MaxValue));
        var full = (ulong[])a.Clone();
        ntt.Forward(full);
        var sparse = (ulong[])a.Clone();
        ntt.ForwardSparse(sparse, period, width);
        Assert.Equal(full, sparse);
    }

    [Fact]
    public void Sparse_forward_ntt_refuses_a_layout_that_is_not_powers_of_two()
    {
        var ntt = TestSupport.Small4096.Ntt[0];
        Assert.Throws<ArgumentException>(() => ntt.ForwardSparse(new ulong[4096], 96, 32));
        Assert.Throws<ArgumentException>(() => ntt.ForwardSparse(new ulong[4096], 32, 64));
    }

    [Theory]
    [InlineData(2048, 16, 3, 0, 0, 0)]       // the cost model's choice
    [InlineData(700, 10, 5, 0, 0, 0)]        // padding of rows, k and d
    [InlineData(2048, 128, 64, 64, 2, 32)]   // protocol-like shape, explicit blocks, several outer blocks
    [InlineData(100, 7, 6, 16, 4, 8)]        // every dimension padded inside its block
    [InlineData(33, 3, 2, 1, 1, 1)]          // degenerate blocks: one value per polynomial
    public void Product_matches_the_plain_product_without_rotations(int rows, int k, int d, int rowBlock, int innerBlock, int outerBlock)
    {
        var keys = Shared.Value;
        var ctx = keys.Context;
        var plan = rowBlock == 0
            ? CoefficientBatchSumPlan.Choose(ctx.N, rows, k, d)
            : new CoefficientBatchSumPlan(ctx.N, rows, k, d, rowBlock, innerBlock, outerBlock);
        Assert.True((long)plan.RowBlock * plan.InnerBlock * plan.OuterBlock <= ctx.N);
        var alpha = TestSupport.RandomValues(rows * k, 1, rows * 3 + k);
        var delta = TestSupport.RandomValues(rows * d, 1, rows * 5 + d);
        var inputs = new List<Ciphertext>();
        for (int rb = 0; rb < plan.RowBlocks; rb++)
            for (int jb = 0; jb < plan.OuterBlocks; jb++)
                inputs.Add(keys.Encryptor.Encrypt(keys.Encoder.EncodeCoefficients(plan.PackInput(delta, 1.0, rb, jb), Scale)));
        var products = new PackedMatrixProducts(ctx, maxDegreeOfParallelism: 2);
        var outputs = products.CoefficientBatchSumProduct(inputs, alpha, WeightBits, plan);
        Assert.Equal(plan.OutputCount, outputs.Length);
        Assert.Equal(0, products.RotationCount);
        var decoded = outputs.Select(o =>
        {
            keys.Evaluator.RescaleToNextInplace(o);
            var c = new double[ctx.N];
            keys.Encoder.DecodeCoefficients(keys.Decryptor.Decrypt(o), c);
            return c;
        }).ToList();
        var got = plan.UnpackOutputs(decoded);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < d; j++)
            {
                double expected = 0;
                for (int b = 0; b < rows; b++) expected += alpha[b * k + i] * delta[b * d + j];
                Assert.True(Math.Abs(expected - got[i * d + j]) < 1e-3, $"result ({i}, {j}): expected {expected}, got {got[i * d + j]}");
            }
    }

    [Fact]
    public void Cost_model_picks_dense_blocks_at_the_protocol_shape()
    {
        var plan = CoefficientBatchSumPlan.Choose(8192, 4096, 128, 64);
        Assert.Equal(8192, plan.RowBlock * plan.InnerBlock * plan.OuterBlock);
        Assert.Equal(4096, plan.ProductCount); // rows * k * d / N: every coefficient of every product is used
        Assert.True(plan.InputCount <= 256 && plan.OutputCount <= 128, $"{plan.InputCount} inputs, {plan.OutputCount} outputs");
    }

    [Fact]
    public void Cross_terms_reveal_alpha_without_the_mask_and_are_uniform_with_it()
    {
        // The key owner knows delta; the cross coefficients are linear in alpha. Without the mask it reads them
        // (the attack: a known delta of one nonzero entry turns a cross coefficient into one entry of alpha);
        // with the mask the non-result coefficients are uniform mod q and the results are unchanged.
        var keys = Shared.Value;
        var ctx = keys.Context;
        var plan = new CoefficientBatchSumPlan(ctx.N, 64, 4, 2, 64, 4, 2);
        var alpha = TestSupport.RandomValues(64 * 4, 1, 7);
        var delta = new double[64 * 2];
        delta[0] = 1.0; // row 0, column 0
        var input = keys.Encryptor.Encrypt(keys.Encoder.EncodeCoefficients(plan.PackInput(delta, 1.0, 0, 0), Scale));
        var products = new PackedMatrixProducts(ctx, 1);

        double[] Decrypt(Ciphertext o)
        {
            var c = new double[ctx.N];
            keys.Encoder.DecodeCoefficients(keys.Decryptor.Decrypt(o), c);
            return c;
        }

        var plain = products.CoefficientBatchSumProduct([input], alpha, WeightBits, plan)[0];
        keys.Evaluator.RescaleToNextInplace(plain);
        var open = Decrypt(plain);
        // Coefficient RowBlock - 1 - b of the (i = 0, j = 0) block holds alpha[b, 0] * delta[0, 0]: alpha leaks.
        for (int b = 1; b < 64; b++) Assert.True(Math.Abs(open[63 - b] - alpha[b * 4]) < 1e-3, $"row {b}: the unmasked cross term is alpha");

        var masked = products.CoefficientBatchSumProduct([input], alpha, WeightBits, plan)[0];
        keys.Evaluator.RescaleToNextInplace(masked);
        UnusedCoefficientMask.AddTo(masked, plan.ResultCoefficients(0, 0));
        var seen = Decrypt(masked);
        var results = plan.UnpackOutputs([seen]);
        Assert.True(Math.Abs(results[0] - alpha[0]) < 1e-3, "the result itself survives the mask");
        // A uniform value over about ±256 lands within 1 of alpha with chance about 1/256, so by chance alone ~0.25 of
        // the 63 do (3 happened once); 9 or more has a chance below 1e-10. Unmasked, all 63 are.
        int near = Enumerable.Range(1, 63).Count(b => Math.Abs(seen[63 - b] - alpha[b * 4]) < 1);
        Assert.True(near <= 8, $"{near} of 63 cross terms still near alpha after masking");
        // Uniform mod q at scale 2^30 and level 0 (39 bits): typical |value| ~ 2^38 / 2^30 = 256, not ~1.
        double meanAbs = Enumerable.Range(0, ctx.N).Where(c => !plan.ResultCoefficients(0, 0)[c]).Average(c => Math.Abs(seen[c]));
        Assert.True(meanAbs > 50, $"masked cross terms have mean |value| {meanAbs:F2}; expected uniform over the modulus");
    }
}
