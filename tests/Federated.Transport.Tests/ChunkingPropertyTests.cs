using CsCheck;
using Federated.Transport.Relay;
using Federated.Transport.V1;

namespace Federated.Transport.Tests;

/// <summary>
/// Relay invariants over generated messages (CsCheck, shrinking to the smallest failing case): splitting and
/// reassembling returns the exact bytes for any size and chunk size; a frame dropped, duplicated or moved never yields a
/// message with other bytes; a declared size above the cap is refused before any byte is buffered.
/// </summary>
public sealed class ChunkingPropertyTests
{
    private static RelayHeader Header(int size) => new()
    {
        JobId = "job-p", MessageType = "t", Sender = "external", Receiver = "music", Sequence = 3, PayloadSize = (ulong)size, Generation = 1,
    };

    private static readonly Gen<(byte[] Payload, int Chunk)> Messages =
        Gen.Int[1024, 8192].SelectMany(chunk => Gen.Byte.Array[0, 5 * 8192].Select(payload => (payload, chunk)));

    [Fact]
    public void Split_then_assemble_is_the_identity_for_any_size_and_chunk()
    {
        Messages.Sample(m =>
        {
            var frames = MessageChunker.Split(Header(m.Payload.Length), m.Payload, m.Chunk).ToList();
            if (frames.Count != Math.Max(1, (m.Payload.Length + m.Chunk - 1) / m.Chunk)) return false;
            var assembler = new MessageAssembler(1L << 20);
            RelayedMessage? result = null;
            foreach (var f in frames)
            {
                if (result is not null) return false; // a message completed before its last frame
                result = assembler.Add(f);
            }
            return result is not null && result.SealedPayload.AsSpan().SequenceEqual(m.Payload) && !assembler.InProgress;
        }, iter: 300);
    }

    [Fact]
    public void A_dropped_duplicated_or_moved_frame_never_yields_other_bytes()
    {
        var cases = Messages.Where(m => m.Payload.Length > 2 * m.Chunk)
            .SelectMany(m => Gen.Int[0, 2].SelectMany(kind => Gen.Int[1, 1000].Select(at => (m.Payload, m.Chunk, kind, at))));
        cases.Sample(c =>
        {
            var frames = MessageChunker.Split(Header(c.Payload.Length), c.Payload, c.Chunk).ToList();
            int i = 1 + c.at % (frames.Count - 1); // a data frame after the header frame
            switch (c.kind)
            {
                case 0: frames.RemoveAt(i); break;
                case 1: frames.Insert(i, frames[i]); break;
                default: (frames[i], frames[i - 1]) = (frames[i - 1], frames[i]); break;
            }
            var assembler = new MessageAssembler(1L << 20);
            try
            {
                foreach (var f in frames)
                    if (assembler.Add(f) is { } message && !message.SealedPayload.AsSpan().SequenceEqual(c.Payload))
                        return false;
            }
            catch (RelayProtocolException) { }
            return true;
        }, iter: 300);
    }

    [Fact]
    public void A_declared_size_above_the_cap_is_refused_at_the_header()
    {
        Gen.Int[1, 1 << 20].Sample(cap =>
        {
            var frames = MessageChunker.Split(Header(cap + 1), new byte[cap + 1], 1024 * 1024).ToList();
            var assembler = new MessageAssembler(cap);
            try { assembler.Add(frames[0]); return false; }
            catch (RelayProtocolException e) { return e.Message.Length > 0; }
        }, iter: 100);
    }
}
