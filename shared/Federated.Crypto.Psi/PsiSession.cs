using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using Federated.Core;

namespace Federated.Crypto.Psi;

/// <summary>
/// One party's run of the PSI. Per own ID it keeps only a digest, a 32-byte point or two and an index; ID strings
/// are re-read from the source when needed. Message flow:
/// <code>
/// both:  hello (sizes, domain hash, round, seed commitment) -> reveal (seed share)
/// both:  blinded   = own new points H(id)^k, shuffled, in chunks
/// E->M:  reblinded = M's points ^b, in M's order          M: E's points ^a (kept)
/// M->E:  matches   = (E ordinal, H^ab) per row in canonical order, then matches-end (count, rows digest)
/// E->M:  confirm   = E's count and rows digest; M checks they agree
/// M->E:  done      = M accepted; only now does E persist (a mismatch reaches E as psi.abort)
/// </code>
/// </summary>
internal sealed class PsiSession(PsiRole role, IPeerChannel channel, IdSource source, PsiOptions options)
{
    private const int BlockSize = 16384;

    private readonly byte[] _domainPrefix = Ristretto255.DomainPrefix(options.Domain);
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private string DomainHash => Convert.ToHexString(SHA256.HashData(_domainPrefix)).ToLowerInvariant();

    private PsiKeys _keys = null!;
    private PsiJobStore.PriorState? _prior;

    // Own IDs, by source position.
    private int _n;
    private DigestEntry[] _sortedDigests = [];
    private UInt128[] _digestByIndex = [];
    private bool[] _isNew = [];
    private int[] _newIndices = [];
    private byte[] _ownDouble = [];      // M: H(x)^ab per own ID
    private int[] _ownOrdinal = [];      // E: send ordinal per own ID
    private int[] _ordinalToIndex = [];  // E: own ID position per ordinal

    // Own new points, and the shuffle: sent position j carries new slot _perm[j].
    private byte[] _ownBlinded = [];
    private int[] _perm = [];
    private int _sentPoints;

    // Peer points raised to both scalars, by peer ordinal (earlier rounds first).
    private int _peerPrior;
    private int _peerNew;
    private byte[] _peerValues = [];

    private int PriorOwnCount => _prior?.OwnDigests.Length ?? 0;
    private int Round => (_prior?.Manifest.Round ?? 0) + 1;
    private string? PreviousStateId => _prior?.Manifest.StateId;

    public async Task<PsiResult> RunAsync(CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var token = linked.Token;
        MessagePump? pump = null;
        Task? sender = null;
        try
        {
            PsiJobStore.PrepareFolder(options.JobFolder);
            LoadKeys();
            ScanOwnIds();

            var nonce = RandomNumberGenerator.GetBytes(32);
            var share = RandomNumberGenerator.GetBytes(JointSeed.ShareBytes);
            pump = new MessagePump(channel, role == PsiRole.Music ? PsiWire.Confirm : PsiWire.Done, options.MessageTimeout, token);
            await SendAsync(PsiWire.Control(PsiWire.Hello, new PsiWire.HelloMessage(
                PsiWire.Protocol, role.Name(), DomainHash, Round, PreviousStateId, PriorOwnCount, _newIndices.Length,
                options.ChunkPoints, Convert.ToHexString(JointSeed.Commit(nonce, share)), options.IntersectionForMusicOnly)), token);
            var hello = CheckHello(PsiWire.ParseControl<PsiWire.HelloMessage>(await pump.ExpectAsync(PsiWire.Hello, token)));

            // Reveal only after the peer's commitment is in hand.
            await SendAsync(PsiWire.Control(PsiWire.Reveal, new PsiWire.RevealMessage(Convert.ToHexString(nonce), Convert.ToHexString(share))), token);
            var reveal = PsiWire.ParseControl<PsiWire.RevealMessage>(await pump.ExpectAsync(PsiWire.Reveal, token));
            var peerNonce = PsiWire.Hex("nonce", reveal.Nonce, 32, PsiWire.Reveal);
            var peerShare = PsiWire.Hex("share", reveal.Share, JointSeed.ShareBytes, PsiWire.Reveal);
            if (!CryptographicOperations.FixedTimeEquals(JointSeed.Commit(peerNonce, peerShare), PsiWire.Hex("seedCommit", hello.SeedCommit, 32, PsiWire.Hello)))
                throw new ProtocolViolationException("psi.reveal: the peer's seed share does not match its commitment");
            var seed = role == PsiRole.Music ? JointSeed.Combine(share, peerShare) : JointSeed.Combine(peerShare, share);

            BlindOwnNewIds();
            Shuffle();
            int chunk = Math.Min(options.ChunkPoints, hello.ChunkPoints);
            sender = Task.Run(() => SendBlindedAsync(chunk, token), token);
            await ExchangeAsync(pump, token);
            await sender;
            _ownBlinded = []; // sent and answered: release before the sort-heavy intersection
            _perm = [];

            var (rowSourceIndex, rowsDigest, peerOrdinals) = role == PsiRole.Music
                ? await IntersectAndReportAsync(pump, chunk, token)
                : await ReceiveMatchesAsync(pump, token);

            return Persist(started, clock, seed, rowSourceIndex, rowsDigest, peerOrdinals);
        }
        catch (Exception e) when (e is not OperationCanceledException and not PsiAbortedByPeerException)
        {
            // Tell the peer to stop waiting; the reason is a category, never an ID or a detail of our input.
            await linked.CancelAsync();
            await Quietly(sender);
            if (pump is not null) await pump.DisposeAsync();
            pump = null;
            await TrySendAbortAsync(AbortReason(e));
            throw;
        }
        finally
        {
            if (!linked.IsCancellationRequested) await linked.CancelAsync();
            await Quietly(sender);
            if (pump is not null) await pump.DisposeAsync();
            _keys?.Dispose();
            _prior?.Keys.Dispose();
        }
    }

    private void LoadKeys()
    {
        if (options.PreviousJobFolder is not null)
        {
            _prior = PsiJobStore.LoadPrior(options.PreviousJobFolder, role, DomainHash);
            _keys = PsiKeys.FromBytes(_prior.Keys.Scalar, _prior.Keys.IdKey);
        }
        else if (options.ReuseKeysFrom is not null)
        {
            var m = PsiJobStore.ReadManifest(options.ReuseKeysFrom, role, DomainHash);
            _keys = PsiJobStore.ReadKeys(options.ReuseKeysFrom, m, role);
        }
        else _keys = PsiKeys.Generate();
    }

    /// <summary>Pass 1: keyed digests of all own IDs; rejects duplicates; splits IDs into seen-before and new.</summary>
    private void ScanOwnIds()
    {
        var entries = new List<DigestEntry>();
        var digests = new UInt128[BlockSize];
        foreach (var (block, count, first) in source.ReadBlocks(BlockSize))
        {
            if (first + count > PsiWire.MaxPoints) throw new PsiInputException($"{source.Description} has more than {PsiWire.MaxPoints} IDs");
            Work.ForRanges(count, options.MaxDegreeOfParallelism, (s, e) =>
            {
                for (int i = s; i < e; i++) digests[i] = _keys.Digest(block[i]);
            });
            for (int i = 0; i < count; i++) entries.Add(new DigestEntry(digests[i], (int)first + i));
        }
        _n = entries.Count;
        _digestByIndex = new UInt128[_n];
        foreach (var e in entries) _digestByIndex[e.Index] = e.Digest;
        _sortedDigests = entries.ToArray();
        entries = null;
        Array.Sort(_sortedDigests);
        RejectDuplicates();

        _isNew = new bool[_n];
        if (role == PsiRole.Music) _ownDouble = new byte[(long)_n * 32];
        else
        {
            _ownOrdinal = new int[_n];
            _ordinalToIndex = new int[_n];
        }
        var priorDigests = _prior?.OwnDigests ?? [];
        long missing = 0;
        int p = 0;
        foreach (var e in _sortedDigests)
        {
            while (p < priorDigests.Length && priorDigests[p] < e.Digest) { missing++; p++; }
            if (p < priorDigests.Length && priorDigests[p] == e.Digest)
            {
                if (role == PsiRole.Music) _prior!.OwnValues.AsSpan(p * 32, 32).CopyTo(_ownDouble.AsSpan(e.Index * 32));
                else
                {
                    int ordinal = _prior!.OwnOrdinals![p];
                    _ownOrdinal[e.Index] = ordinal;
                    _ordinalToIndex[ordinal] = e.Index;
                }
                p++;
            }
            else _isNew[e.Index] = true;
        }
        missing += priorDigests.Length - p;
        if (missing > 0)
            throw new PsiInputException(
                $"{missing} IDs of earlier rounds are missing from {source.Description}; a delta round needs every earlier ID " +
                "(append-only list); run a full PSI without PreviousJobFolder to drop IDs");
        var fresh = new int[_n - priorDigests.Length];
        int k = 0;
        for (int i = 0; i < _n; i++) if (_isNew[i]) fresh[k++] = i;
        _newIndices = fresh;
    }

    private void RejectDuplicates()
    {
        int duplicates = 0;
        (int A, int B) first = (-1, -1);
        for (int i = 1; i < _sortedDigests.Length; i++)
        {
            if (_sortedDigests[i].Digest != _sortedDigests[i - 1].Digest) continue;
            if (duplicates++ == 0) first = (Math.Min(_sortedDigests[i - 1].Index, _sortedDigests[i].Index), Math.Max(_sortedDigests[i - 1].Index, _sortedDigests[i].Index));
        }
        if (duplicates == 0) return;
        string id = source.Read().Skip(first.A).First();
        if (id.Length > 200) id = id[..200] + "...";
        throw new PsiInputException(
            $"duplicate ID '{id}' in {source.Description} at positions {first.A} and {first.B} (0-based); " +
            $"{duplicates} repeated entr{(duplicates == 1 ? "y" : "ies")} in total; IDs must be unique");
    }

    private PsiWire.HelloMessage CheckHello(PsiWire.HelloMessage h)
    {
        string peer = role.Other().Name();
        if (h.Protocol != PsiWire.Protocol) throw new ProtocolViolationException($"psi.hello: the peer speaks '{h.Protocol}', this party '{PsiWire.Protocol}'");
        if (h.Role != peer) throw new ProtocolViolationException($"psi.hello: the peer has role '{h.Role}', expected '{peer}'");
        if (h.DomainHash != DomainHash) throw new ProtocolViolationException("psi.hello: the peer uses a different PSI domain separator (job ids differ)");
        if (h.Round != Round || h.PreviousStateId != PreviousStateId)
            throw new ProtocolViolationException(
                $"psi.hello: the peer is at round {h.Round} after state {h.PreviousStateId ?? "(none)"}, this party at round {Round} after " +
                $"{PreviousStateId ?? "(none)"}; both must continue from the same previous job");
        int expectedPrior = _prior?.PeerCount ?? 0;
        if (h.PriorCount != expectedPrior)
            throw new ProtocolViolationException($"psi.hello: the peer had {h.PriorCount} IDs in earlier rounds, this party's state records {expectedPrior}");
        if (h.NewCount < 0 || h.NewCount + expectedPrior > PsiWire.MaxPoints)
            throw new ProtocolViolationException($"psi.hello: new ID count {h.NewCount} out of range");
        if (h.ChunkPoints is < 1 or > 1 << 20) throw new ProtocolViolationException($"psi.hello: chunk size {h.ChunkPoints} out of range");
        if (h.IntersectionForMusicOnly != options.IntersectionForMusicOnly)
            throw new ProtocolViolationException($"psi.hello: the peer runs {(h.IntersectionForMusicOnly ? "an M-only" : "a two-sided")} intersection, this party {(options.IntersectionForMusicOnly ? "an M-only" : "a two-sided")} one");
        PsiWire.Hex("seedCommit", h.SeedCommit, 32, PsiWire.Hello);
        _peerPrior = expectedPrior;
        _peerNew = (int)h.NewCount;
        return h;
    }

    /// <summary>Pass 2: H(id)^k for the new IDs, hashing and multiplying on all workers.</summary>
    private void BlindOwnNewIds()
    {
        _ownBlinded = new byte[(long)_newIndices.Length * 32];
        var picked = new int[BlockSize];
        int slot = 0;
        long seen = 0;
        foreach (var (block, count, first) in source.ReadBlocks(BlockSize))
        {
            int m = 0;
            for (int i = 0; i < count; i++)
                if (first + i < _n && _isNew[first + i]) picked[m++] = i;
            int baseSlot = slot;
            Work.ForRanges(m, options.MaxDegreeOfParallelism, (s, e) =>
            {
                Span<byte> h = stackalloc byte[32];
                for (int k = s; k < e; k++)
                {
                    Ristretto255.HashToGroup(_domainPrefix, block[picked[k]], h);
                    if (!Ristretto255.TryMultiply(_keys.Scalar, h, _ownBlinded.AsSpan((baseSlot + k) * 32, 32)))
                        throw new CryptographicException("blinding produced the identity");
                }
            });
            slot += m;
            seen += count;
        }
        if (seen != _n || slot != _newIndices.Length)
            throw new PsiInputException($"{source.Description} returned {seen} IDs on the second read, {_n} on the first; the source must be stable");
    }

    private void Shuffle()
    {
        int count = _newIndices.Length;
        _perm = new int[count];
        for (int i = 0; i < count; i++) _perm[i] = i;
        for (int i = count - 1; i > 0; i--)
        {
            int j = RandomNumberGenerator.GetInt32(i + 1);
            (_perm[i], _perm[j]) = (_perm[j], _perm[i]);
        }
        if (role == PsiRole.External)
        {
            for (int j = 0; j < count; j++)
            {
                int index = _newIndices[_perm[j]];
                int ordinal = PriorOwnCount + j;
                _ownOrdinal[index] = ordinal;
                _ordinalToIndex[ordinal] = index;
            }
        }
    }

    private async Task SendBlindedAsync(int chunk, CancellationToken ct)
    {
        int count = _newIndices.Length;
        for (int j = 0; j < count; j += chunk)
        {
            int c = Math.Min(chunk, count - j);
            var payload = PsiWire.NewChunk(j, c, PsiWire.PointEntryBytes);
            for (int k = 0; k < c; k++)
                _ownBlinded.AsSpan(_perm[j + k] * 32, 32).CopyTo(payload.AsSpan(PsiWire.ChunkHeaderBytes + k * 32));
            Volatile.Write(ref _sentPoints, j + c); // before the send: the reply may overtake this thread
            await SendAsync(new PeerMessage(PsiWire.Blinded, payload), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Raises the peer's points to our scalar (E returns M's); M also collects its own points ^ab.</summary>
    private async Task ExchangeAsync(MessagePump pump, CancellationToken ct)
    {
        _peerValues = new byte[(long)(_peerPrior + _peerNew) * 32];
        _prior?.PeerValues.CopyTo(_peerValues, 0);
        int gotBlinded = 0, gotReblinded = 0;
        bool music = role == PsiRole.Music;
        while (gotBlinded < _peerNew || (music && gotReblinded < _newIndices.Length))
        {
            var message = await pump.ReadAsync($"{PsiWire.Blinded} or {PsiWire.Reblinded}", ct).ConfigureAwait(false);
            if (message.MessageType == PsiWire.Blinded)
            {
                var points = PsiWire.ParseChunk(message, PsiWire.PointEntryBytes, options.ChunkPoints, gotBlinded, _peerNew);
                int count = points.Length / 32;
                var dest = _peerValues.AsMemory((_peerPrior + gotBlinded) * 32, count * 32);
                int bad = MultiplyAll(points, dest);
                if (bad >= 0)
                    throw new ProtocolViolationException(
                        $"psi.blinded: the point at position {gotBlinded + bad} is not a valid ristretto255 encoding (or is the identity)");
                if (!music)
                {
                    var reply = PsiWire.NewChunk(gotBlinded, count, PsiWire.PointEntryBytes);
                    dest.Span.CopyTo(reply.AsSpan(PsiWire.ChunkHeaderBytes));
                    await SendAsync(new PeerMessage(PsiWire.Reblinded, reply), ct).ConfigureAwait(false);
                }
                gotBlinded += count;
            }
            else if (message.MessageType == PsiWire.Reblinded && music)
            {
                var points = PsiWire.ParseChunk(message, PsiWire.PointEntryBytes, options.ChunkPoints, gotReblinded, Volatile.Read(ref _sentPoints));
                int count = points.Length / 32;
                for (int k = 0; k < count; k++)
                {
                    int index = _newIndices[_perm[gotReblinded + k]];
                    points.Span.Slice(k * 32, 32).CopyTo(_ownDouble.AsSpan(index * 32));
                }
                gotReblinded += count;
            }
            else throw new ProtocolViolationException($"unexpected message '{message.MessageType}' while exchanging blinded points");
        }
    }

    /// <summary>dest[k] = scalar·points[k] on all workers; returns the first invalid position or -1.</summary>
    private int MultiplyAll(ReadOnlyMemory<byte> points, Memory<byte> dest)
    {
        int count = points.Length / 32;
        int bad = int.MaxValue;
        Work.ForRanges(count, options.MaxDegreeOfParallelism, (s, e) =>
        {
            var src = points.Span;
            var dst = dest.Span;
            for (int k = s; k < e; k++)
            {
                if (!Ristretto255.TryMultiply(_keys.Scalar, src.Slice(k * 32, 32), dst.Slice(k * 32, 32)))
                {
                    InterlockedMin(ref bad, k);
                    return;
                }
            }
        });
        return bad == int.MaxValue ? -1 : bad;
    }

    private static void InterlockedMin(ref int target, int value)
    {
        int current;
        while (value < (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current) { }
    }

    /// <summary>M: joins own and peer double-blinded values; rows come out in canonical (ascending value) order.</summary>
    private async Task<(int[] Rows, byte[] Digest, int[]? PeerOrdinals)> IntersectAndReportAsync(MessagePump pump, int chunk, CancellationToken ct)
    {
        var own = new KeyedPoint[_n];
        var peer = new KeyedPoint[_peerPrior + _peerNew];
        for (int i = 0; i < own.Length; i++) own[i] = new KeyedPoint(PointKey.From(_ownDouble.AsSpan(i * 32, 32)), i);
        for (int o = 0; o < peer.Length; o++) peer[o] = new KeyedPoint(PointKey.From(_peerValues.AsSpan(o * 32, 32)), o);
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

        if (options.IntersectionForMusicOnly)
        {
            // E learns nothing about the matches: an empty report (E confirms it), M keeps rows and E's ordinals.
            var empty = AlignedKeysWriter.RowsDigest([]);
            var summary = new PsiWire.RowsSummary(0, Convert.ToHexString(empty));
            await SendAsync(PsiWire.Control(PsiWire.MatchesEnd, summary), ct).ConfigureAwait(false);
            var ack = PsiWire.ParseControl<PsiWire.RowsSummary>(await pump.ExpectAsync(PsiWire.Confirm, ct).ConfigureAwait(false));
            if (ack.Count != 0 || !string.Equals(ack.RowsDigest, summary.RowsDigest, StringComparison.OrdinalIgnoreCase))
                throw new ProtocolViolationException($"psi.confirm: the external party derived {ack.Count} rows from an empty report");
            await SendAsync(PsiWire.Control(PsiWire.Done, summary), ct).ConfigureAwait(false);
            return (rows.ToArray(), empty, ordinals.ToArray());
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
        return (rows.ToArray(), digest, null);
    }

    /// <summary>E: checks M's report (own positions, ascending values that E itself computed) and confirms it.</summary>
    private async Task<(int[] Rows, byte[] Digest, int[]? PeerOrdinals)> ReceiveMatchesAsync(MessagePump pump, CancellationToken ct)
    {
        var musicValues = new PointKey[_peerPrior + _peerNew];
        for (int o = 0; o < musicValues.Length; o++) musicValues[o] = PointKey.From(_peerValues.AsSpan(o * 32, 32));
        Array.Sort(musicValues);
        var taken = new bool[_n];
        var rows = new List<int>();
        var values = new List<PointKey>();
        while (true)
        {
            var message = await pump.ReadAsync(PsiWire.Matches, ct).ConfigureAwait(false);
            if (message.MessageType == PsiWire.Matches)
            {
                var entries = PsiWire.ParseChunk(message, PsiWire.MatchEntryBytes, options.ChunkPoints, rows.Count, _n);
                for (int k = 0; k < entries.Length / PsiWire.MatchEntryBytes; k++)
                {
                    var entry = entries.Span.Slice(k * PsiWire.MatchEntryBytes, PsiWire.MatchEntryBytes);
                    uint ordinal = BinaryPrimitives.ReadUInt32LittleEndian(entry);
                    var value = PointKey.From(entry[4..]);
                    int row = rows.Count;
                    if (ordinal >= _n) throw new ProtocolViolationException($"psi.matches: row {row} names position {ordinal}, but this party has {_n} IDs");
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
                if (options.IntersectionForMusicOnly && rows.Count != 0)
                    throw new ProtocolViolationException($"psi.matches: {rows.Count} matches reported in an M-only intersection");
                return (rows.ToArray(), digest, null);
            }
            else throw new ProtocolViolationException($"unexpected message '{message.MessageType}' while receiving the matches");
        }
    }

    private PsiResult Persist(DateTimeOffset started, Stopwatch clock, byte[] seed, int[] rowSourceIndex, byte[] rowsDigest, int[]? peerOrdinals)
    {
        string folder = options.JobFolder;
        string keysPath = Path.Combine(folder, PsiJobStore.AlignedKeysFile);
        string indexPath = Path.Combine(folder, PsiJobStore.AlignedIndexFile);
        AlignedKeysWriter.Write(source, rowSourceIndex, i => _digestByIndex[i], _keys, keysPath, indexPath);
        PsiJobStore.WriteKeys(folder, role, _keys);
        PsiJobStore.WriteOwnItems(folder, role, _sortedDigests, role == PsiRole.Music ? _ownDouble : null, role == PsiRole.External ? _ownOrdinal : null);
        PsiJobStore.WritePeerValues(folder, _peerValues);

        long peerTotal = _peerPrior + _peerNew;
        long musicTotal = role == PsiRole.Music ? _n : peerTotal;
        long externalTotal = role == PsiRole.Music ? peerTotal : _n;
        string stateId = StateId(seed, rowsDigest, musicTotal, externalTotal);
        var files = new Dictionary<string, string>();
        foreach (var f in new[] { PsiJobStore.AlignedKeysFile, PsiJobStore.AlignedIndexFile, PsiJobStore.KeysFile, PsiJobStore.OwnItemsFile, PsiJobStore.PeerValuesFile })
            files[f] = PsiJobStore.FileSha256(Path.Combine(folder, f));
        var elapsed = clock.Elapsed;
        PsiJobStore.WriteManifest(folder, new PsiJobStore.Manifest(
            PsiJobStore.ManifestFormat, role.Name(), DomainHash, Round, stateId, PreviousStateId,
            options.PreviousJobFolder is null ? null : Path.GetFullPath(options.PreviousJobFolder),
            _n, _newIndices.Length, peerTotal, _peerNew, rowSourceIndex.Length, Convert.ToHexString(seed).ToLowerInvariant(),
            Convert.ToHexString(rowsDigest).ToLowerInvariant(), started, DateTimeOffset.UtcNow, elapsed.TotalSeconds, files));
        string? peerOrdinalsPath = null, ordinalIndexPath = null;
        if (options.IntersectionForMusicOnly && role == PsiRole.Music)
            IndexFile.Write(peerOrdinalsPath = Path.Combine(folder, PsiJobStore.PeerOrdinalsFile), peerOrdinals!);
        if (options.IntersectionForMusicOnly && role == PsiRole.External)
            IndexFile.Write(ordinalIndexPath = Path.Combine(folder, PsiJobStore.OrdinalSourceIndexFile), _ordinalToIndex);
        return new PsiResult(role, Path.GetFullPath(folder), Round, _n, _newIndices.Length, peerTotal, _peerNew, rowSourceIndex.Length,
            keysPath, indexPath, seed, stateId, elapsed) { PeerOrdinalsPath = peerOrdinalsPath, OrdinalSourceIndexPath = ordinalIndexPath };
    }

    /// <summary>Both parties compute the same id from what they both know; the next delta round must name it.</summary>
    private string StateId(byte[] seed, byte[] rowsDigest, long musicTotal, long externalTotal)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData("federated-psi/state/v1"u8);
        h.AppendData(System.Text.Encoding.UTF8.GetBytes(PreviousStateId ?? ""));
        Span<byte> n = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(n, Round); h.AppendData(n);
        h.AppendData(seed);
        h.AppendData(rowsDigest);
        BinaryPrimitives.WriteInt64BigEndian(n, musicTotal); h.AppendData(n);
        BinaryPrimitives.WriteInt64BigEndian(n, externalTotal); h.AppendData(n);
        return Convert.ToHexString(h.GetHashAndReset()).ToLowerInvariant();
    }

    private async ValueTask SendAsync(PeerMessage message, CancellationToken ct)
    {
        // IPeerChannel implementations need not accept concurrent sends; E sends from two loops.
        await _sendLock.WaitAsync(ct).ConfigureAwait(false);
        try { await channel.SendAsync(message, ct).ConfigureAwait(false); }
        finally { _sendLock.Release(); }
    }

    private async Task TrySendAbortAsync(string reason)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await SendAsync(PsiWire.Control(PsiWire.Abort, new PsiWire.AbortMessage(reason)), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception) { /* the channel itself may be what failed; the local exception is what matters */ }
    }

    private static string AbortReason(Exception e) => e switch
    {
        PsiInputException => "the other party's ID input was rejected",
        PsiStateException => "the other party's earlier-round state is unusable",
        ProtocolViolationException => "the other party received a message that violates the PSI protocol",
        TimeoutException => "the other party timed out waiting for a message",
        _ => "internal error at the other party",
    };

    private static async Task Quietly(Task? task)
    {
        if (task is null) return;
        try { await task.ConfigureAwait(false); } catch { /* reported by the main path */ }
    }
}
