using BenchmarkDotNet.Attributes;
using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Keys;
using Federated.Crypto.Ckks.Packing;

namespace Federated.Ckks.Benchmarks;

/// <summary>
/// Packed products at the protocol's shape: B = 4096 rows, k = 128, d = 64, N = 8192 {60,40,40,60}, scale 2^40,
/// weights as 30-bit integers; single thread and both cores.
/// </summary>
[Config(typeof(ShortConfig))]
public class PackedProductBenchmarks
{
    private const int Rows = 4096, K = 128, D = 64;

    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    private Fixture _f = null!;
    private PackedMatrixProducts _products = null!;
    private ColumnPacking _layout = null!;
    private List<Ciphertext> _alphaColumns = null!, _deltaColumns = null!;
    private double[] _weights = null!, _alpha = null!;
    private BatchSumPlan _plan = null!;
    private GaloisKeys _keys = null!;
    private CoefficientBatchSumPlan _coefficientPlan = null!;
    private List<Ciphertext> _deltaBlocks = null!;

    [GlobalSetup]
    public void Setup()
    {
        _f = new Fixture("N8192");
        _products = new PackedMatrixProducts(_f.Context, Threads);
        _layout = new ColumnPacking(_f.Context.SlotCount, Rows);
        _alpha = _f.Values(7).Concat(Enumerable.Range(0, K * Rows / _f.Context.SlotCount).SelectMany(i => _f.Values(8 + i))).Take(Rows * K).ToArray();
        _alphaColumns = Enumerable.Range(0, K).Select(i => _f.Encryptor.EncryptSymmetric(_f.Encoder.Encode(_layout.PackColumn(_alpha, K, i), _f.Scale))).ToList();
        _weights = Enumerable.Range(0, K * D).Select(i => Math.Sin(i)).ToArray();
        _deltaColumns = Enumerable.Range(0, D).Select(j => _f.Encryptor.EncryptSymmetric(_f.Encoder.Encode(_f.Values(200 + j), _f.Scale))).ToList();
        _plan = _products.PlanBatchSum(Rows, K);
        _keys = _f.KeyGen.CreateGaloisKeys(_plan.RequiredSteps);
        UseCoefficientPlan(CoefficientBatchSumPlan.Choose(_f.Context.N, Rows, K, D));
    }

    /// <summary>Encrypts delta in the given plan's blocks (the benchmark of the coefficient-packed product uses them).</summary>
    public void UseCoefficientPlan(CoefficientBatchSumPlan plan)
    {
        _coefficientPlan = plan;
        var delta = Enumerable.Range(0, D).SelectMany(j => _f.Values(200 + j)).Take(Rows * D).ToArray();
        _deltaBlocks = [];
        for (int rb = 0; rb < plan.RowBlocks; rb++)
            for (int jb = 0; jb < plan.OuterBlocks; jb++)
                _deltaBlocks.Add(_f.Encryptor.EncryptSymmetric(_f.Encoder.EncodeCoefficients(plan.PackInput(delta, 1.0, rb, jb), _f.Scale)));
    }

    [Benchmark] public Ciphertext[] ForwardColumnPacked() => _products.ColumnPackedProduct(_alphaColumns, _weights, D, 30, _layout);

    [Benchmark] public Ciphertext[] BackwardBatchSum() => _products.BatchSumProduct(_deltaColumns, _alpha, 30, _keys, _plan);

    /// <summary>The same alpha^T * delta by coefficient packing: no rotations (what the protocol uses).</summary>
    [Benchmark] public Ciphertext[] BackwardCoefficientBatchSum() => _products.CoefficientBatchSumProduct(_deltaBlocks, _alpha, 30, _coefficientPlan);
}
