using Federated.Transport.Relay;
using Federated.Transport.V1;

namespace Federated.Transport.Tests;

public sealed class JobRelaySessionTests
{
    private static JobRelaySession Session() => new("job-1", "music", "external", new RelayLimits());

    private static SessionOffer Offer(string party, ulong received = 0, ulong consumed = 0, byte tag = 1) =>
        new(party, "inc-" + party, [tag], received, consumed);

    [Fact]
    public async Task A_generation_completes_when_both_parties_posted_and_each_gets_the_others_offer()
    {
        var session = Session();
        var (generation, started) = session.Post(Offer("music", tag: 7));
        Assert.Equal(1UL, generation);
        Assert.False(started);
        var waiting = session.WaitForPeerAsync("music", generation, CancellationToken.None);
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);

        session.Post(Offer("external", tag: 9));

        var forMusic = await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal([(byte)9], forMusic.Peer.Offer);
        var forExternal = await session.WaitForPeerAsync("external", 1, CancellationToken.None);
        Assert.Equal([(byte)7], forExternal.Peer.Offer);
        Assert.Equal(1UL, session.AtoB.Generation);
    }

    [Fact]
    public async Task A_party_rejoining_starts_a_new_generation_which_resets_both_links_from_what_each_receiver_holds()
    {
        var session = Session();
        session.Post(Offer("music"));
        session.Post(Offer("external"));
        var toMusic = session.IncomingOf("music");
        for (ulong s = 1; s <= 5; s++)
            await toMusic.AcceptAsync(Message(s, 1), null, CancellationToken.None);

        // The music party restarts: it holds (and consumed) messages up to 3 from its checkpoint.
        var (generation, started) = session.Post(Offer("music", received: 3, consumed: 3));
        Assert.True(started);
        Assert.Equal(2UL, generation);
        await Assert.ThrowsAsync<SessionSupersededException>(() => session.WaitForPeerAsync("external", 1, CancellationToken.None));
        Assert.Equal(5, toMusic.PendingCount); // not reset until the generation completes

        session.Post(Offer("external"));
        Assert.Equal(0, toMusic.PendingCount);
        Assert.Equal(3UL, toMusic.LastAccepted);
        Assert.Equal(2UL, toMusic.Generation);
        Assert.Equal(AcceptOutcome.Accepted, await toMusic.AcceptAsync(Message(4, 2), null, CancellationToken.None));
    }

    [Fact]
    public void A_party_that_is_not_in_the_job_cannot_post()
    {
        Assert.Throws<ArgumentException>(() => Session().Post(Offer("mallory")));
    }

    private static RelayedMessage Message(ulong sequence, ulong generation) => new(new RelayHeader
    {
        JobId = "job-1", MessageType = "t", Sender = "external", Receiver = "music", Sequence = sequence, Generation = generation, PayloadSize = 1,
    }, new byte[1]);
}
