using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Keys;

namespace Federated.Ckks.Benchmarks;

/// <summary>The two reference parameter sets of seal-reference.md, at scale 2^40.</summary>
public sealed class Fixture
{
    public CkksContext Context { get; }
    public KeyGenerator KeyGen { get; }
    public PublicKey PublicKey { get; }
    public Encryptor Encryptor { get; }
    public Decryptor Decryptor { get; }
    public CkksEncoder Encoder { get; }
    public Evaluator Evaluator { get; }
    public double Scale { get; } = Math.Pow(2, 40);

    public Fixture(string set)
    {
        int[] bits = set switch
        {
            "N8192" => [60, 40, 40, 60],
            "N16384" => [60, 40, 40, 40, 40, 40, 40, 60],
            _ => throw new ArgumentException($"unknown parameter set {set}"),
        };
        int n = set == "N8192" ? 8192 : 16384;
        Context = new CkksContext(EncryptionParameters.Create(n, bits));
        KeyGen = new KeyGenerator(Context);
        PublicKey = KeyGen.CreatePublicKey();
        Encryptor = new Encryptor(Context, PublicKey, KeyGen.SecretKey);
        Decryptor = new Decryptor(Context, KeyGen.SecretKey);
        Encoder = new CkksEncoder(Context);
        Evaluator = new Evaluator(Context);
    }

    public double[] Values(int seed)
    {
        var v = new double[Context.SlotCount];
        // Deterministic benchmark data (not key material).
        uint x = (uint)seed * 2654435761u + 1;
        for (int i = 0; i < v.Length; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; v[i] = x / (double)uint.MaxValue * 2 - 1; }
        return v;
    }
}
