using Federated.Crypto.Ckks;
using Federated.Crypto.Ckks.Packing;

namespace Federated.Ckks.Tests;

public class BackendTests
{
    [Fact]
    public void Managed_backend_runs_the_protocol_operations_through_the_interface()
    {
        var k = TestSupport.CreateKeys(TestSupport.Small4096);
        ICkksBackend backend = new ManagedCkksBackend(k.Context, maxDegreeOfParallelism: 1);
        Assert.Equal("managed", backend.Name);
        double scale = Math.Pow(2, 30);
        int rows = k.Context.SlotCount;
        var a0 = TestSupport.RandomValues(rows, 1, 1);
        var a1 = TestSupport.RandomValues(rows, 1, 2);
        var cts = new[] { backend.EncryptSymmetric(backend.Encode(a0, scale, 1), k.Generator.SecretKey), backend.Encrypt(backend.Encode(a1, scale, 1), k.PublicKey) };
        var outs = backend.ColumnPackedProduct(cts, [0.5, -0.25], 1, 20, new ColumnPacking(k.Context.SlotCount, rows));
        backend.RerandomizeInplace(outs[0], k.PublicKey);
        var mask = backend.SampleMask(outs[0].Level);
        mask.ApplyTo(outs[0]);
        var share = backend.Decrypt(outs[0], k.Generator.SecretKey);
        backend.Flood(share, 8);
        var got = mask.Unmask(share, k.Encoder);
        double err = Enumerable.Range(0, rows).Max(i => Math.Abs(got[i] - (0.5 * a0[i] - 0.25 * a1[i])));
        Assert.True(err < 1e-4, $"error {err:E3}");
        Assert.Equal(0, backend.RotationCount);
    }
}
