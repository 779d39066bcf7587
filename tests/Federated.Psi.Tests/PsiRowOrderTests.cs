using Federated.Crypto.Psi;

namespace Federated.Psi.Tests;

public sealed class PsiRowOrderTests
{
    [Fact]
    public async Task Rows_are_ordered_by_the_double_blinded_value()
    {
        using var h = new PsiHarness();
        var (m, e, _) = PsiHarness.Sets(500, 400, 0.5);
        var (rm, re) = await h.RunAsync(m, e, "order");

        // Recompute H(id)^ab from both parties' persisted scalars (layout: 8-byte magic, role byte, 32-byte scalar).
        var a = File.ReadAllBytes(Path.Combine(rm.JobFolder, "secret-keys.bin")).AsSpan(9, 32).ToArray();
        var b = File.ReadAllBytes(Path.Combine(re.JobFolder, "secret-keys.bin")).AsSpan(9, 32).ToArray();
        Assert.NotEqual(a, b);
        var rows = File.ReadAllLines(rm.AlignedKeysPath);
        Assert.Equal(200, rows.Length);
        byte[]? previous = null;
        foreach (var id in rows)
        {
            var ha = new byte[32];
            var hab = new byte[32];
            Assert.True(Ristretto255.TryMultiply(a, PsiHarness.HashOf("test-alignment", id), ha));
            Assert.True(Ristretto255.TryMultiply(b, ha, hab));
            if (previous is not null) Assert.True(previous.AsSpan().SequenceCompareTo(hab) < 0, "rows are not in ascending H(id)^ab order");
            previous = hab;
        }
    }

    [Fact]
    public async Task A_source_that_changes_between_reads_is_rejected()
    {
        using var h = new PsiHarness();
        var (m, e, _) = PsiHarness.Sets(300, 300, 0.5);
        int reads = 0;
        var (a, b) = Federated.Core.InMemoryPeerChannel.CreatePair();
        var changing = IdSource.FromEnumerable(() => Interlocked.Increment(ref reads) == 1 ? m : m.Skip(1), "changing source");
        var tm = PsiParty.RunAsync(PsiRole.Music, a, changing, new PsiOptions { Domain = "d", JobFolder = h.Folder("cm") });
        var te = PsiParty.RunAsync(PsiRole.External, b, IdSource.FromEnumerable(() => e), new PsiOptions { Domain = "d", JobFolder = h.Folder("ce") });
        var ex = await Assert.ThrowsAsync<PsiInputException>(() => tm);
        Assert.Contains("the source must be stable", ex.Message);
        Assert.Equal(Federated.Core.FailureCategory.Input, (await Assert.ThrowsAsync<Federated.Core.PeerAbortedException>(() => te)).PeerCategory);
    }
}
