using Federated.Core;

namespace Federated.Crypto.Psi;

/// <summary>
/// Drives the parsers every PSI message from the peer goes through, for fuzzing and property tests: the first byte
/// picks the message (each control message type, or a bulk chunk with its position and limits), the rest is the
/// payload. Parsing may succeed or refuse the bytes with a <see cref="ProtocolViolationException"/>; nothing else.
/// </summary>
public static class PsiWireProbe
{
    private static readonly string[] Kinds = ["hello", "reveal", "confirm", "blinded", "reblinded", "matches"];

    public static void Parse(ReadOnlySpan<byte> input)
    {
        var kind = input.IsEmpty ? 0 : input[0] % Kinds.Length;
        var body = input.IsEmpty ? ReadOnlyMemory<byte>.Empty : input[1..].ToArray();
        switch (Kinds[kind])
        {
            case "hello":
                var hello = PsiWire.ParseControl<PsiWire.HelloMessage>(new PeerMessage(PsiWire.Hello, body));
                _ = PsiWire.Hex(nameof(hello.SeedCommit), hello.SeedCommit, 32, PsiWire.Hello);
                break;
            case "reveal":
                var reveal = PsiWire.ParseControl<PsiWire.RevealMessage>(new PeerMessage(PsiWire.Reveal, body));
                _ = PsiWire.Hex(nameof(reveal.Nonce), reveal.Nonce, 32, PsiWire.Reveal);
                _ = PsiWire.Hex(nameof(reveal.Share), reveal.Share, JointSeed.ShareBytes, PsiWire.Reveal);
                break;
            case "confirm":
                _ = PsiWire.ParseControl<PsiWire.RowsSummary>(new PeerMessage(PsiWire.Confirm, body));
                break;
            default:
                // A bulk chunk: the expected start and the announced total come from the session, here from the input.
                var entryBytes = Kinds[kind] == "matches" ? PsiWire.MatchEntryBytes : PsiWire.PointEntryBytes;
                var type = Kinds[kind] == "matches" ? PsiWire.Matches : Kinds[kind] == "blinded" ? PsiWire.Blinded : PsiWire.Reblinded;
                long expectedStart = body.Length >= 1 ? body.Span[0] : 0;
                var entries = PsiWire.ParseChunk(new PeerMessage(type, body), entryBytes, maxEntries: 4096, expectedStart, total: 1 << 20);
                if (entries.Length % entryBytes != 0)
                    throw new InvalidOperationException($"{type}: {entries.Length} entry bytes are not whole entries");
                break;
        }
    }
}
