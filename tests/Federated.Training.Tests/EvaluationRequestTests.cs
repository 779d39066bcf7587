using System.Buffers.Binary;
using Federated.Core;
using Federated.Crypto.Psi;
using Federated.Training.Jobs;

namespace Federated.Training.Tests;

/// <summary>docs/protocol.md §4: M's evaluation request is padded with decoys E cannot tell from the wanted users.</summary>
public sealed class EvaluationRequestTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("eval-request-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string[] Ids(string tag, int count) => Enumerable.Range(0, count).Select(i => $"{tag}-{i:D4}").ToArray();

    private async Task<(PsiResult M, PsiResult E)> MusicOnlyPsiAsync(string[] query, string[] external)
    {
        var (a, b) = InMemoryPeerChannel.CreatePair();
        PsiOptions Options(string name) => new() { Domain = "eval-test", JobFolder = Path.Combine(_root, name), IntersectionForMusicOnly = true, MessageTimeout = TimeSpan.FromSeconds(30) };
        var m = Task.Run(() => PsiMusicRole.RunAsync(a, IdSource.FromEnumerable(() => query, "M query"), Options("m")));
        var e = Task.Run(() => PsiExternalRole.RunAsync(b, IdSource.FromEnumerable(() => external, "E users"), Options("e")));
        return (await m, await e);
    }

    [Fact]
    public async Task Wanted_users_come_back_padded_with_decoys_from_e_s_users_unknown_to_m()
    {
        // E: 300 users M knows, 100 cold users M wants ranked (of which E has 80), 150 users only E has.
        var known = Ids("known", 300);
        var wanted = Ids("cold", 100);
        var externalOnly = Ids("e-only", 150);
        var external = known.Concat(wanted.Take(80)).Concat(externalOnly).OrderBy(id => id.GetHashCode(StringComparison.Ordinal)).ToArray();
        var wantedSet = wanted.ToHashSet(StringComparer.Ordinal);
        var (m, e) = await MusicOnlyPsiAsync([.. wanted, .. known.Take(250), .. Ids("m-only", 40)], external);

        var request = EvaluationRequest.Build(m, wantedSet, decoysPerUser: 1);
        var rows = EvaluationRequest.ResolveRows(request.ToPayload(), e);
        Assert.Equal(160, rows.Length);
        Assert.Equal(80, request.WantedCount);
        var requestedKeys = rows.Select(r => external[r]).ToArray();
        for (int i = 0; i < rows.Length; i++)
            if (request.Users[i] is { } user) Assert.Equal(user, requestedKeys[i]); // E serves the row M meant
        var decoys = requestedKeys.Where((_, i) => request.Users[i] is null).ToArray();
        Assert.Equal(80, decoys.Length);
        // Decoys are E users M does not know (the 50 known users M left out of its query could be picked: M
        // cannot tell them from unknown ones either, and they are not wanted).
        Assert.All(decoys, d => Assert.DoesNotContain(d, wantedSet));
        Assert.All(decoys, d => Assert.DoesNotContain(d, known.Take(250)));
        // Wanted and decoys are interleaved, not wanted first.
        Assert.Contains(request.Users.Take(80), u => u is null);
    }

    [Fact]
    public async Task Decoys_are_capped_by_e_s_users_unknown_to_m_and_can_be_turned_off()
    {
        var wanted = Ids("cold", 20);
        var external = wanted.Concat(Ids("e-only", 5)).ToArray();
        var (m, e) = await MusicOnlyPsiAsync(wanted, external);
        var capped = EvaluationRequest.Build(m, wanted.ToHashSet(), decoysPerUser: 3);
        Assert.Equal(25, EvaluationRequest.ResolveRows(capped.ToPayload(), e).Length);
        var none = EvaluationRequest.Build(m, wanted.ToHashSet(), decoysPerUser: 0);
        Assert.Equal(20, none.Ordinals.Count);
    }

    [Fact]
    public async Task E_rejects_a_request_with_an_unknown_or_repeated_ordinal()
    {
        var (m, e) = await MusicOnlyPsiAsync(Ids("u", 10), Ids("u", 10));
        var payload = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, 3);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), 3);
        Assert.Contains("requested twice", Assert.Throws<ProtocolViolationException>(() => EvaluationRequest.ResolveRows(payload, e)).Message);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), 10);
        Assert.Contains("names ordinal 10", Assert.Throws<ProtocolViolationException>(() => EvaluationRequest.ResolveRows(payload, e)).Message);
        Assert.Contains("uint32", Assert.Throws<ProtocolViolationException>(() => EvaluationRequest.ResolveRows(new byte[5], e)).Message);
        Assert.NotNull(m.PeerOrdinalsPath);
    }
}
