using Federated.Core;

namespace Federated.Core.Tests;

public class InMemoryPeerChannelTests
{
    [Fact]
    public async Task Messages_arrive_in_order_and_are_copied()
    {
        var seen = new List<string>();
        var (a, b) = InMemoryPeerChannel.CreatePair(transcript: (dir, m) => seen.Add($"{dir}:{m.MessageType}"));
        var buffer = new byte[] { 1, 2, 3 };
        await a.SendAsync(new PeerMessage("one", buffer), default);
        buffer[0] = 9;
        await a.SendAsync(new PeerMessage("two", buffer), default);
        await b.SendAsync(new PeerMessage("back", Array.Empty<byte>()), default);

        var first = await b.ReceiveAsync(default);
        var second = await b.ReceiveAsync(default);
        Assert.Equal("one", first.MessageType);
        Assert.Equal(1, first.Payload.Span[0]);
        Assert.Equal(9, second.Payload.Span[0]);
        Assert.Equal("back", (await a.ReceiveAsync(default)).MessageType);
        Assert.Equal(new[] { "A->B:one", "A->B:two", "B->A:back" }, seen);
    }

    [Fact]
    public async Task Expect_names_both_types_on_mismatch()
    {
        var (a, b) = InMemoryPeerChannel.CreatePair();
        await a.SendAsync(new PeerMessage("psi.reveal", Array.Empty<byte>()), default);
        var error = await Assert.ThrowsAsync<ProtocolViolationException>(() => ProtocolViolationException.ExpectAsync(b, "psi.commit", default).AsTask());
        Assert.Contains("psi.commit", error.Message);
        Assert.Contains("psi.reveal", error.Message);
    }
}
