using Federated.Crypto.Psi;

namespace Federated.Psi.Tests;

public sealed class PsiIntersectionTests
{
    [Theory]
    [InlineData(1000, 1000, 0.0)]
    [InlineData(1000, 1000, 0.5)]
    [InlineData(1000, 1000, 1.0)]
    [InlineData(0, 800, 0.0)]
    [InlineData(800, 0, 0.0)]
    [InlineData(1500, 700, 0.5)]
    public async Task Intersection_equals_the_plain_set_intersection_and_both_sides_get_the_same_rows(int sizeM, int sizeE, double overlap)
    {
        using var h = new PsiHarness();
        var (m, e, _) = PsiHarness.Sets(sizeM, sizeE, overlap);
        var expected = m.Intersect(e).ToHashSet();

        var (rm, re) = await h.RunAsync(m, e, "job");

        Assert.Equal(expected.Count, rm.IntersectionSize);
        Assert.Equal(expected.Count, re.IntersectionSize);
        var keysM = File.ReadAllLines(rm.AlignedKeysPath);
        var keysE = File.ReadAllLines(re.AlignedKeysPath);
        Assert.Equal(expected.OrderBy(x => x, StringComparer.Ordinal), keysM.OrderBy(x => x, StringComparer.Ordinal));
        // Same rows in the same order on both sides.
        Assert.Equal(keysM, keysE);
        Assert.Equal(File.ReadAllBytes(rm.AlignedKeysPath), File.ReadAllBytes(re.AlignedKeysPath));
        // The canonical order is by double-blinded value, not the input order of either party.
        if (expected.Count > 50)
        {
            Assert.NotEqual(m.Where(expected.Contains).ToArray(), keysM);
            Assert.NotEqual(e.Where(expected.Contains).ToArray(), keysE);
        }
        // Row -> source position files point at the same IDs.
        AssertIndexFile(rm.AlignedSourceIndexPath, m, keysM);
        AssertIndexFile(re.AlignedSourceIndexPath, e, keysE);

        Assert.Equal(rm.JointSeed, re.JointSeed);
        Assert.Equal(rm.StateId, re.StateId);
        Assert.Equal(sizeE, rm.PeerIdCount);
        Assert.Equal(sizeM, re.PeerIdCount);
    }

    [Fact]
    public async Task No_message_exceeds_the_configured_chunk()
    {
        using var h = new PsiHarness();
        var (m, e, _) = PsiHarness.Sets(1200, 1100, 0.9);
        const int chunk = 100;
        await h.RunAsync(m, e, "chunks", f => new PsiOptions { Domain = "d", JobFolder = f, ChunkPoints = chunk });

        int largest = h.Transcript.Max(t => t.Message.Payload.Length);
        Assert.True(largest <= 8 + 36 * chunk, $"largest message {largest} bytes");
        // The bulk data really was split: M's 1200 points need 12 chunks.
        Assert.Equal(12, h.Transcript.Count(t => t.Direction == "A->B" && t.Message.MessageType == "psi.blinded"));
        Assert.Equal(12, h.Transcript.Count(t => t.Direction == "B->A" && t.Message.MessageType == "psi.reblinded"));
    }

    [Fact]
    public async Task The_joint_seed_gives_both_parties_the_same_epoch_order()
    {
        using var h = new PsiHarness();
        var (m, e, _) = PsiHarness.Sets(300, 300, 0.5);
        var (rm, re) = await h.RunAsync(m, e, "seed");
        var (rm2, _) = await h.RunAsync(m, e, "seed2");

        var p0 = JointSeed.EpochPermutation(rm.JointSeed, 0, 150);
        Assert.Equal(p0, JointSeed.EpochPermutation(re.JointSeed, 0, 150));
        Assert.Equal(Enumerable.Range(0, 150), p0.Order());
        Assert.NotEqual(p0, JointSeed.EpochPermutation(rm.JointSeed, 1, 150));
        // A new job gets a fresh seed.
        Assert.NotEqual(rm.JointSeed, rm2.JointSeed);
    }

    private static void AssertIndexFile(string path, List<string> source, string[] keys)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(keys.Length * 8, bytes.Length);
        for (int r = 0; r < keys.Length; r++)
            Assert.Equal(keys[r], source[(int)BitConverter.ToInt64(bytes, r * 8)]);
    }
}
