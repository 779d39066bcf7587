using System.Text;
using Federated.Core;
using Federated.Training.Jobs;
using Federated.Training.Tests.Support;

namespace Federated.Training.Tests;

/// <summary>A training job speaks Core's one abort convention (<see cref="PeerAbort"/>) in both directions.</summary>
public sealed class PeerAbortTests : IDisposable
{
    private readonly string _work = TestWorlds.NewFolder("peer-abort");

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task A_party_whose_input_fails_sends_its_peer_a_category_only_peer_abort()
    {
        var (mine, peer) = InMemoryPeerChannel.CreatePair();
        var missing = Path.Combine(_work, "no-such-data-folder");
        var job = ExternalPartyJob.RunAsync(mine, new PartyJobPaths(missing, Path.Combine(_work, "job")), TestWorlds.Job("abort-input"));

        var local = await Assert.ThrowsAnyAsync<Exception>(() => job);
        Assert.IsNotType<PeerAbortedException>(local);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var message = await peer.ReceiveAsync(wait.Token);
        Assert.Equal(PeerAbort.MessageType, message.MessageType);
        var text = Encoding.UTF8.GetString(message.Payload.Span);
        Assert.DoesNotContain("no-such-data-folder", text); // the detail stays with the failing party
        var seen = Assert.Throws<PeerAbortedException>(() => PeerAbort.ThrowIfAbort(message, "external party (E)"));
        Assert.Equal(FailureCategory.Input, seen.PeerCategory);
        Assert.Contains(Failures.PeerSafeReason(FailureCategory.Input), seen.Message);
    }

    [Fact]
    public async Task A_peer_abort_received_while_waiting_ends_the_wait_with_the_peers_category()
    {
        var (mine, peer) = InMemoryPeerChannel.CreatePair();
        var link = new PeerLink(mine, "music party (M)", TimeSpan.FromSeconds(30));
        await peer.SendAsync(PeerAbort.Create(FailureCategory.Protocol), CancellationToken.None);

        var error = await Assert.ThrowsAsync<PeerAbortedException>(() => link.ReceiveAsync(PeerLink.Hello, CancellationToken.None));
        Assert.Equal(FailureCategory.Protocol, error.PeerCategory);
        Assert.Contains("the music party (M) aborted the job", error.Message);
        Assert.Equal(FailureCategory.PeerAborted, Failures.Classify(error));
    }

    [Fact]
    public async Task A_party_told_of_its_peers_abort_does_not_answer_with_an_abort_of_its_own()
    {
        var (mine, peer) = InMemoryPeerChannel.CreatePair();
        var link = new PeerLink(mine, "music party (M)", TimeSpan.FromSeconds(30));
        await link.TryAbortAsync(new PeerAbortedException("the music party (M) aborted the job", FailureCategory.Input));
        await link.TryAbortAsync(new InvalidDataException("a local detail"));

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var only = await peer.ReceiveAsync(wait.Token);
        var error = Assert.Throws<PeerAbortedException>(() => PeerAbort.ThrowIfAbort(only, "external party (E)"));
        Assert.Equal(FailureCategory.Input, error.PeerCategory); // the second abort, for the local failure
        Assert.DoesNotContain("a local detail", Encoding.UTF8.GetString(only.Payload.Span));
    }
}
