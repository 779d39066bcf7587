using System.Buffers.Binary;
using Federated.Core;

namespace Federated.Crypto.Psi;

/// <summary>
/// M's run of the PSI: blinds with a, raises E's points to a, collects its own points ^ab from E, intersects, reports
/// the matches to E (or, M-only, an empty list while keeping E's ordinals) and accepts E's confirmation.
/// </summary>
internal sealed class PsiMusicSession(IPeerChannel channel, IdSource source, PsiOptions options)
    : PsiSession(PsiRole.Music, channel, source, options)
{
    private byte[] _ownDouble = [];  // H(x)^ab per own ID
    private int[]? _peerOrdinals;    // M-only: E's ordinal per aligned row

    protected override string LastPeerMessage => PsiWire.Confirm;

    protected override void AllocateOwnState() => _ownDouble = new byte[(long)OwnCount * 32];

    protected override void KeepPrior(int priorPosition, int index) =>
        Prior!.OwnValues.AsSpan(priorPosition * 32, 32).CopyTo(_ownDouble.AsSpan(index * 32));

    protected override byte[] CombineSeed(byte[] ownShare, byte[] peerShare) => JointSeed.Combine(ownShare, peerShare);

    protected override int ReblindedDue => NewIndices.Length;

    protected override bool TryTakeReblinded(PeerMessage message, int start, out int count)
    {
        var points = PsiWire.ParseChunk(message, PsiWire.PointEntryBytes, Options.ChunkPoints, start, SentPoints);
        count = points.Length / 32;
        for (int k = 0; k < count; k++)
        {
            int index = NewIndices[Perm[start + k]];
            points.Span.Slice(k * 32, 32).CopyTo(_ownDouble.AsSpan(index * 32));
        }
        return true;
    }

    /// <summary>Joins own and peer double-blinded values; rows come out in canonical (ascending value) order.</summary>
    protected override async Task<(int[] Rows, byte[] Digest)> AlignAsync(MessagePump pump, int chunk, CancellationToken ct)
    {
        var own = new KeyedPoint[OwnCount];
        var peer = new KeyedPoint[PeerPrior + PeerNew];
        for (int i = 0; i < own.Length; i++) own[i] = new KeyedPoint(PointKey.From(_ownDouble.AsSpan(i * 32, 32)), i);
        for (int o = 0; o < peer.Length; o++) peer[o] = new KeyedPoint(PeerValue(o), o);
        Parallel.Invoke(() => Array.Sort(own), () => Array.Sort(peer));
        for (int i = 1; i < own.Length; i++)
            if (own[i].Key == own[i - 1].Key) throw new ProtocolViolationException("psi.reblinded: the external party returned the same point for two different IDs");
        for (int i = 1; i < peer.Length; i++)
            if (peer[i].Key == peer[i - 1].Key) throw new ProtocolViolationException("psi.blinded: the external party sent the same point twice");

        var rows = new List<int>();
        var ordinals = new List<int>();
        var values = new List<PointKey>();
        for (int a = 0, b = 0; a < own.Length && b < peer.Length;)
        {
            int c = own[a].Key.CompareTo(peer[b].Key);
            if (c < 0) a++;
            else if (c > 0) b++;
            else
            {
                rows.Add(own[a].Position);
                ordinals.Add(peer[b].Position);
                values.Add(own[a].Key);
                a++;
                b++;
            }
        }
        own = null;
        peer = null;

        if (Options.IntersectionForMusicOnly)
        {
            // E learns nothing about the matches: an empty report (E confirms it), M keeps rows and E's ordinals.
            var empty = AlignedKeysWriter.RowsDigest([]);
            var summary = new PsiWire.RowsSummary(0, Convert.ToHexString(empty));
            await SendAsync(PsiWire.Control(PsiWire.MatchesEnd, summary), ct).ConfigureAwait(false);
            var ack = PsiWire.ParseControl<PsiWire.RowsSummary>(await pump.ExpectAsync(PsiWire.Confirm, ct).ConfigureAwait(false));
            if (ack.Count != 0 || !string.Equals(ack.RowsDigest, summary.RowsDigest, StringComparison.OrdinalIgnoreCase))
                throw new ProtocolViolationException($"psi.confirm: the external party derived {ack.Count} rows from an empty report");
            await SendAsync(PsiWire.Control(PsiWire.Done, summary), ct).ConfigureAwait(false);
            _peerOrdinals = ordinals.ToArray();
            return (rows.ToArray(), empty);
        }

        for (int start = 0; start < rows.Count; start += chunk)
        {
            int c = Math.Min(chunk, rows.Count - start);
            var payload = PsiWire.NewChunk(start, c, PsiWire.MatchEntryBytes);
            for (int k = 0; k < c; k++)
            {
                var entry = payload.AsSpan(PsiWire.ChunkHeaderBytes + k * PsiWire.MatchEntryBytes, PsiWire.MatchEntryBytes);
                BinaryPrimitives.WriteUInt32LittleEndian(entry, (uint)ordinals[start + k]);
                values[start + k].WriteTo(entry[4..]);
            }
            await SendAsync(new PeerMessage(PsiWire.Matches, payload), ct).ConfigureAwait(false);
        }
        var digest = AlignedKeysWriter.RowsDigest(values);
        await SendAsync(PsiWire.Control(PsiWire.MatchesEnd, new PsiWire.RowsSummary(rows.Count, Convert.ToHexString(digest))), ct).ConfigureAwait(false);

        var confirm = PsiWire.ParseControl<PsiWire.RowsSummary>(await pump.ExpectAsync(PsiWire.Confirm, ct).ConfigureAwait(false));
        if (confirm.Count != rows.Count || !string.Equals(confirm.RowsDigest, Convert.ToHexString(digest), StringComparison.OrdinalIgnoreCase))
            throw new ProtocolViolationException($"psi.confirm: the external party derived {confirm.Count} rows with another digest; this party has {rows.Count}");
        await SendAsync(PsiWire.Control(PsiWire.Done, new PsiWire.RowsSummary(rows.Count, Convert.ToHexString(digest))), ct).ConfigureAwait(false);
        return (rows.ToArray(), digest);
    }

    protected override void WriteOwnItems(string folder, ReadOnlySpan<DigestEntry> sortedDigests) =>
        PsiJobStore.WriteOwnItems(folder, PsiRole.Music, sortedDigests, _ownDouble, null);

    protected override (long Music, long External) PartyTotals(long peerTotal) => (OwnCount, peerTotal);

    protected override PsiResult WithRoleFiles(PsiResult result)
    {
        if (_peerOrdinals is null) return result;
        string path = Path.Combine(Options.JobFolder, PsiJobStore.PeerOrdinalsFile);
        IndexFile.Write(path, _peerOrdinals);
        return result with { PeerOrdinalsPath = path };
    }
}
