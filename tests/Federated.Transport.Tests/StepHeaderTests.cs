using Federated.Core.Jobs;
using System.Security.Cryptography.X509Certificates;
using Federated.Core;
using Federated.Security;
using Federated.Transport.Client;
using Federated.Transport.Relay;

namespace Federated.Transport.Tests;

/// <summary>A message's protocol step travels in the relay header (audited in clear) and is sealed as associated data.</summary>
public sealed class StepHeaderTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly AttemptId JobId = new("job-step");
    private static readonly X509Certificate2 Authority = CertificateFactory.CreateAuthority("Test CA", TimeSpan.FromDays(1));
    private static readonly X509Certificate2 Music = CertificateFactory.IssueParty(Authority, "music", PartyRole.Music, [], TimeSpan.FromDays(1));
    private static readonly X509Certificate2 External = CertificateFactory.IssueParty(Authority, "external", PartyRole.External, [], TimeSpan.FromDays(1));
    private static readonly RelayLimits Limits = new() { ChunkBytes = 4096, MaxMessageBytes = 1024 * 1024 };

    private static RelayPeerChannel Open(InMemoryRelay relay, string self, X509Certificate2 identity, string peer, Xunit.Abstractions.ITestOutputHelper output) =>
        RelayPeerChannel.Start(relay.ClientFor(self),
            new RelayChannelSettings(JobId, self, peer, identity, new CertificateValidator(Authority), Limits) { PeerJoinTimeout = TimeSpan.FromSeconds(20) },
            new TestOutputLogger(output, self));

    [Fact]
    public async Task The_step_of_each_message_reaches_the_relay_header_and_the_receiver()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var relay = new InMemoryRelay(JobId.Value, "music", "external", Limits);
        await using var external = Open(relay, "external", External, "music", output);
        await using var music = Open(relay, "music", Music, "external", output);

        await external.SendAsync(new PeerMessage("train.F1", new byte[] { 1, 2, 3 }, Step: 41), timeout.Token);
        await external.SendAsync(new PeerMessage("plain", new byte[] { 4 }), timeout.Token);

        var first = await music.ReceiveAsync(timeout.Token);
        var second = await music.ReceiveAsync(timeout.Token);
        Assert.Equal(("train.F1", 41L), (first.MessageType, first.Step));
        Assert.Equal(("plain", 0L), (second.MessageType, second.Step));
        Assert.Equal([41L, 0L], relay.Relayed.Select(m => m.Header.Step).ToArray());
    }

    [Fact]
    public async Task A_step_altered_in_transit_fails_the_channel()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var relay = new InMemoryRelay(JobId.Value, "music", "external", Limits)
        {
            TamperDelivery = m =>
            {
                var header = m.Header.Clone();
                header.Step += 1;
                return new RelayedMessage(header, m.SealedPayload);
            },
        };
        await using var external = Open(relay, "external", External, "music", output);
        await using var music = Open(relay, "music", Music, "external", output);

        await external.SendAsync(new PeerMessage("train.F1", new byte[] { 1, 2, 3 }, Step: 7), timeout.Token);

        var error = await Assert.ThrowsAsync<RelayChannelFailedException>(async () => await music.ReceiveAsync(timeout.Token));
        Assert.IsType<SealingException>(error.InnerException);
    }
}
