using Federated.Transport.Relay;
using Federated.Transport.V1;

namespace Federated.Transport.Tests;

public sealed class RelayLinkTests
{
    private static RelayedMessage Message(ulong sequence, int size = 10, ulong generation = 1) => new(new RelayHeader
    {
        JobId = "job-1", MessageType = "t", Sender = "external", Receiver = "music", Sequence = sequence, Generation = generation, PayloadSize = (ulong)size,
    }, new byte[size]);

    private static RelayLink Link(int maxMessages = 100, long maxBytes = 1 << 20)
    {
        var link = new RelayLink("job-1", "external", "music", maxMessages, maxBytes, new AsyncPulse());
        link.Reset(1, 0, 0);
        return link;
    }

    [Fact]
    public async Task Messages_are_accepted_in_sequence_order_and_delivered_in_that_order()
    {
        var link = Link();
        for (ulong s = 1; s <= 5; s++)
            Assert.Equal(AcceptOutcome.Accepted, await link.AcceptAsync(Message(s), null, CancellationToken.None));

        var delivered = new List<ulong>();
        for (var cursor = 0UL; link.NextAfter(cursor) is { } next; cursor = next.Sequence)
            delivered.Add(next.Sequence);
        Assert.Equal([1UL, 2UL, 3UL, 4UL, 5UL], delivered.ToArray());
    }

    [Fact]
    public async Task An_old_sequence_number_is_dropped_and_a_gap_is_refused()
    {
        var link = Link();
        await link.AcceptAsync(Message(1), null, CancellationToken.None);
        await link.AcceptAsync(Message(2), null, CancellationToken.None);

        Assert.Equal(AcceptOutcome.OldSequence, await link.AcceptAsync(Message(1), null, CancellationToken.None));
        Assert.Equal(AcceptOutcome.OldSequence, await link.AcceptAsync(Message(2), null, CancellationToken.None));
        Assert.Equal(2, link.PendingCount); // nothing was queued twice
        var gap = await Assert.ThrowsAsync<RelayProtocolException>(async () => await link.AcceptAsync(Message(4), null, CancellationToken.None));
        Assert.Contains("next expected sequence is 3", gap.Message);
    }

    [Fact]
    public async Task The_audit_hook_runs_for_accepted_messages_only()
    {
        var link = Link();
        var audited = new List<ulong>();
        await link.AcceptAsync(Message(1), m => audited.Add(m.Sequence), CancellationToken.None);
        await link.AcceptAsync(Message(1), m => audited.Add(m.Sequence), CancellationToken.None);
        Assert.Equal([1UL], audited.ToArray());
    }

    [Fact]
    public async Task A_full_link_makes_the_sender_wait_until_the_receiver_acknowledges()
    {
        var link = Link(maxMessages: 2);
        await link.AcceptAsync(Message(1), null, CancellationToken.None);
        await link.AcceptAsync(Message(2), null, CancellationToken.None);

        var third = link.AcceptAsync(Message(3), null, CancellationToken.None).AsTask();
        await Task.Delay(100);
        Assert.False(third.IsCompleted); // back-pressure: the sender waits

        Assert.True(link.Acknowledge(1));
        Assert.Equal(AcceptOutcome.Accepted, await third.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(2, link.PendingCount);
        Assert.Equal(2UL, link.NextAfter(0)!.Sequence); // acknowledged messages are forgotten
    }

    [Fact]
    public async Task The_byte_bound_applies_but_one_oversized_message_still_fits_an_empty_link()
    {
        var link = Link(maxBytes: 100);
        Assert.Equal(AcceptOutcome.Accepted, await link.AcceptAsync(Message(1, size: 500), null, CancellationToken.None));
        var second = link.AcceptAsync(Message(2, size: 10), null, CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(second.IsCompleted);
        link.Acknowledge(1);
        Assert.Equal(AcceptOutcome.Accepted, await second.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(10, link.PendingBytes);
    }

    [Fact]
    public async Task A_waiting_sender_is_released_by_cancellation()
    {
        var link = Link(maxMessages: 1);
        await link.AcceptAsync(Message(1), null, CancellationToken.None);
        using var cancel = new CancellationTokenSource(100);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await link.AcceptAsync(Message(2), null, cancel.Token));
    }

    [Fact]
    public async Task Acknowledgements_are_cumulative_and_cannot_run_ahead_of_what_was_accepted()
    {
        var link = Link();
        for (ulong s = 1; s <= 3; s++)
            await link.AcceptAsync(Message(s), null, CancellationToken.None);
        Assert.True(link.Acknowledge(2));
        Assert.False(link.Acknowledge(1)); // older acknowledgement: no change
        Assert.Equal(2UL, link.Acknowledged);
        Assert.Throws<RelayProtocolException>(() => link.Acknowledge(9));
    }

    [Fact]
    public async Task A_new_generation_clears_the_queue_drops_stale_messages_and_restarts_after_what_the_receiver_holds()
    {
        var link = Link();
        for (ulong s = 1; s <= 4; s++)
            await link.AcceptAsync(Message(s), null, CancellationToken.None);

        link.Reset(generation: 2, receiverHolds: 2, receiverConsumed: 1);

        Assert.Equal(0, link.PendingCount);
        Assert.Equal(2UL, link.LastAccepted);
        Assert.Equal(AcceptOutcome.StaleGeneration, await link.AcceptAsync(Message(3, generation: 1), null, CancellationToken.None));
        Assert.Equal(AcceptOutcome.OldSequence, await link.AcceptAsync(Message(2, generation: 2), null, CancellationToken.None));
        Assert.Equal(AcceptOutcome.Accepted, await link.AcceptAsync(Message(3, generation: 2), null, CancellationToken.None));
        await Assert.ThrowsAsync<RelayProtocolException>(async () => await link.AcceptAsync(Message(4, generation: 3), null, CancellationToken.None));
    }

    [Fact]
    public void Redelivery_is_detected_per_sequence()
    {
        var link = Link();
        Assert.True(link.MarkDelivered(1));
        Assert.True(link.MarkDelivered(2));
        Assert.False(link.MarkDelivered(2));
        Assert.False(link.MarkDelivered(1));
    }
}
