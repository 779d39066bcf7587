using Federated.Transport.Relay;
using Federated.Transport.V1;
using Google.Protobuf;

namespace Federated.Transport.Tests;

public sealed class ChunkingTests
{
    private static RelayHeader Header(ulong sequence, int size) => new()
    {
        JobId = "job-1", MessageType = "t", Sender = "external", Receiver = "music", Sequence = sequence, PayloadSize = (ulong)size, Generation = 1,
    };

    private static byte[] Payload(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Theory]
    [InlineData(0, 1024)]
    [InlineData(1, 1024)]
    [InlineData(1024, 1024)]
    [InlineData(1025, 1024)]
    [InlineData(3 * 1024 * 1024 + 17, 1024 * 1024)]
    public void Split_then_assemble_returns_the_same_bytes_with_the_expected_number_of_chunks(int size, int chunk)
    {
        var payload = Payload(size, size);
        var frames = MessageChunker.Split(Header(7, size), payload, chunk).ToList();

        Assert.Equal(Math.Max(1, (size + chunk - 1) / chunk), frames.Count);
        Assert.NotNull(frames[0].Header);
        Assert.All(frames.Skip(1), f => Assert.Null(f.Header));
        Assert.All(frames, f => Assert.True(f.Data.Length <= chunk));
        Assert.Equal(frames.Count - 1, frames.FindIndex(f => f.Last));

        var assembler = new MessageAssembler(maxMessageBytes: 64L * 1024 * 1024);
        RelayedMessage? message = null;
        foreach (var frame in frames)
        {
            Assert.Null(message); // complete only at the last frame
            message = assembler.Add(frame);
        }
        Assert.NotNull(message);
        Assert.Equal(payload, message.SealedPayload);
        Assert.Equal(7UL, message.Sequence);
        Assert.False(assembler.InProgress);
    }

    [Fact]
    public void Consecutive_messages_on_one_stream_assemble_separately()
    {
        var assembler = new MessageAssembler(1 << 20);
        var results = new List<RelayedMessage>();
        for (ulong sequence = 1; sequence <= 3; sequence++)
            foreach (var frame in MessageChunker.Split(Header(sequence, 5000), Payload(5000, (int)sequence), 1024))
                if (assembler.Add(frame) is { } m)
                    results.Add(m);
        Assert.Equal([1UL, 2UL, 3UL], results.Select(m => m.Sequence).ToArray());
        Assert.Equal(Payload(5000, 2), results[1].SealedPayload);
    }

    [Fact]
    public void A_message_above_the_bound_is_refused_from_its_header_before_any_bytes_are_buffered()
    {
        var assembler = new MessageAssembler(maxMessageBytes: 4096);
        var first = new RelayFrame { Header = Header(1, 1_000_000_000), Sequence = 1, Data = ByteString.CopyFrom(new byte[16]) };
        var error = Assert.Throws<RelayLimitException>(() => assembler.Add(first));
        Assert.Contains("1000000000 bytes", error.Message);
        Assert.Contains("Relay:MaxMessageBytes", error.Message);
    }

    [Fact]
    public void Malformed_frame_sequences_are_refused_with_a_reason()
    {
        var frames = MessageChunker.Split(Header(1, 3000), Payload(3000, 1), 1024).ToList();

        var skipped = new MessageAssembler(1 << 20);
        skipped.Add(frames[0]);
        Assert.Contains("expected offset 1024", Assert.Throws<RelayProtocolException>(() => skipped.Add(frames[2])).Message);

        var headless = new MessageAssembler(1 << 20);
        Assert.Contains("without its header", Assert.Throws<RelayProtocolException>(() => headless.Add(frames[1])).Message);

        var interleaved = new MessageAssembler(1 << 20);
        interleaved.Add(frames[0]);
        var other = MessageChunker.Split(Header(2, 10), Payload(10, 2), 1024).Single();
        Assert.Contains("started before message 1", Assert.Throws<RelayProtocolException>(() => interleaved.Add(other)).Message);

        var tooLong = new MessageAssembler(1 << 20);
        var oversized = new RelayFrame { Header = Header(1, 4), Sequence = 1, Data = ByteString.CopyFrom(new byte[8]), Last = true };
        Assert.Contains("more bytes than its header", Assert.Throws<RelayLimitException>(() => tooLong.Add(oversized)).Message);

        var truncated = new MessageAssembler(1 << 20);
        var early = new RelayFrame { Header = Header(1, 8), Sequence = 1, Data = ByteString.CopyFrom(new byte[4]), Last = true };
        Assert.Contains("ended after 4 of 8", Assert.Throws<RelayProtocolException>(() => truncated.Add(early)).Message);
    }
}
