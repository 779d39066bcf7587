using BenchmarkDotNet.Attributes;
using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Keys;
using Federated.Crypto.Ckks.Serialization;

namespace Federated.Ckks.Benchmarks;

/// <summary>Single-thread CKKS operations on fresh top-level ciphertexts, as in seal-reference.md.</summary>
[Config(typeof(ShortConfig))]
public class CoreOpsBenchmarks
{
    [Params("N8192", "N16384")]
    public string Set { get; set; } = "N8192";

    private Fixture _f = null!;
    private double[] _values = null!;
    private Plaintext _pt = null!, _ptOut = null!;
    private Ciphertext _ct = null!, _ct2 = null!, _out = null!, _seeded = null!;
    private GaloisKeys _galois = null!;
    private byte[] _serialized = null!, _buffer = null!;
    private double[] _decoded = null!;

    [GlobalSetup]
    public void Setup()
    {
        _f = new Fixture(Set);
        _values = _f.Values(1);
        _pt = _f.Encoder.Encode(_values, _f.Scale);
        _ptOut = new Plaintext(_f.Context, _f.Context.MaxLevel, _f.Scale);
        _ct = _f.Encryptor.Encrypt(_pt);
        _ct2 = _f.Encryptor.Encrypt(_f.Encoder.Encode(_f.Values(2), _f.Scale));
        _out = _ct.Clone();
        _seeded = _f.Encryptor.EncryptSymmetric(_pt);
        _galois = _f.KeyGen.CreateGaloisKeys([1]);
        _serialized = CkksSerializer.Serialize(_ct);
        _buffer = new byte[_serialized.Length];
        _decoded = new double[_f.Context.SlotCount];
    }

    [Benchmark] public void Encode() => _f.Encoder.Encode(_values, _f.Scale, _ptOut);
    [Benchmark] public void EncodeScalar() => _f.Encoder.Encode(0.75, _f.Scale, _ptOut);
    [Benchmark] public void EncryptPublic() => _f.Encryptor.Encrypt(_pt, _out);
    [Benchmark] public void EncryptSymmetric() => _f.Encryptor.EncryptSymmetricInto(_pt, _out);
    [Benchmark] public void Decrypt() => _f.Decryptor.Decrypt(_ct, _ptOut);
    [Benchmark] public void Decode() => _f.Encoder.Decode(_pt, _decoded);
    [Benchmark] public void Add() => _f.Evaluator.Add(_ct, _ct2, _out);
    [Benchmark] public void AddPlain() => _f.Evaluator.AddPlain(_ct, _pt, _out);
    [Benchmark] public void MultiplyPlain() => _f.Evaluator.MultiplyPlain(_ct, _pt, _out);
    [Benchmark] public void MultiplyScalar() => _f.Evaluator.MultiplyScalar(_ct, 0.731, 30, _out);

    [Benchmark]
    public void Rescale()
    {
        // Copy (memcpy of 2 x L x N words) plus rescale; the copy is a few percent of the total.
        _ct.CopyTo(_out);
        _f.Evaluator.RescaleToNextInplace(_out);
    }

    [Benchmark] public void Rotate1() => _f.Evaluator.Rotate(_ct, 1, _galois, _out);
    [Benchmark] public PublicKey KeygenPublic() => _f.KeyGen.CreatePublicKey();
    [Benchmark] public GaloisKeys KeygenGaloisOneStep() => _f.KeyGen.CreateGaloisKeys([1]);
    [Benchmark] public int SerializeCiphertext() => CkksSerializer.Serialize(_ct, _buffer);
    [Benchmark] public void DeserializeCiphertext() => CkksSerializer.DeserializeCiphertext(_f.Context, _serialized, _out);
}
