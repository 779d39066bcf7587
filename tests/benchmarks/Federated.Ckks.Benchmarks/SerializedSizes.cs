using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Serialization;

namespace Federated.Ckks.Benchmarks;

/// <summary>Prints serialized sizes for both reference parameter sets (compare with seal-reference.md).</summary>
public static class SerializedSizes
{
    public static void Print()
    {
        Console.WriteLine("| object | N=8192 | N=16384 |");
        Console.WriteLine("|---|---:|---:|");
        var rows = new Dictionary<string, long[]>();
        string[] sets = ["N8192", "N16384"];
        for (int s = 0; s < sets.Length; s++)
        {
            var f = new Fixture(sets[s]);
            var pt = f.Encoder.Encode(f.Values(1), f.Scale);
            var ct = f.Encryptor.Encrypt(pt);
            var rescaled = ct.Clone();
            f.Evaluator.RescaleToNextInplace(rescaled);
            void Add(string name, long v) { if (!rows.TryGetValue(name, out var a)) rows[name] = a = new long[2]; a[s] = v; }
            Add("fresh ciphertext", CkksSerializer.Serialize(ct).Length);
            Add("after one rescale", CkksSerializer.Serialize(rescaled).Length);
            Add("seeded symmetric ciphertext", CkksSerializer.Serialize(f.Encryptor.EncryptSymmetric(pt)).Length);
            Add("plaintext (top level)", CkksSerializer.Serialize(pt).Length);
            Add("public key", CkksSerializer.Serialize(f.PublicKey).Length);
            Add("Galois key, one step", CkksSerializer.Serialize(f.KeyGen.CreateGaloisKeys([1])).Length);
        }
        foreach (var (name, v) in rows) Console.WriteLine($"| {name} | {v[0]:N0} | {v[1]:N0} |");
    }
}
