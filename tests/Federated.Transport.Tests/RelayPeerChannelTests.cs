using Federated.Core.Jobs;
using System.Security.Cryptography.X509Certificates;
using Federated.Core;
using Federated.Security;
using Federated.Transport.Client;
using Federated.Transport.Relay;

namespace Federated.Transport.Tests;

public sealed class RelayPeerChannelTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private static readonly AttemptId JobId = new("job-1");
    private static readonly X509Certificate2 Authority = CertificateFactory.CreateAuthority("Test CA", TimeSpan.FromDays(1));
    private static readonly X509Certificate2 Music = CertificateFactory.IssueParty(Authority, "music", PartyRole.Music, [], TimeSpan.FromDays(1));
    private static readonly X509Certificate2 External = CertificateFactory.IssueParty(Authority, "external", PartyRole.External, [], TimeSpan.FromDays(1));
    private static readonly RelayLimits Limits = new() { ChunkBytes = 4096, MaxMessageBytes = 8 * 1024 * 1024 };
    private readonly List<RelayPeerChannel> _channels = [];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));

    private InMemoryRelay Relay { get; set; } = new(JobId.Value, "music", "external", Limits);

    private RelayPeerChannel Open(string self, X509Certificate2 identity, string peer, IJobCheckpointStore? store = null, JobCheckpoint? restored = null,
        RelayLimits? limits = null)
    {
        var channel = RelayPeerChannel.Start(Relay.ClientFor(self),
            new RelayChannelSettings(JobId, self, peer, identity, new CertificateValidator(Authority), limits ?? Limits)
            {
                PeerJoinTimeout = TimeSpan.FromSeconds(20), DurableConsumption = store is not null, CheckpointStore = store, Restored = restored,
            }, new TestOutputLogger(output, self));
        _channels.Add(channel);
        return channel;
    }

    private static int Number(PeerMessage message) => BitConverter.ToInt32(message.Payload.Span);

    private static byte[] Payload(int index, int size)
    {
        var bytes = new byte[size];
        new Random(index).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task Messages_of_any_size_arrive_in_order_with_their_exact_content_and_types()
    {
        var external = Open("external", External, "music");
        var music = Open("music", Music, "external");
        var sizes = new[] { 0, 1, 4095, 4096, 4097, 100_000, 3 * 1024 * 1024 };

        for (var i = 0; i < sizes.Length; i++)
            await external.SendAsync(new PeerMessage($"type-{i}", Payload(i, sizes[i])), _timeout.Token);
        for (var i = 0; i < sizes.Length; i++)
        {
            var received = await music.ReceiveAsync(_timeout.Token);
            Assert.Equal($"type-{i}", received.MessageType);
            Assert.Equal(Payload(i, sizes[i]), received.Payload.ToArray());
        }

        await music.SendAsync(new PeerMessage("reply", new byte[] { 42 }), _timeout.Token);
        var reply = await external.ReceiveAsync(_timeout.Token);
        Assert.Equal(new byte[] { 42 }, reply.Payload.ToArray());
    }

    [Fact]
    public async Task The_relay_sees_only_sealed_bytes_and_never_the_plaintext()
    {
        var external = Open("external", External, "music");
        var music = Open("music", Music, "external");
        var marker = "plaintext-marker-that-must-not-appear-at-the-relay"u8.ToArray();
        var plaintext = Enumerable.Repeat(marker, 100).SelectMany(b => b).ToArray();

        await external.SendAsync(new PeerMessage("secret", plaintext), _timeout.Token);
        Assert.Equal(plaintext, (await music.ReceiveAsync(_timeout.Token)).Payload.ToArray());

        var relayed = Assert.Single(Relay.Relayed);
        Assert.Equal(plaintext.Length + SessionKey.Overhead, relayed.SealedPayload.Length);
        Assert.Equal(-1, IndexOf(relayed.SealedPayload, marker[..16]));
        Assert.Equal("secret", relayed.Header.MessageType); // headers travel in clear
    }

    [Fact]
    public async Task A_header_altered_in_transit_fails_authentication_at_the_receiver()
    {
        Relay.TamperDelivery = m =>
        {
            var header = m.Header.Clone();
            header.MessageType = "train.F3"; // same bytes, different claimed type
            return new RelayedMessage(header, m.SealedPayload);
        };
        var external = Open("external", External, "music");
        var music = Open("music", Music, "external");

        await external.SendAsync(new PeerMessage("train.F1", new byte[] { 1, 2, 3 }), _timeout.Token);

        var error = await Assert.ThrowsAsync<RelayChannelFailedException>(async () => await music.ReceiveAsync(_timeout.Token));
        Assert.IsType<SealingException>(error.InnerException);
    }

    [Fact]
    public async Task A_payload_bit_flipped_in_transit_fails_authentication_at_the_receiver()
    {
        Relay.TamperDelivery = m =>
        {
            var bytes = (byte[])m.SealedPayload.Clone();
            bytes[^1] ^= 0x01;
            return new RelayedMessage(m.Header, bytes);
        };
        var external = Open("external", External, "music");
        var music = Open("music", Music, "external");

        await external.SendAsync(new PeerMessage("x", new byte[100]), _timeout.Token);

        var error = await Assert.ThrowsAsync<RelayChannelFailedException>(async () => await music.ReceiveAsync(_timeout.Token));
        Assert.IsType<SealingException>(error.InnerException);
    }

    [Fact]
    public async Task A_relay_that_substitutes_its_own_signed_offer_cannot_join_the_session()
    {
        // The relay holds a valid External certificate of the same CA (another, compromised party) and runs its own
        // handshake toward the music party in place of the real external party's offer.
        using var mallory = CertificateFactory.IssueParty(Authority, "mallory", PartyRole.External, [], TimeSpan.FromDays(1));
        using var own = SessionHandshake.Start(mallory, JobId, "mallory", "music");
        Relay.TamperOffer = _ => own.Offer;
        var external = Open("external", External, "music");
        var music = Open("music", Music, "external");

        await Assert.ThrowsAnyAsync<Exception>(() => music.Ready.WaitAsync(_timeout.Token));
        var error = await Assert.ThrowsAsync<RelayChannelFailedException>(async () => await music.ReceiveAsync(_timeout.Token));
        Assert.IsType<SealingException>(error.InnerException);
        await external.DisposeAsync();
    }

    [Fact]
    public async Task A_duplicated_delivery_is_dropped_by_sequence_number_at_the_receiver()
    {
        Relay.DeliverTwice = true;
        var external = Open("external", External, "music");
        var music = Open("music", Music, "external");

        for (var i = 0; i < 20; i++)
            await external.SendAsync(new PeerMessage("n", BitConverter.GetBytes(i)), _timeout.Token);
        for (var i = 0; i < 20; i++)
            Assert.Equal(i, Number(await music.ReceiveAsync(_timeout.Token)));

        await external.CompleteAsync(TimeSpan.FromSeconds(20), _timeout.Token);
        Assert.Equal(20UL, music.Stats.Received);
        Assert.Equal(20UL, music.Stats.DuplicatesDropped);
    }

    [Fact]
    public async Task A_broken_delivery_stream_is_resumed_under_a_new_session_key_without_loss_or_duplicates()
    {
        Relay.CutDeliveryAfter["music"] = 30;
        var external = Open("external", External, "music");
        var music = Open("music", Music, "external");

        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
                await external.SendAsync(new PeerMessage("n", BitConverter.GetBytes(i)), _timeout.Token);
        });
        for (var i = 0; i < 200; i++)
            Assert.Equal(i, Number(await music.ReceiveAsync(_timeout.Token)));
        await sending;
        await external.CompleteAsync(TimeSpan.FromSeconds(20), _timeout.Token);

        Assert.True(Relay.Session.Generation >= 2, "the reconnect started a new generation");
        Assert.True(music.Stats.Sessions >= 2);
        Assert.Equal(200UL, music.Stats.Received);
    }

    [Fact]
    public async Task A_restarted_receiver_resumes_after_its_checkpoint_and_the_sender_resends_the_rest()
    {
        var store = new MemoryCheckpointStore();
        var external = Open("external", External, "music");
        var first = Open("music", Music, "external", store);
        for (var i = 0; i < 50; i++)
            await external.SendAsync(new PeerMessage("n", BitConverter.GetBytes(i)), _timeout.Token);

        // The first incarnation processes 20 messages, checkpointing each, then "dies" without any goodbye.
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(i, Number(await first.ReceiveAsync(_timeout.Token)));
            await first.SaveCheckpointAsync(BitConverter.GetBytes(i), _timeout.Token);
        }
        await first.DisposeAsync();

        var checkpoint = store.Load(JobId.Value)!;
        Assert.Equal(20UL, checkpoint.ConsumedFromPeer);
        var second = Open("music", Music, "external", store, checkpoint);
        for (var i = 20; i < 50; i++)
        {
            Assert.Equal(i, Number(await second.ReceiveAsync(_timeout.Token)));
            await second.SaveCheckpointAsync(BitConverter.GetBytes(i), _timeout.Token);
        }
        await external.CompleteAsync(TimeSpan.FromSeconds(20), _timeout.Token);
        Assert.Equal(30UL, second.Stats.Received);
    }

    [Fact]
    public async Task A_receiver_whose_handler_lags_buffers_at_most_its_byte_budget_then_catches_up()
    {
        var limits = new RelayLimits { ChunkBytes = 4096, ReceiverBufferBytes = 10_000 };
        Relay = new InMemoryRelay(JobId.Value, "music", "external", limits);
        var external = Open("external", External, "music", limits: limits);
        var music = Open("music", Music, "external", limits: limits);
        for (var i = 0; i < 50; i++)
            await external.SendAsync(new PeerMessage("n", Payload(i, 4000)), _timeout.Token);

        await Task.Delay(500);
        Assert.Equal(2UL, music.Stats.Received); // 2 x 4000 bytes fit 10,000; the third waits for the handler

        for (var i = 0; i < 50; i++)
            Assert.Equal(Payload(i, 4000), (await music.ReceiveAsync(_timeout.Token)).Payload.ToArray());
        Assert.Equal(50UL, music.Stats.Received);
    }

    [Fact]
    public async Task A_message_above_the_relay_bound_is_refused_when_sent()
    {
        var external = Open("external", External, "music");
        var error = await Assert.ThrowsAsync<ArgumentException>(async () =>
            await external.SendAsync(new PeerMessage("big", new byte[9 * 1024 * 1024]), _timeout.Token));
        Assert.Contains("Relay:MaxMessageBytes", error.Message);
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var channel in _channels)
            await channel.DisposeAsync();
    }

    public void Dispose() => _timeout.Dispose();

    private sealed class MemoryCheckpointStore : IJobCheckpointStore
    {
        private readonly Dictionary<string, JobCheckpoint> _saved = [];
        public JobCheckpoint? Load(string jobId) { lock (_saved) return _saved.GetValueOrDefault(jobId); }
        public void Save(string jobId, JobCheckpoint checkpoint) { lock (_saved) _saved[jobId] = checkpoint; }
        public void Delete(string jobId) { lock (_saved) _saved.Remove(jobId); }
    }
}
