using Federated.Crypto.Psi;

namespace Federated.Psi.Tests;

/// <summary>The M-only intersection (docs/protocol.md §4: M asks for rows it pads with decoys).</summary>
public sealed class PsiMusicOnlyTests
{
    private static Func<string, PsiOptions> MusicOnly(bool music = true, bool external = true) => folder => new PsiOptions
    {
        Domain = "eval", JobFolder = folder, ChunkPoints = 128, MessageTimeout = TimeSpan.FromSeconds(30),
        IntersectionForMusicOnly = folder.EndsWith("-m", StringComparison.Ordinal) ? music : external,
    };


    [Fact]
    public async Task Only_m_learns_the_matches_and_e_s_ordinals_name_the_same_ids()
    {
        using var h = new PsiHarness();
        var (m, e, common) = PsiHarness.Sets(700, 900, 0.5);
        var (rm, re) = await h.RunAsync(m, e, "m-only", MusicOnly());

        // M: the intersection, and for each row E's ordinal; E: nothing about which IDs matched.
        var aligned = File.ReadAllLines(rm.AlignedKeysPath);
        Assert.Equal(common.Order(StringComparer.Ordinal), aligned.Order(StringComparer.Ordinal));
        Assert.Equal(0, re.IntersectionSize);
        Assert.Empty(File.ReadAllLines(re.AlignedKeysPath));
        Assert.Null(re.PeerOrdinalsPath);
        Assert.Null(rm.OrdinalSourceIndexPath);
        Assert.DoesNotContain(h.Transcript, t => t.Message.MessageType == "psi.matches");

        // The ordinal M holds for a row is, at E, the position of the very same ID.
        var ordinals = IndexFile.Read(rm.PeerOrdinalsPath!);
        var sourceOfOrdinal = IndexFile.Read(re.OrdinalSourceIndexPath!);
        Assert.Equal(aligned.Length, ordinals.Length);
        Assert.Equal(e.Count, sourceOfOrdinal.Length);
        Assert.Equal(e.Count, sourceOfOrdinal.Distinct().Count());
        for (int row = 0; row < aligned.Length; row++)
            Assert.Equal(aligned[row], e[(int)sourceOfOrdinal[ordinals[row]]]);
    }

    [Fact]
    public async Task A_party_expecting_a_two_sided_intersection_refuses_an_m_only_peer()
    {
        using var h = new PsiHarness();
        var (m, e, _) = PsiHarness.Sets(50, 50, 0.5);
        var outcome = h.Start(m, e, "mismatch", MusicOnly(music: true, external: false));
        var error = await Assert.ThrowsAnyAsync<Exception>(() => outcome.External);
        Assert.Contains("M-only", error.Message);
        await Assert.ThrowsAnyAsync<Exception>(() => outcome.Music);
    }

    [Fact]
    public async Task An_m_only_intersection_is_not_a_delta_round()
    {
        var (a, _) = Federated.Core.InMemoryPeerChannel.CreatePair();
        var options = new PsiOptions { Domain = "x", JobFolder = Path.Combine(Path.GetTempPath(), "psi-m-only-delta"), IntersectionForMusicOnly = true, PreviousJobFolder = "z" };
        var error = await Assert.ThrowsAsync<ArgumentException>(() => PsiMusicRole.RunAsync(a, IdSource.FromEnumerable(() => ["u1"], "test"), options));
        Assert.Contains("delta", error.Message);
    }
}
