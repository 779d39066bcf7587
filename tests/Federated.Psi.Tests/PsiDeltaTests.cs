using Federated.Crypto.Psi;

namespace Federated.Psi.Tests;

public sealed class PsiDeltaTests
{
    private static Func<string, PsiOptions> Options(Func<string, string?>? previous = null, Func<string, string?>? reuse = null) =>
        folder => new PsiOptions
        {
            Domain = "delta-alignment",
            JobFolder = folder,
            ChunkPoints = 64,
            PreviousJobFolder = previous?.Invoke(folder),
            ReuseKeysFrom = reuse?.Invoke(folder),
            MessageTimeout = TimeSpan.FromSeconds(30),
        };

    private static string Side(string folder) => folder[^2..]; // "-m" or "-e"

    [Fact]
    public async Task Delta_round_processes_only_new_ids_and_equals_a_full_psi_on_the_union()
    {
        using var h = new PsiHarness();
        var (m1, e1, _) = PsiHarness.Sets(800, 700, 0.5);
        var (m2, e2, _) = PsiHarness.Sets(300, 250, 0.4);
        // New IDs of one side that match old IDs of the other, so all four cross terms occur.
        m2.AddRange(e1.Where(x => !m1.Contains(x)).Take(40));
        e2.AddRange(m1.Where(x => !e1.Contains(x)).Take(30));
        var mAll = m1.Concat(m2).ToList();
        var eAll = e1.Concat(e2).ToList();
        // Round 2's sources list old and new IDs in a new order.
        mAll.Reverse();

        var (r1m, r1e) = await h.RunAsync(m1, e1, "round1", Options());
        var (r2m, r2e) = await h.RunAsync(mAll, eAll, "round2", Options(previous: f => h.Folder("round1" + Side(f))));

        // Only new IDs were blinded and sent.
        int Points(string dir, string type) => h.Transcript.Where(t => t.Direction == dir && t.Message.MessageType == type).Sum(t => (t.Message.Payload.Length - 8) / 32);
        Assert.Equal(m2.Count, Points("A->B", "psi.blinded"));
        Assert.Equal(e2.Count, Points("B->A", "psi.blinded"));
        Assert.Equal(m2.Count, Points("B->A", "psi.reblinded"));
        Assert.Equal(2, r2m.Round);
        Assert.Equal(m2.Count, r2m.OwnNewIdCount);
        Assert.Equal(eAll.Count, r2m.PeerIdCount);

        var expected = mAll.Intersect(eAll).Order(StringComparer.Ordinal).ToList();
        var keysM = File.ReadAllLines(r2m.AlignedKeysPath);
        Assert.Equal(expected, keysM.Order(StringComparer.Ordinal));
        Assert.Equal(keysM, File.ReadAllLines(r2e.AlignedKeysPath));
        Assert.True(expected.Count > r1m.IntersectionSize + 60);

        // A full PSI on the union with the same keys yields exactly the same rows in the same order.
        var (fm, fe) = await h.RunAsync(mAll, eAll, "full", Options(reuse: f => h.Folder("round1" + Side(f))));
        Assert.Equal(File.ReadAllBytes(fm.AlignedKeysPath), File.ReadAllBytes(r2m.AlignedKeysPath));
        Assert.Equal(File.ReadAllBytes(fe.AlignedKeysPath), File.ReadAllBytes(r2e.AlignedKeysPath));
        Assert.Equal(m2.Count + m1.Count, Points("A->B", "psi.blinded"));

        // A third round with nothing new sends no points and keeps the result.
        var (r3m, r3e) = await h.RunAsync(mAll, eAll, "round3", Options(previous: f => h.Folder("round2" + Side(f))));
        Assert.Equal(0, Points("A->B", "psi.blinded") + Points("B->A", "psi.blinded"));
        Assert.Equal(File.ReadAllBytes(r2m.AlignedKeysPath), File.ReadAllBytes(r3m.AlignedKeysPath));
        Assert.Equal(3, r3e.Round);
        _ = r1e;
    }

    [Fact]
    public async Task Delta_round_without_an_earlier_id_is_rejected()
    {
        using var h = new PsiHarness();
        var (m1, e1, _) = PsiHarness.Sets(200, 200, 0.5);
        await h.RunAsync(m1, e1, "r1", Options());
        var fewer = m1.Skip(3).ToList();
        var outcome = h.Start(fewer, e1, "r2", Options(previous: f => h.Folder("r1" + Side(f))));
        var ex = await Assert.ThrowsAsync<PsiInputException>(() => outcome.Music);
        Assert.Contains("3 IDs of earlier rounds are missing", ex.Message);
        Assert.Equal(Federated.Core.FailureCategory.Input, (await Assert.ThrowsAsync<Federated.Core.PeerAbortedException>(() => outcome.External)).PeerCategory);
    }

    [Fact]
    public async Task Delta_round_refuses_tampered_state_and_mismatched_rounds()
    {
        using var h = new PsiHarness();
        var (m1, e1, _) = PsiHarness.Sets(200, 200, 0.5);
        await h.RunAsync(m1, e1, "a1", Options());
        await h.RunAsync(m1, e1, "b1", Options());

        // E continues from another job than M: the hello exchange catches it.
        var outcome = h.Start(m1, e1, "mixed", Options(previous: f => h.Folder((Side(f) == "-m" ? "a1" : "b1") + Side(f))));
        var ex = await Assert.ThrowsAsync<Federated.Core.ProtocolViolationException>(() => outcome.Music);
        Assert.Contains("same previous job", ex.Message);
        await Assert.ThrowsAnyAsync<Exception>(() => outcome.External);

        // A changed state file is detected by its manifest hash.
        var peerFile = Path.Combine(h.Folder("a1-m"), "peer-values.bin");
        var bytes = File.ReadAllBytes(peerFile);
        bytes[^1] ^= 1;
        File.WriteAllBytes(peerFile, bytes);
        var outcome2 = h.Start(m1, e1, "tampered", Options(previous: f => h.Folder("a1" + Side(f))));
        var ex2 = await Assert.ThrowsAsync<PsiStateException>(() => outcome2.Music);
        Assert.Contains("does not match the SHA-256", ex2.Message);
        // The state is this party's own files: the peer hears an input failure, not the file or the hash.
        var peer2 = await Assert.ThrowsAsync<Federated.Core.PeerAbortedException>(() => outcome2.External);
        Assert.Equal(Federated.Core.FailureCategory.Input, peer2.PeerCategory);
        Assert.DoesNotContain("peer-values.bin", peer2.Message);
    }
}
