using System.Buffers.Binary;
using Federated.Core;

namespace Federated.Crypto.Psi;

/// <summary>
/// E's run of the PSI: blinds with b, returns M's points raised to b in M's order, numbers its own points by send
/// ordinal, checks M's report of the matches against the values it computed itself and confirms it.
/// </summary>
internal sealed class PsiExternalSession(IPeerChannel channel, IdSource source, PsiOptions options)
    : PsiSession(PsiRole.External, channel, source, options)
{
    private int[] _ownOrdinal = [];      // send ordinal per own ID
    private int[] _ordinalToIndex = [];  // own ID position per ordinal

    protected override string LastPeerMessage => PsiWire.Done;

    protected override void AllocateOwnState()
    {
        _ownOrdinal = new int[OwnCount];
        _ordinalToIndex = new int[OwnCount];
    }

    protected override void KeepPrior(int priorPosition, int index)
    {
        int ordinal = Prior!.OwnOrdinals![priorPosition];
        _ownOrdinal[index] = ordinal;
        _ordinalToIndex[ordinal] = index;
    }

    protected override byte[] CombineSeed(byte[] ownShare, byte[] peerShare) => JointSeed.Combine(peerShare, ownShare);

    /// <summary>New IDs are numbered in send order, after the ordinals of earlier rounds.</summary>
    protected override void OnShuffled()
    {
        for (int j = 0; j < Perm.Length; j++)
        {
            int index = NewIndices[Perm[j]];
            int ordinal = PriorOwnCount + j;
            _ownOrdinal[index] = ordinal;
            _ordinalToIndex[ordinal] = index;
        }
    }

    /// <summary>M's points raised to b go back to M in the order M sent them.</summary>
    protected override async ValueTask OnPeerPointsRaisedAsync(int start, ReadOnlyMemory<byte> raised, CancellationToken ct)
    {
        var reply = PsiWire.NewChunk(start, raised.Length / 32, PsiWire.PointEntryBytes);
        raised.Span.CopyTo(reply.AsSpan(PsiWire.ChunkHeaderBytes));
        await SendAsync(new PeerMessage(PsiWire.Reblinded, reply), ct).ConfigureAwait(false);
    }

    /// <summary>Checks M's report (own positions, ascending values that E itself computed) and confirms it.</summary>
    protected override async Task<(int[] Rows, byte[] Digest)> AlignAsync(MessagePump pump, int chunk, CancellationToken ct)
    {
        var musicValues = new PointKey[PeerPrior + PeerNew];
        for (int o = 0; o < musicValues.Length; o++) musicValues[o] = PeerValue(o);
        Array.Sort(musicValues);
        int n = OwnCount;
        var taken = new bool[n];
        var rows = new List<int>();
        var values = new List<PointKey>();
        while (true)
        {
            var message = await pump.ReadAsync(PsiWire.Matches, ct).ConfigureAwait(false);
            if (message.MessageType == PsiWire.Matches)
            {
                var entries = PsiWire.ParseChunk(message, PsiWire.MatchEntryBytes, Options.ChunkPoints, rows.Count, n);
                for (int k = 0; k < entries.Length / PsiWire.MatchEntryBytes; k++)
                {
                    var entry = entries.Span.Slice(k * PsiWire.MatchEntryBytes, PsiWire.MatchEntryBytes);
                    uint ordinal = BinaryPrimitives.ReadUInt32LittleEndian(entry);
                    var value = PointKey.From(entry[4..]);
                    int row = rows.Count;
                    if (ordinal >= n) throw new ProtocolViolationException($"psi.matches: row {row} names position {ordinal}, but this party has {n} IDs");
                    if (taken[ordinal]) throw new ProtocolViolationException($"psi.matches: position {ordinal} is reported twice");
                    if (row > 0 && value.CompareTo(values[row - 1]) <= 0)
                        throw new ProtocolViolationException($"psi.matches: row {row} breaks the canonical ascending order of double-blinded values");
                    if (Array.BinarySearch(musicValues, value) < 0)
                        throw new ProtocolViolationException($"psi.matches: row {row} carries a value that is not one of the music party's double-blinded points");
                    taken[ordinal] = true;
                    rows.Add(_ordinalToIndex[ordinal]);
                    values.Add(value);
                }
            }
            else if (message.MessageType == PsiWire.MatchesEnd)
            {
                var end = PsiWire.ParseControl<PsiWire.RowsSummary>(message);
                var digest = AlignedKeysWriter.RowsDigest(values);
                if (end.Count != rows.Count || !string.Equals(end.RowsDigest, Convert.ToHexString(digest), StringComparison.OrdinalIgnoreCase))
                    throw new ProtocolViolationException($"psi.matches-end: announces {end.Count} rows with another digest; {rows.Count} rows were received");
                await SendAsync(PsiWire.Control(PsiWire.Confirm, new PsiWire.RowsSummary(rows.Count, Convert.ToHexString(digest))), ct).ConfigureAwait(false);
                var done = PsiWire.ParseControl<PsiWire.RowsSummary>(await pump.ExpectAsync(PsiWire.Done, ct).ConfigureAwait(false));
                if (done.Count != rows.Count || !string.Equals(done.RowsDigest, Convert.ToHexString(digest), StringComparison.OrdinalIgnoreCase))
                    throw new ProtocolViolationException("psi.done: the music party closed with another row list");
                if (Options.IntersectionForMusicOnly && rows.Count != 0)
                    throw new ProtocolViolationException($"psi.matches: {rows.Count} matches reported in an M-only intersection");
                return (rows.ToArray(), digest);
            }
            else throw new ProtocolViolationException($"unexpected message '{message.MessageType}' while receiving the matches");
        }
    }

    protected override void WriteOwnItems(string folder, ReadOnlySpan<DigestEntry> sortedDigests) =>
        PsiJobStore.WriteOwnItems(folder, PsiRole.External, sortedDigests, null, _ownOrdinal);

    protected override (long Music, long External) PartyTotals(long peerTotal) => (peerTotal, OwnCount);

    protected override PsiResult WithRoleFiles(PsiResult result)
    {
        if (!Options.IntersectionForMusicOnly) return result;
        string path = Path.Combine(Options.JobFolder, PsiJobStore.OrdinalSourceIndexFile);
        IndexFile.Write(path, _ordinalToIndex);
        return result with { OrdinalSourceIndexPath = path };
    }
}
