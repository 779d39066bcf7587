using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using Federated.Core;

namespace Federated.Crypto.Psi;

/// <summary>
/// What both roles of one PSI run do: the hello and seed exchange, the digests and blinding of the own IDs, the
/// streamed and chunked exchange of blinded points, the serialised sends, the persisted state and the abort.
/// <see cref="PsiMusicSession"/> and <see cref="PsiExternalSession"/> add what only one role does. Per own ID a
/// session keeps only a digest, a 32-byte point or two and an index; ID strings are re-read from the source when
/// needed. Message flow:
/// <code>
/// both:  hello (sizes, domain hash, round, seed commitment) -> reveal (seed share)
/// both:  blinded   = own new points H(id)^k, shuffled, in chunks
/// E->M:  reblinded = M's points ^b, in M's order          M: E's points ^a (kept)
/// M->E:  matches   = (E ordinal, H^ab) per row in canonical order, then matches-end (count, rows digest)
/// E->M:  confirm   = E's count and rows digest; M checks they agree
/// M->E:  done      = M accepted; only now does E persist (a mismatch reaches E as a peer abort)
/// </code>
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "its one disposable field is a SemaphoreSlim whose wait handle is never taken (no unmanaged resource); a session lives for one run")]
internal abstract class PsiSession(PsiRole role, IPeerChannel channel, IdSource source, PsiOptions options)
{
    private const int BlockSize = 16384;

    private readonly byte[] _domainPrefix = Ristretto255.DomainPrefix(options.Domain);
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private string DomainHash => Convert.ToHexString(SHA256.HashData(_domainPrefix)).ToLowerInvariant();

    private PsiKeys _keys = null!;
    private DigestEntry[] _sortedDigests = [];
    private UInt128[] _digestByIndex = [];
    private bool[] _isNew = [];
    private byte[] _ownBlinded = [];
    private int _sentPoints;

    protected PsiRole Role => role;
    protected IdSource Source => source;
    protected PsiOptions Options => options;
    /// <summary>The state of the previous round, in a delta round.</summary>
    protected PsiJobStore.PriorState? Prior { get; private set; }
    /// <summary>Number of own IDs; own IDs are addressed by their source position.</summary>
    protected int OwnCount { get; private set; }
    /// <summary>Source positions of the own IDs not seen in an earlier round, ascending.</summary>
    protected int[] NewIndices { get; private set; } = [];
    /// <summary>The shuffle: sent position j carries new slot Perm[j] (released once the points are exchanged).</summary>
    protected int[] Perm { get; private set; } = [];
    /// <summary>Own points sent so far; written before each send, as the answer may overtake the sending thread.</summary>
    protected int SentPoints => Volatile.Read(ref _sentPoints);
    /// <summary>The peer's IDs of earlier rounds and of this one.</summary>
    protected int PeerPrior { get; private set; }
    protected int PeerNew { get; private set; }
    /// <summary>Peer points raised to both scalars, by peer ordinal (earlier rounds first).</summary>
    protected byte[] PeerValues { get; private set; } = [];
    protected int PriorOwnCount => Prior?.OwnDigests.Length ?? 0;
    private int Round => (Prior?.Manifest.Round ?? 0) + 1;
    private string? PreviousStateId => Prior?.Manifest.StateId;
    private string PeerName => $"{role.Other().Name()} party";

    // ---------------------------------------------------------------- what each role adds

    /// <summary>The peer's last PSI message: the pump stops reading there.</summary>
    protected abstract string LastPeerMessage { get; }
    /// <summary>Makes room for the per-own-ID state of this role (<see cref="OwnCount"/> is set).</summary>
    protected abstract void AllocateOwnState();
    /// <summary>Own ID at source position <paramref name="index"/> was the <paramref name="priorPosition"/>-th of the earlier rounds (digest order).</summary>
    protected abstract void KeepPrior(int priorPosition, int index);
    /// <summary>The joint seed from both shares, which <see cref="JointSeed.Combine"/> takes in role order.</summary>
    protected abstract byte[] CombineSeed(byte[] ownShare, byte[] peerShare);
    /// <summary>After the shuffle: what the role derives from the send order.</summary>
    protected virtual void OnShuffled() { }
    /// <summary>A chunk of the peer's points, now raised to this party's scalar too.</summary>
    protected virtual ValueTask OnPeerPointsRaisedAsync(int start, ReadOnlyMemory<byte> raised, CancellationToken ct) => ValueTask.CompletedTask;
    /// <summary>How many of its own points the peer returns re-blinded.</summary>
    protected virtual int ReblindedDue => 0;
    /// <summary>Takes a chunk of own points the peer re-blinded; false where this role expects none.</summary>
    protected virtual bool TryTakeReblinded(PeerMessage message, int start, out int count) { count = 0; return false; }
    /// <summary>The intersection and its report: this party's rows in canonical order and their digest.</summary>
    protected abstract Task<(int[] Rows, byte[] Digest)> AlignAsync(MessagePump pump, int chunk, CancellationToken ct);
    /// <summary>Writes own-items.bin: the role's per-own-ID state under the sorted digests.</summary>
    protected abstract void WriteOwnItems(string folder, ReadOnlySpan<DigestEntry> sortedDigests);
    /// <summary>(M's, E's) ID count of this alignment.</summary>
    protected abstract (long Music, long External) PartyTotals(long peerTotal);
    /// <summary>Writes the role's files of an M-only intersection and names them in the result.</summary>
    protected abstract PsiResult WithRoleFiles(PsiResult result);

    // ---------------------------------------------------------------- the run

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
            await ScanOwnIdsAsync(token).ConfigureAwait(false);

            var nonce = RandomNumberGenerator.GetBytes(32);
            var share = RandomNumberGenerator.GetBytes(JointSeed.ShareBytes);
            pump = new MessagePump(channel, LastPeerMessage, PeerName, options.MessageTimeout, token);
            await SendAsync(PsiWire.Control(PsiWire.Hello, new PsiWire.HelloMessage(
                PsiWire.Protocol, role.Name(), DomainHash, Round, PreviousStateId, PriorOwnCount, NewIndices.Length,
                options.ChunkPoints, Convert.ToHexString(JointSeed.Commit(nonce, share)), options.IntersectionForMusicOnly)), token).ConfigureAwait(false);
            var hello = CheckHello(PsiWire.ParseControl<PsiWire.HelloMessage>(await pump.ExpectAsync(PsiWire.Hello, token).ConfigureAwait(false)));

            // Reveal only after the peer's commitment is in hand.
            await SendAsync(PsiWire.Control(PsiWire.Reveal, new PsiWire.RevealMessage(Convert.ToHexString(nonce), Convert.ToHexString(share))), token).ConfigureAwait(false);
            var reveal = PsiWire.ParseControl<PsiWire.RevealMessage>(await pump.ExpectAsync(PsiWire.Reveal, token).ConfigureAwait(false));
            var peerNonce = PsiWire.Hex("nonce", reveal.Nonce, 32, PsiWire.Reveal);
            var peerShare = PsiWire.Hex("share", reveal.Share, JointSeed.ShareBytes, PsiWire.Reveal);
            if (!CryptographicOperations.FixedTimeEquals(JointSeed.Commit(peerNonce, peerShare), PsiWire.Hex("seedCommit", hello.SeedCommit, 32, PsiWire.Hello)))
                throw new ProtocolViolationException("psi.reveal: the peer's seed share does not match its commitment");
            var seed = CombineSeed(share, peerShare);

            await BlindOwnNewIdsAsync(token).ConfigureAwait(false);
            Shuffle();
            int chunk = Math.Min(options.ChunkPoints, hello.ChunkPoints);
            sender = Task.Run(() => SendBlindedAsync(chunk, token), token);
            await ExchangeAsync(pump, token).ConfigureAwait(false);
            await sender.ConfigureAwait(false);
            _ownBlinded = []; // sent and answered: release before the sort-heavy intersection
            Perm = [];

            var (rowSourceIndex, rowsDigest) = await AlignAsync(pump, chunk, token).ConfigureAwait(false);
            return await PersistAsync(started, clock, seed, rowSourceIndex, rowsDigest, token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException and not PeerAbortedException)
        {
            // Tell the peer to stop waiting; the abort carries a category, never an ID or a detail of our input.
            await linked.CancelAsync().ConfigureAwait(false);
            await Quietly(sender).ConfigureAwait(false);
            if (pump is not null) await pump.DisposeAsync().ConfigureAwait(false);
            pump = null;
            await PeerAbort.TrySendAsync(channel, e).ConfigureAwait(false);
            throw;
        }
        finally
        {
            if (!linked.IsCancellationRequested) await linked.CancelAsync().ConfigureAwait(false);
            await Quietly(sender).ConfigureAwait(false);
            if (pump is not null) await pump.DisposeAsync().ConfigureAwait(false);
            _keys?.Dispose();
            Prior?.Keys.Dispose();
        }
    }

    private void LoadKeys()
    {
        if (options.PreviousJobFolder is not null)
        {
            Prior = PsiJobStore.LoadPrior(options.PreviousJobFolder, role, DomainHash);
            _keys = PsiKeys.FromBytes(Prior.Keys.Scalar, Prior.Keys.IdKey);
        }
        else if (options.ReuseKeysFrom is not null)
        {
            var m = PsiJobStore.ReadManifest(options.ReuseKeysFrom, role, DomainHash);
            _keys = PsiJobStore.ReadKeys(options.ReuseKeysFrom, m, role);
        }
        else _keys = PsiKeys.Generate();
    }

    /// <summary>Pass 1: keyed digests of all own IDs; rejects duplicates; splits IDs into seen-before and new.</summary>
    private async Task ScanOwnIdsAsync(CancellationToken ct)
    {
        var entries = new List<DigestEntry>();
        var digests = new UInt128[BlockSize];
        await foreach (var (block, count, first) in source.ReadBlocksAsync(BlockSize, ct).ConfigureAwait(false))
        {
            if (first + count > PsiWire.MaxPoints) throw new PsiInputException($"{source.Description} has more than {PsiWire.MaxPoints} IDs");
            Work.ForRanges(count, options.MaxDegreeOfParallelism, (s, e) =>
            {
                for (int i = s; i < e; i++) digests[i] = _keys.Digest(block[i]);
            });
            for (int i = 0; i < count; i++) entries.Add(new DigestEntry(digests[i], (int)first + i));
        }
        int n = OwnCount = entries.Count;
        _digestByIndex = new UInt128[n];
        foreach (var e in entries) _digestByIndex[e.Index] = e.Digest;
        _sortedDigests = entries.ToArray();
        entries = null;
        Array.Sort(_sortedDigests);
        await RejectDuplicatesAsync(ct).ConfigureAwait(false);

        _isNew = new bool[n];
        AllocateOwnState();
        var priorDigests = Prior?.OwnDigests ?? [];
        long missing = 0;
        int p = 0;
        foreach (var e in _sortedDigests)
        {
            while (p < priorDigests.Length && priorDigests[p] < e.Digest) { missing++; p++; }
            if (p < priorDigests.Length && priorDigests[p] == e.Digest) KeepPrior(p++, e.Index);
            else _isNew[e.Index] = true;
        }
        missing += priorDigests.Length - p;
        if (missing > 0)
            throw new PsiInputException(
                $"{missing} IDs of earlier rounds are missing from {source.Description}; a delta round needs every earlier ID " +
                "(append-only list); run a full PSI without PreviousJobFolder to drop IDs");
        var fresh = new int[n - priorDigests.Length];
        int k = 0;
        for (int i = 0; i < n; i++) if (_isNew[i]) fresh[k++] = i;
        NewIndices = fresh;
    }

    private async Task RejectDuplicatesAsync(CancellationToken ct)
    {
        int duplicates = 0;
        (int A, int B) first = (-1, -1);
        for (int i = 1; i < _sortedDigests.Length; i++)
        {
            if (_sortedDigests[i].Digest != _sortedDigests[i - 1].Digest) continue;
            if (duplicates++ == 0) first = (Math.Min(_sortedDigests[i - 1].Index, _sortedDigests[i].Index), Math.Max(_sortedDigests[i - 1].Index, _sortedDigests[i].Index));
        }
        if (duplicates == 0) return;
        string id = await source.ReadAsync(ct).Skip(first.A).FirstAsync(ct).ConfigureAwait(false);
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
        int expectedPrior = Prior?.PeerCount ?? 0;
        if (h.PriorCount != expectedPrior)
            throw new ProtocolViolationException($"psi.hello: the peer had {h.PriorCount} IDs in earlier rounds, this party's state records {expectedPrior}");
        if (h.NewCount < 0 || h.NewCount + expectedPrior > PsiWire.MaxPoints)
            throw new ProtocolViolationException($"psi.hello: new ID count {h.NewCount} out of range");
        if (h.ChunkPoints is < 1 or > 1 << 20) throw new ProtocolViolationException($"psi.hello: chunk size {h.ChunkPoints} out of range");
        if (h.IntersectionForMusicOnly != options.IntersectionForMusicOnly)
            throw new ProtocolViolationException($"psi.hello: the peer runs {(h.IntersectionForMusicOnly ? "an M-only" : "a two-sided")} intersection, this party {(options.IntersectionForMusicOnly ? "an M-only" : "a two-sided")} one");
        PsiWire.Hex("seedCommit", h.SeedCommit, 32, PsiWire.Hello);
        PeerPrior = expectedPrior;
        PeerNew = (int)h.NewCount;
        return h;
    }

    /// <summary>Pass 2: H(id)^k for the new IDs, hashing and multiplying on all workers.</summary>
    private async Task BlindOwnNewIdsAsync(CancellationToken ct)
    {
        _ownBlinded = new byte[(long)NewIndices.Length * 32];
        var picked = new int[BlockSize];
        int slot = 0;
        long seen = 0;
        await foreach (var (block, count, first) in source.ReadBlocksAsync(BlockSize, ct).ConfigureAwait(false))
        {
            int m = 0;
            for (int i = 0; i < count; i++)
                if (first + i < OwnCount && _isNew[first + i]) picked[m++] = i;
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
        if (seen != OwnCount || slot != NewIndices.Length)
            throw new PsiInputException($"{source.Description} returned {seen} IDs on the second read, {OwnCount} on the first; the source must be stable");
    }

    private void Shuffle()
    {
        int count = NewIndices.Length;
        var perm = new int[count];
        for (int i = 0; i < count; i++) perm[i] = i;
        for (int i = count - 1; i > 0; i--)
        {
            int j = RandomNumberGenerator.GetInt32(i + 1);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        Perm = perm;
        OnShuffled();
    }

    private async Task SendBlindedAsync(int chunk, CancellationToken ct)
    {
        int count = NewIndices.Length;
        for (int j = 0; j < count; j += chunk)
        {
            int c = Math.Min(chunk, count - j);
            var payload = PsiWire.NewChunk(j, c, PsiWire.PointEntryBytes);
            for (int k = 0; k < c; k++)
                _ownBlinded.AsSpan(Perm[j + k] * 32, 32).CopyTo(payload.AsSpan(PsiWire.ChunkHeaderBytes + k * 32));
            Volatile.Write(ref _sentPoints, j + c); // before the send: the reply may overtake this thread
            await SendAsync(new PeerMessage(PsiWire.Blinded, payload), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Raises the peer's points to our scalar and takes back what the role expects re-blinded.</summary>
    private async Task ExchangeAsync(MessagePump pump, CancellationToken ct)
    {
        PeerValues = new byte[(long)(PeerPrior + PeerNew) * 32];
        Prior?.PeerValues.CopyTo(PeerValues, 0);
        int gotBlinded = 0, gotReblinded = 0, reblindedDue = ReblindedDue;
        while (gotBlinded < PeerNew || gotReblinded < reblindedDue)
        {
            var message = await pump.ReadAsync($"{PsiWire.Blinded} or {PsiWire.Reblinded}", ct).ConfigureAwait(false);
            if (message.MessageType == PsiWire.Blinded)
            {
                var points = PsiWire.ParseChunk(message, PsiWire.PointEntryBytes, options.ChunkPoints, gotBlinded, PeerNew);
                int count = points.Length / 32;
                var dest = PeerValues.AsMemory((PeerPrior + gotBlinded) * 32, count * 32);
                int bad = MultiplyAll(points, dest);
                if (bad >= 0)
                    throw new ProtocolViolationException(
                        $"psi.blinded: the point at position {gotBlinded + bad} is not a valid ristretto255 encoding (or is the identity)");
                await OnPeerPointsRaisedAsync(gotBlinded, dest, ct).ConfigureAwait(false);
                gotBlinded += count;
            }
            else if (message.MessageType == PsiWire.Reblinded && TryTakeReblinded(message, gotReblinded, out int taken))
                gotReblinded += taken;
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

    /// <summary>The peer's double-blinded values as sortable keys, by peer ordinal.</summary>
    protected PointKey PeerValue(int ordinal) => PointKey.From(PeerValues.AsSpan(ordinal * 32, 32));

    private async Task<PsiResult> PersistAsync(DateTimeOffset started, Stopwatch clock, byte[] seed, int[] rowSourceIndex, byte[] rowsDigest, CancellationToken ct)
    {
        string folder = options.JobFolder;
        string keysPath = Path.Combine(folder, PsiJobStore.AlignedKeysFile);
        string indexPath = Path.Combine(folder, PsiJobStore.AlignedIndexFile);
        await AlignedKeysWriter.WriteAsync(source, rowSourceIndex, i => _digestByIndex[i], _keys, keysPath, indexPath, ct).ConfigureAwait(false);
        PsiJobStore.WriteKeys(folder, role, _keys);
        WriteOwnItems(folder, _sortedDigests);
        PsiJobStore.WritePeerValues(folder, PeerValues);

        long peerTotal = PeerPrior + PeerNew;
        var (musicTotal, externalTotal) = PartyTotals(peerTotal);
        string stateId = StateId(seed, rowsDigest, musicTotal, externalTotal);
        var files = new Dictionary<string, string>();
        foreach (var f in new[] { PsiJobStore.AlignedKeysFile, PsiJobStore.AlignedIndexFile, PsiJobStore.KeysFile, PsiJobStore.OwnItemsFile, PsiJobStore.PeerValuesFile })
            files[f] = PsiJobStore.FileSha256(Path.Combine(folder, f));
        var elapsed = clock.Elapsed;
        PsiJobStore.WriteManifest(folder, new PsiJobStore.Manifest(
            PsiJobStore.ManifestFormat, role.Name(), DomainHash, Round, stateId, PreviousStateId,
            options.PreviousJobFolder is null ? null : Path.GetFullPath(options.PreviousJobFolder),
            OwnCount, NewIndices.Length, peerTotal, PeerNew, rowSourceIndex.Length, Convert.ToHexString(seed).ToLowerInvariant(),
            Convert.ToHexString(rowsDigest).ToLowerInvariant(), started, DateTimeOffset.UtcNow, elapsed.TotalSeconds, files));
        return WithRoleFiles(new PsiResult(role, Path.GetFullPath(folder), Round, OwnCount, NewIndices.Length, peerTotal, PeerNew, rowSourceIndex.Length,
            keysPath, indexPath, seed, stateId, elapsed));
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

    /// <summary>Sends one message; IPeerChannel implementations need not accept concurrent sends, and E sends from two loops.</summary>
    protected async ValueTask SendAsync(PeerMessage message, CancellationToken ct)
    {
        await _sendLock.WaitAsync(ct).ConfigureAwait(false);
        try { await channel.SendAsync(message, ct).ConfigureAwait(false); }
        finally { _sendLock.Release(); }
    }

    private static async Task Quietly(Task? task)
    {
        if (task is null) return;
        try { await task.ConfigureAwait(false); } catch { /* reported by the main path */ }
    }
}
