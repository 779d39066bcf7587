using System.Buffers.Binary;
using System.Collections;
using System.Diagnostics;
using Federated.Core;
using Federated.Agent;
using Federated.Security;

namespace Federated.Agent.Jobs;

/// <summary>
/// "stream": the external party sends <c>count</c> numbered messages of <c>size</c> bytes; the music party records
/// which numbers arrived (checkpointing after each one, so it survives being killed and restarted) and finally
/// answers with its tally. Used by the crash test and the relay throughput benchmark. Parameters: count (default
/// 1000), size (default 256 bytes), delayMs (pause between sends, default 0).
/// </summary>
public sealed class StreamJobHandler : IJobHandler
{
    public const string ItemType = "stream.item";
    public const string DoneType = "stream.done";

    public string Kind => "stream";

    public bool Resumable => true;

    public async Task RunAsync(JobContext context, IPeerChannel peer, CancellationToken cancellationToken)
    {
        var count = context.GetInt("count", 1000, 1, 10_000_000);
        var size = context.GetInt("size", 256, 8, 256 * 1024 * 1024);
        var delay = context.GetInt("delayMs", 0, 0, 60_000);
        if (context.SelfRole == PartyRole.External)
            await SendAsync(context, peer, count, size, delay, cancellationToken).ConfigureAwait(false);
        else
            await ReceiveAsync(context, peer, count, cancellationToken).ConfigureAwait(false);
    }

    private static async Task SendAsync(JobContext context, IPeerChannel peer, int count, int size, int delay, CancellationToken ct)
    {
        if (context.IsResume)
            throw new InvalidOperationException("the sending side of a stream job cannot resume after a restart");
        var started = Stopwatch.GetTimestamp();
        for (var index = 0; index < count; index++)
        {
            var payload = new byte[size];
            BinaryPrimitives.WriteInt64BigEndian(payload, index);
            payload.AsSpan(8).Fill((byte)index);
            await peer.SendAsync(new PeerMessage(ItemType, payload), ct).ConfigureAwait(false);
            if (delay > 0)
                await Task.Delay(delay, ct).ConfigureAwait(false);
        }
        var done = await ProtocolViolationException.ExpectAsync(peer, DoneType, ct).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var tally = Tally.Parse(done.Payload.Span);
        if (tally.Distinct != count || tally.Duplicates != 0 || tally.OutOfOrder != 0)
            throw new ProtocolViolationException(
                $"receiver tally: {tally.Distinct} of {count} distinct, {tally.Duplicates} duplicates, {tally.OutOfOrder} out of order");
        var mib = (double)count * size / (1024 * 1024);
        context.Summary = $"sent {count} messages of {size} bytes in {elapsed:0.00} s ({mib / elapsed:0.0} MiB/s, {count / elapsed:0} msg/s); receiver confirmed all, in order, once";
    }

    private static async Task ReceiveAsync(JobContext context, IPeerChannel peer, int count, CancellationToken ct)
    {
        var state = context.RestoredState is { } restored ? ReceiverState.Parse(restored, count) : new ReceiverState(count);
        if (context.IsResume)
            state.Resumes++;
        while (state.Distinct < count)
        {
            var message = await ProtocolViolationException.ExpectAsync(peer, ItemType, ct).ConfigureAwait(false);
            if (message.Payload.Length < 8)
                throw new ProtocolViolationException($"stream item of {message.Payload.Length} bytes has no index");
            var index = BinaryPrimitives.ReadInt64BigEndian(message.Payload.Span);
            if (index < 0 || index >= count)
                throw new ProtocolViolationException($"stream item index {index} is outside 0..{count - 1}");
            state.Record((int)index);
            await context.SaveCheckpointAsync(state.ToBytes(), ct).ConfigureAwait(false);
        }
        var tally = new Tally(state.Distinct, state.Duplicates, state.OutOfOrder);
        await peer.SendAsync(new PeerMessage(DoneType, tally.ToBytes()), ct).ConfigureAwait(false);
        context.Summary = $"received {state.Distinct} of {count} distinct messages, {state.Duplicates} duplicates, {state.OutOfOrder} out of order, resumed {state.Resumes} time(s)";
    }

    private sealed record Tally(int Distinct, int Duplicates, int OutOfOrder)
    {
        public byte[] ToBytes()
        {
            var bytes = new byte[12];
            BinaryPrimitives.WriteInt32BigEndian(bytes, Distinct);
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), Duplicates);
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), OutOfOrder);
            return bytes;
        }

        public static Tally Parse(ReadOnlySpan<byte> bytes) => bytes.Length == 12
            ? new Tally(BinaryPrimitives.ReadInt32BigEndian(bytes), BinaryPrimitives.ReadInt32BigEndian(bytes[4..]), BinaryPrimitives.ReadInt32BigEndian(bytes[8..]))
            : throw new ProtocolViolationException($"stream tally has {bytes.Length} bytes, expected 12");
    }

    /// <summary>The receiver's durable progress: which indices arrived, and counters.</summary>
    private sealed class ReceiverState
    {
        private readonly BitArray _seen;

        public ReceiverState(int count) => _seen = new BitArray(count);

        private ReceiverState(BitArray seen) => _seen = seen;

        public int Distinct { get; private set; }
        public int Duplicates { get; private set; }
        public int OutOfOrder { get; private set; }
        public int Resumes { get; set; }
        private int _next;

        public void Record(int index)
        {
            if (_seen[index]) { Duplicates++; return; }
            if (index != _next) OutOfOrder++;
            _seen[index] = true;
            Distinct++;
            _next = index + 1;
        }

        public byte[] ToBytes()
        {
            var bits = new byte[(_seen.Length + 7) / 8];
            _seen.CopyTo(bits, 0);
            var bytes = new byte[20 + bits.Length];
            BinaryPrimitives.WriteInt32BigEndian(bytes, Distinct);
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), Duplicates);
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), OutOfOrder);
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), Resumes);
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(16), _next);
            bits.CopyTo(bytes, 20);
            return bytes;
        }

        public static ReceiverState Parse(byte[] bytes, int count)
        {
            var bitBytes = (count + 7) / 8;
            if (bytes.Length != 20 + bitBytes)
                throw new InvalidDataException($"stream checkpoint has {bytes.Length} bytes; a job of {count} messages needs {20 + bitBytes}");
            var seen = new BitArray(bytes[20..]) { Length = count };
            return new ReceiverState(seen)
            {
                Distinct = BinaryPrimitives.ReadInt32BigEndian(bytes),
                Duplicates = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4)),
                OutOfOrder = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8)),
                Resumes = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(12)),
                _next = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)),
            };
        }
    }
}
