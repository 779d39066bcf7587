using Federated.Transport.Relay;
using Federated.Transport.V1;
using Google.Protobuf;

namespace Federated.Transport.Tests;

public sealed class RelayLimitsTests
{
    [Fact]
    public void The_defaults_are_valid()
    {
        new RelayLimits().Validate();
    }

    [Theory]
    [InlineData(nameof(RelayLimits.IncompleteMessageTimeoutSeconds), "Relay:IncompleteMessageTimeoutSeconds must be between 1 and 3600")]
    [InlineData(nameof(RelayLimits.PartyInFlightBytes), "Relay:PartyInFlightBytes must be at least Relay:MaxMessageBytes")]
    [InlineData(nameof(RelayLimits.PartyMessagesPerSecond), "Relay:PartyMessagesPerSecond must be positive")]
    [InlineData(nameof(RelayLimits.PartyBytesPerSecond), "Relay:PartyBytesPerSecond must be at least Relay:ChunkBytes")]
    public void An_abuse_bound_out_of_range_is_refused_at_start_with_the_setting_named(string setting, string expected)
    {
        var limits = new RelayLimits();
        switch (setting)
        {
            case nameof(RelayLimits.IncompleteMessageTimeoutSeconds): limits.IncompleteMessageTimeoutSeconds = 0; break;
            case nameof(RelayLimits.PartyInFlightBytes): limits.PartyInFlightBytes = limits.MaxMessageBytes - 1; break;
            case nameof(RelayLimits.PartyMessagesPerSecond): limits.PartyMessagesPerSecond = 0; break;
            case nameof(RelayLimits.PartyBytesPerSecond): limits.PartyBytesPerSecond = limits.ChunkBytes - 1; break;
        }

        var error = Assert.Throws<ArgumentOutOfRangeException>(limits.Validate);

        Assert.Equal(setting, error.ParamName);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_header_announcing_a_large_message_costs_only_the_bytes_that_arrived()
    {
        var header = new RelayHeader { JobId = "job-1", Sender = "external", Receiver = "music", Sequence = 1, PayloadSize = 64 * 1024 * 1024 };
        var assembler = new MessageAssembler(64 * 1024 * 1024);
        var before = GC.GetAllocatedBytesForCurrentThread();

        assembler.Add(new RelayFrame { Header = header, Sequence = 1, Data = ByteString.CopyFrom(new byte[16]) });

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024 * 1024, $"{allocated} bytes allocated for a 16-byte chunk of an announced 64 MiB message");
        Assert.Equal(16, assembler.Received);
    }

    [Fact]
    public void A_message_assembled_from_growing_chunks_is_the_bytes_sent()
    {
        var payload = new byte[3 * 1024 * 1024 + 17];
        new Random(7).NextBytes(payload);
        var header = new RelayHeader { JobId = "job-1", Sender = "external", Receiver = "music", Sequence = 1, PayloadSize = (ulong)payload.Length };
        var assembler = new MessageAssembler(8 * 1024 * 1024);

        RelayedMessage? message = null;
        foreach (var frame in MessageChunker.Split(header, payload, 256 * 1024))
            message = assembler.Add(frame);

        Assert.NotNull(message);
        Assert.Equal(payload, message.SealedPayload);
    }
}
