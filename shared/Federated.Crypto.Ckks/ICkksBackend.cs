using Federated.Crypto.Ckks.Keys;
using Federated.Crypto.Ckks.Packing;
using Federated.Crypto.Ckks.Protocol;

namespace Federated.Crypto.Ckks;

/// <summary>
/// The CKKS operations the protocol roles use, over this library's RNS/NTT data types. Protocol code depends on this
/// interface only, so a native backend (for example one that runs the same RNS/NTT buffers through a C++ or GPU
/// kernel) can be added without touching it. <see cref="ManagedCkksBackend"/> is the managed implementation.
/// </summary>
public interface ICkksBackend
{
    string Name { get; }
    CkksContext Context { get; }

    Plaintext Encode(ReadOnlySpan<double> values, double scale, int level);
    double[] Decode(Plaintext plaintext);

    Ciphertext Encrypt(Plaintext plaintext, PublicKey publicKey);
    /// <summary>Seeded symmetric encryption (compact upload).</summary>
    Ciphertext EncryptSymmetric(Plaintext plaintext, SecretKey secretKey);
    Plaintext Decrypt(Ciphertext ciphertext, SecretKey secretKey);

    void AddInplace(Ciphertext a, Ciphertext b);
    void AddPlainInplace(Ciphertext a, Plaintext b);
    void MultiplyPlainInplace(Ciphertext a, Plaintext b);
    void MultiplyScalarInplace(Ciphertext a, double w, int bits);
    void RescaleToNextInplace(Ciphertext a);
    void ModSwitchToInplace(Ciphertext a, int level);
    Ciphertext Rotate(Ciphertext a, int step, GaloisKeys keys);

    /// <summary>Forward product alpha * W on column-packed ciphertexts (rotation-free).</summary>
    Ciphertext[] ColumnPackedProduct(IReadOnlyList<Ciphertext> inputColumns, double[] weights, int outputColumns, int weightBits, ColumnPacking layout);
    BatchSumPlan PlanBatchSum(int batchRows, int innerColumns);
    /// <summary>Backward product alpha^T * delta (BSGS rotations; keys for plan.RequiredSteps).</summary>
    Ciphertext[] BatchSumProduct(IReadOnlyList<Ciphertext> deltaColumns, double[] alpha, int alphaBits, GaloisKeys keys, BatchSumPlan plan);
    long RotationCount { get; }

    void RerandomizeInplace(Ciphertext ciphertext, PublicKey receiverPublicKey);
    RingMask SampleMask(int level);
    void Flood(Plaintext share, double sigma);
}

/// <summary>The managed implementation of <see cref="ICkksBackend"/>.</summary>
public sealed class ManagedCkksBackend : ICkksBackend
{
    private readonly CkksEncoder _encoder;
    private readonly Evaluator _evaluator;
    private readonly PackedMatrixProducts _products;

    public ManagedCkksBackend(CkksContext context, int maxDegreeOfParallelism = -1)
    {
        Context = context ?? throw new ArgumentNullException(nameof(context));
        _encoder = new CkksEncoder(context);
        _evaluator = new Evaluator(context);
        _products = new PackedMatrixProducts(context, maxDegreeOfParallelism);
    }

    public string Name => "managed";
    public CkksContext Context { get; }

    public Plaintext Encode(ReadOnlySpan<double> values, double scale, int level) => _encoder.Encode(values, scale, level);
    public double[] Decode(Plaintext plaintext) => _encoder.Decode(plaintext);
    public Ciphertext Encrypt(Plaintext plaintext, PublicKey publicKey) => new Encryptor(Context, publicKey).Encrypt(plaintext);
    public Ciphertext EncryptSymmetric(Plaintext plaintext, SecretKey secretKey) => new Encryptor(Context, secretKey).EncryptSymmetric(plaintext);
    public Plaintext Decrypt(Ciphertext ciphertext, SecretKey secretKey) => new Decryptor(Context, secretKey).Decrypt(ciphertext);
    public void AddInplace(Ciphertext a, Ciphertext b) => _evaluator.AddInplace(a, b);
    public void AddPlainInplace(Ciphertext a, Plaintext b) => _evaluator.AddPlainInplace(a, b);
    public void MultiplyPlainInplace(Ciphertext a, Plaintext b) => _evaluator.MultiplyPlainInplace(a, b);
    public void MultiplyScalarInplace(Ciphertext a, double w, int bits) => _evaluator.MultiplyScalarInplace(a, w, bits);
    public void RescaleToNextInplace(Ciphertext a) => _evaluator.RescaleToNextInplace(a);
    public void ModSwitchToInplace(Ciphertext a, int level) => _evaluator.ModSwitchToInplace(a, level);
    public Ciphertext Rotate(Ciphertext a, int step, GaloisKeys keys) => _evaluator.Rotate(a, step, keys);

    public Ciphertext[] ColumnPackedProduct(IReadOnlyList<Ciphertext> inputColumns, double[] weights, int outputColumns, int weightBits, ColumnPacking layout) =>
        _products.ColumnPackedProduct(inputColumns, weights, outputColumns, weightBits, layout);
    public BatchSumPlan PlanBatchSum(int batchRows, int innerColumns) => _products.PlanBatchSum(batchRows, innerColumns);
    public Ciphertext[] BatchSumProduct(IReadOnlyList<Ciphertext> deltaColumns, double[] alpha, int alphaBits, GaloisKeys keys, BatchSumPlan plan) =>
        _products.BatchSumProduct(deltaColumns, alpha, alphaBits, keys, plan);
    public long RotationCount => _evaluator.RotationCount + _products.RotationCount;

    public void RerandomizeInplace(Ciphertext ciphertext, PublicKey receiverPublicKey) => new Rerandomizer(Context, receiverPublicKey).RerandomizeInplace(ciphertext);
    public RingMask SampleMask(int level) => RingMask.Sample(Context, level);
    public void Flood(Plaintext share, double sigma) => NoiseFlooding.AddTo(share, sigma);
}
