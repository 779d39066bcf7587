using System.Security.Cryptography;
using System.Text;
using Federated.Core;
using Federated.Crypto.Psi;

namespace Federated.Psi.Tests;

/// <summary>Runs both PSI roles in-process over an in-memory channel and records what each party received.</summary>
internal sealed class PsiHarness : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("psi-test-").FullName;

    /// <summary>(direction, message): "A->B" is M to E, "B->A" is E to M.</summary>
    public List<(string Direction, PeerMessage Message)> Transcript { get; } = [];

    public string Folder(string name) => Path.Combine(Root, name);

    public sealed record Outcome(Task<PsiResult> Music, Task<PsiResult> External);

    public async Task<(PsiResult M, PsiResult E)> RunAsync(
        IReadOnlyList<string> musicIds, IReadOnlyList<string> externalIds, string job,
        Func<string, PsiOptions>? options = null,
        Func<PeerMessage, PeerMessage>? tamperMusicSends = null,
        Func<PeerMessage, PeerMessage>? tamperExternalSends = null)
    {
        var outcome = Start(musicIds, externalIds, job, options, tamperMusicSends, tamperExternalSends);
        return (await outcome.Music, await outcome.External);
    }

    public Outcome Start(
        IReadOnlyList<string> musicIds, IReadOnlyList<string> externalIds, string job,
        Func<string, PsiOptions>? options = null,
        Func<PeerMessage, PeerMessage>? tamperMusicSends = null,
        Func<PeerMessage, PeerMessage>? tamperExternalSends = null)
    {
        Transcript.Clear();
        var (a, b) = InMemoryPeerChannel.CreatePair(transcript: (dir, m) => { lock (Transcript) Transcript.Add((dir, m)); });
        IPeerChannel m = tamperMusicSends is null ? a : new TamperingChannel(a, tamperMusicSends);
        IPeerChannel e = tamperExternalSends is null ? b : new TamperingChannel(b, tamperExternalSends);
        options ??= folder => new PsiOptions { Domain = "test-alignment", JobFolder = folder, ChunkPoints = 128, MessageTimeout = TimeSpan.FromSeconds(30) };
        var mTask = Task.Run(() => PsiMusicRole.RunAsync(m, IdSource.FromEnumerable(() => musicIds, "music test IDs"), options(Folder($"{job}-m"))));
        var eTask = Task.Run(() => PsiExternalRole.RunAsync(e, IdSource.FromEnumerable(() => externalIds, "external test IDs"), options(Folder($"{job}-e"))));
        return new Outcome(mTask, eTask);
    }

    /// <summary>Payloads the given party received.</summary>
    public List<byte[]> ReceivedBy(PsiRole role)
    {
        string dir = role == PsiRole.External ? "A->B" : "B->A";
        lock (Transcript) return Transcript.Where(t => t.Direction == dir).Select(t => t.Message.Payload.ToArray()).ToList();
    }

    public static List<string> RandomIds(int count, string tag)
    {
        // Letters outside [0-9a-f] so a raw ID can never hide in the hex of a control message by chance.
        const string alphabet = "ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ";
        var ids = new HashSet<string>();
        while (ids.Count < count)
        {
            var sb = new StringBuilder("user:").Append(tag).Append(':');
            for (int i = 0; i < 12; i++) sb.Append(alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)]);
            ids.Add(sb.ToString());
        }
        return ids.ToList();
    }

    /// <summary>Two lists with the given sizes sharing round(overlap x min size) IDs, in random order.</summary>
    public static (List<string> M, List<string> E, HashSet<string> Common) Sets(int sizeM, int sizeE, double overlap)
    {
        int common = (int)Math.Round(overlap * Math.Min(sizeM, sizeE));
        var shared = RandomIds(common, "c");
        var m = shared.Concat(RandomIds(sizeM - common, "m")).OrderBy(_ => RandomNumberGenerator.GetInt32(int.MaxValue)).ToList();
        var e = shared.Concat(RandomIds(sizeE - common, "e")).OrderBy(_ => RandomNumberGenerator.GetInt32(int.MaxValue)).ToList();
        return (m, e, shared.ToHashSet());
    }

    /// <summary>True if any needle occurs anywhere in any payload, byte for byte.</summary>
    public static bool ContainsAny(IEnumerable<byte[]> payloads, IEnumerable<byte[]> needles)
    {
        var list = needles.ToList();
        foreach (var p in payloads)
            foreach (var n in list)
                if (p.AsSpan().IndexOf(n) >= 0) return true;
        return false;
    }

    public static byte[] HashOf(string domain, string id)
    {
        var point = new byte[32];
        Ristretto255.HashToGroup(Ristretto255.DomainPrefix(domain), id, point);
        return point;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Changes messages on their way out, to show how a role reacts to a malformed or misordered peer.</summary>
internal sealed class TamperingChannel(IPeerChannel inner, Func<PeerMessage, PeerMessage> tamper) : IPeerChannel
{
    public ValueTask SendAsync(PeerMessage message, CancellationToken cancellationToken) => inner.SendAsync(tamper(message), cancellationToken);
    public ValueTask<PeerMessage> ReceiveAsync(CancellationToken cancellationToken) => inner.ReceiveAsync(cancellationToken);
}
