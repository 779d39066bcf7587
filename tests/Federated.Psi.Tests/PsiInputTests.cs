using System.Text;
using Federated.Core;
using Federated.Crypto.Psi;

namespace Federated.Psi.Tests;

public sealed class PsiInputTests
{
    [Fact]
    public async Task Duplicate_ids_are_rejected_with_the_id_and_positions()
    {
        using var h = new PsiHarness();
        var (m, e, _) = PsiHarness.Sets(1000, 1000, 0.5);
        m[900] = m[5];
        var outcome = h.Start(m, e, "dup");

        var ex = await Assert.ThrowsAsync<PsiInputException>(() => outcome.Music);
        Assert.Contains($"duplicate ID '{m[5]}'", ex.Message);
        Assert.Contains("positions 5 and 900", ex.Message);
        var peer = await Assert.ThrowsAsync<PeerAbortedException>(() => outcome.External);
        Assert.Equal(FailureCategory.Input, peer.PeerCategory);
        Assert.Contains("music party", peer.Message);
        Assert.DoesNotContain(m[5], peer.Message); // the peer hears a category, not the ID
        // On the wire: one peer.abort from M, and it carries neither the ID nor anything of the local message.
        var aborts = h.Transcript.Where(t => PeerAbort.IsAbort(t.Message)).ToList();
        var abort = Assert.Single(aborts);
        Assert.Equal("A->B", abort.Direction);
        var body = Encoding.UTF8.GetString(abort.Message.Payload.Span);
        Assert.DoesNotContain(m[5], body);
        Assert.DoesNotContain("positions", body);
    }

    [Fact]
    public async Task Duplicates_on_the_external_side_are_rejected_too()
    {
        using var h = new PsiHarness();
        var (m, e, _) = PsiHarness.Sets(200, 200, 0.5);
        e[199] = e[0];
        e[198] = e[1];
        var outcome = h.Start(m, e, "dup-e");
        var ex = await Assert.ThrowsAsync<PsiInputException>(() => outcome.External);
        Assert.Contains("2 repeated entries", ex.Message);
        var peer = await Assert.ThrowsAsync<PeerAbortedException>(() => outcome.Music);
        Assert.Equal(FailureCategory.Input, peer.PeerCategory);
        Assert.Contains("external party", peer.Message);
    }

    [Fact]
    public async Task Ids_with_line_breaks_or_empty_ids_are_rejected()
    {
        using var h = new PsiHarness();
        var m = new List<string> { "a1", "b2\nc3" };
        var outcome = h.Start(m, ["x"], "linebreak");
        var ex = await Assert.ThrowsAsync<PsiInputException>(() => outcome.Music);
        Assert.Contains("position 1", ex.Message);
        Assert.Contains("line break", ex.Message);
        Assert.Equal(FailureCategory.Input, (await Assert.ThrowsAsync<PeerAbortedException>(() => outcome.External)).PeerCategory);

        var outcome2 = h.Start(["a", ""], ["x"], "empty");
        Assert.Contains("empty ID at position 1", (await Assert.ThrowsAsync<PsiInputException>(() => outcome2.Music)).Message);
    }

    [Fact]
    public async Task Ids_stream_from_an_asynchronous_source_read_once_per_pass()
    {
        using var h = new PsiHarness();
        var (m, e, common) = PsiHarness.Sets(300, 200, 0.5);
        int opens = 0;
        async IAsyncEnumerable<string> Slowly([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            Interlocked.Increment(ref opens);
            foreach (var id in m)
            {
                ct.ThrowIfCancellationRequested();
                await Task.Yield();
                yield return id;
            }
        }
        var (a, b) = InMemoryPeerChannel.CreatePair();
        PsiOptions O(string f) => new() { Domain = "async-source", JobFolder = h.Folder(f) };
        var tm = PsiParty.RunAsync(PsiRole.Music, a, IdSource.FromAsyncEnumerable(Slowly, "async test IDs"), O("am"));
        var te = PsiParty.RunAsync(PsiRole.External, b, IdSource.FromEnumerable(() => e), O("ae"));
        var rm = await tm;
        var re = await te;
        Assert.Equal(common.Order(StringComparer.Ordinal), File.ReadAllLines(rm.AlignedKeysPath).Order(StringComparer.Ordinal));
        Assert.Equal(File.ReadAllLines(rm.AlignedKeysPath), File.ReadAllLines(re.AlignedKeysPath));
        // Digests, blinding, then the aligned keys in two passes (measure, write): the IDs are never held in memory.
        Assert.Equal(4, opens);
    }

    [Fact]
    public async Task Ids_stream_from_a_file_and_the_job_folder_is_not_reused()
    {
        using var h = new PsiHarness();
        var (m, e, common) = PsiHarness.Sets(300, 200, 0.5);
        string fileM = h.Folder("m.txt"), fileE = h.Folder("e.txt");
        File.WriteAllText(fileM, string.Join("\r\n", m) + "\r\n");
        File.WriteAllText(fileE, string.Join("\n", e));
        var (a, b) = InMemoryPeerChannel.CreatePair();
        PsiOptions O(string f) => new() { Domain = "file-job", JobFolder = h.Folder(f) };
        var tm = PsiParty.RunAsync(PsiRole.Music, a, IdSource.FromFile(fileM), O("fm"));
        var te = PsiParty.RunAsync(PsiRole.External, b, IdSource.FromFile(fileE), O("fe"));
        var rm = await tm;
        await te;
        Assert.Equal(common.Order(StringComparer.Ordinal), File.ReadAllLines(rm.AlignedKeysPath).Order(StringComparer.Ordinal));

        var (a2, _) = InMemoryPeerChannel.CreatePair();
        var again = await Assert.ThrowsAsync<PsiStateException>(() => PsiParty.RunAsync(PsiRole.Music, a2, IdSource.FromFile(fileM), O("fm")));
        Assert.Contains("already holds a PSI result", again.Message);
    }
}
