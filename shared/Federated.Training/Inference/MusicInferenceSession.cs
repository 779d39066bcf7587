using Federated.Core;
using Federated.Crypto.Psi;
using Federated.Learning;
using Federated.Learning.Model;
using Federated.Learning.Protocol.V1;
using Federated.Learning.Split;
using Federated.Training.Data;
using Federated.Training.Jobs;

namespace Federated.Training.Inference;

/// <summary>
/// M's side of a live inference session (docs/protocol.md §4.4): the final model of a finished training job, reopened
/// with fresh CKKS keys, answering requests for user vectors of users E knows and M does not. Per request: a PSI lookup
/// padded to DecoyFactor x the request's size (E sees random points), the found users' rows among uniformly drawn
/// decoys (E sees a padded set of rows of the same size whichever users are real), then F1..F3 forward only. One
/// request at a time; the answers (vectors) never leave M. A failure in the middle of a request ends the session (the
/// peer is told the failure's category), and later requests are refused.
/// </summary>
public sealed class MusicInferenceSession : IAsyncDisposable
{
    private const string Peer = "external party (E)";
    private readonly PeerLink _link;
    private readonly InferenceSessionOptions _options;
    private readonly MusicTopModel _top;
    private readonly SongCatalog _catalog;
    private readonly MusicPartyRole _role;
    private readonly PsiLookupMusic _lookup;
    private readonly HashSet<int> _alignedOrdinals;
    private readonly HashSet<string> _alignedUsers;
    private readonly string _folder;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _lifetime = new();
    private Exception? _fault;
    private long _requests, _asked, _rows;
    private bool _closed;
    private int _disposed;

    private MusicInferenceSession(PeerLink link, InferenceSessionOptions options, MusicTopModel top, SongCatalog catalog, MusicPartyRole role,
        PsiLookupMusic lookup, HashSet<int> alignedOrdinals, HashSet<string> alignedUsers, string folder)
    {
        _link = link;
        _options = options;
        _top = top;
        _catalog = catalog;
        _role = role;
        _lookup = lookup;
        _alignedOrdinals = alignedOrdinals;
        _alignedUsers = alignedUsers;
        _folder = folder;
    }

    public InferenceSessionOptions Options => _options;

    /// <summary>Counts so far (no ids, no values).</summary>
    public InferenceSessionStats Stats => new(Interlocked.Read(ref _requests), Interlocked.Read(ref _asked), Interlocked.Read(ref _rows));

    /// <summary>Null while the session can answer; otherwise why it cannot.</summary>
    public string? Unavailable => _closed ? "the inference session is closed" : _fault is { } f ? $"the inference session failed: {f.Message}" : null;

    /// <summary>Reopens M's final model of the training job in <paramref name="paths"/>, agrees with E and runs the session's PSI.</summary>
    public static async Task<MusicInferenceSession> OpenAsync(IPeerChannel peer, PartyJobPaths paths, InferenceSessionOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var training = options.Training;
        training.RequireModeAllowed();
        var link = new PeerLink(peer, Peer, training.MessageTimeout);
        MusicTopModel? top = null;
        SongCatalog? catalog = null;
        MusicPartyRole? role = null;
        PsiLookupMusic? lookup = null;
        try
        {
            TorchRuntime.Initialise(training.TorchThreads);
            var files = TrainedModelFiles.Find(paths, training, MusicPartyJob.Party);
            var data = await MusicPartyData.LoadAsync(paths.DataFolder, ct).ConfigureAwait(false);
            var aligned = await File.ReadAllLinesAsync(files.Alignment.AlignedKeysPath, ct).ConfigureAwait(false);
            if (aligned.Length != files.Alignment.Rows)
                throw new InvalidDataException($"{files.Alignment.AlignedKeysPath}: {aligned.Length} keys for {files.Alignment.Rows} aligned rows");
            ulong seed = JobAlignment.PartySeed(paths);
            catalog = ModelShapes.Catalog(data, training.Model);
            top = PartyModels.NewMusicTop(data, training.Model, seed);
            role = PartyModels.NewMusicRole(training, files.Alignment.Rows, top, catalog, seed);
            MusicCheckpoint.Restore(files.CheckpointFolder, top, role, files.FinalStep);

            var hello = new InferenceHello(MusicPartyJob.Party, training.AgreementFingerprint(), files.Alignment.StateId, files.FinalStep,
                options.DecoyFactor, options.MaxUsersPerRequest);
            await link.SendJsonAsync(InferenceMessages.Hello, hello, ct).ConfigureAwait(false);
            InferenceMessages.CheckHellos(hello, await link.ReceiveJsonAsync<InferenceHello>(InferenceMessages.Hello, ct).ConfigureAwait(false), training);

            // Fresh HE keys for the session: E announces, M answers.
            var keys = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.KeyAnnouncement, ct).ConfigureAwait(false);
            await link.SendSplitAsync(role.Handle(keys)!, ct).ConfigureAwait(false);

            // The session's M-only PSI over the aligned users: M learns their ordinals at E (never decoys) and keeps E's
            // double-blinded values for the lookups.
            var folder = options.Folder(paths);
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            var psiFolder = Path.Combine(folder, "psi");
            var psi = await PsiParty.RunAsync(PsiRole.Music, peer, IdSource.FromEnumerable(() => aligned, "the training job's aligned users"),
                new PsiOptions { Domain = options.PsiDomain, JobFolder = psiFolder, MessageTimeout = training.MessageTimeout, IntersectionForMusicOnly = true }, ct)
                .ConfigureAwait(false);
            var alignedOrdinals = psi.IntersectionSize == 0 ? [] : IndexFile.Read(psi.PeerOrdinalsPath!).Select(v => checked((int)v)).ToHashSet();
            lookup = PsiLookupMusic.Open(psiFolder, options.PsiDomain);
            return new MusicInferenceSession(link, options, top, catalog, role, lookup, alignedOrdinals, aligned.ToHashSet(StringComparer.Ordinal), folder);
        }
        catch (Exception e)
        {
            if (e is not PeerTimeoutException) await link.TryAbortAsync(e).ConfigureAwait(false);
            lookup?.Dispose();
            role?.Dispose();
            catalog?.Dispose();
            top?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// User vectors (L2-normalised, one row of the model's width each) for <paramref name="users"/>, computed with E.
    /// <paramref name="cancellationToken"/> cancels the wait for an earlier request only: once sent, a request runs to
    /// its end (stopping half-way would leave the parties out of step).
    /// </summary>
    public async Task<InferredUsers> InferAsync(IReadOnlyList<string> users, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(users);
        if (users.Count == 0) throw new ArgumentException("no users to infer", nameof(users));
        if (users.Count > _options.MaxUsersPerRequest)
            throw new ArgumentException($"{users.Count} users in one request, more than the session's {_options.MaxUsersPerRequest}", nameof(users));
        if (users.Distinct(StringComparer.Ordinal).Count() != users.Count) throw new ArgumentException("a user is asked twice", nameof(users));
        try { await _gate.WaitAsync(cancellationToken).ConfigureAwait(false); }
        catch (ObjectDisposedException) { throw new InvalidOperationException("the inference session is closed"); }
        try
        {
            if (Unavailable is { } why) throw new InvalidOperationException(why);
            try
            {
                return await InferCoreAsync(users, _lifetime.Token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _fault = e;
                if (e is not PeerTimeoutException and not PeerAbortedException) await _link.TryAbortAsync(e).ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<InferredUsers> InferCoreAsync(IReadOnlyList<string> users, CancellationToken ct)
    {
        int n = users.Count;
        var sources = new InferredSource[n];
        var vectors = new float[]?[n];
        var ask = new List<int>();
        for (int i = 0; i < n; i++)
        {
            if (_alignedUsers.Contains(users[i])) sources[i] = InferredSource.Aligned;
            else ask.Add(i);
        }

        // 1. Lookup, padded to DecoyFactor x n points whatever the request holds.
        int padded = _options.DecoyFactor * n;
        var query = _lookup.Blind(ask.Select(i => users[i]).ToArray(), padded);
        await _link.SendAsync(InferenceMessages.Lookup, query.Payload, ct).ConfigureAwait(false);
        var reply = await _link.ReceiveAsync(InferenceMessages.LookupReply, ct).ConfigureAwait(false);
        var ordinals = _lookup.Match(query, reply.Payload.Span);
        var wanted = new List<int>();
        var wantedUser = new List<int>();
        for (int a = 0; a < ask.Count; a++)
        {
            int i = ask[a];
            if (ordinals[a] < 0) sources[i] = InferredSource.NotAtExternal;
            else if (_alignedOrdinals.Contains(ordinals[a])) sources[i] = InferredSource.Aligned;
            else
            {
                sources[i] = InferredSource.Federated;
                wanted.Add(ordinals[a]);
                wantedUser.Add(i);
            }
        }

        // 2. Rows: the found users among decoys, padded x rows in all.
        var rows = InferenceRows.Plan(wanted, _lookup.PeerCount, _alignedOrdinals, padded);
        await _link.SendAsync(InferenceMessages.Rows, rows.ToPayload(), ct).ConfigureAwait(false);

        // 3. F1..F3 forward only, in batches of the training batch size; M's "unknown user" path (no M user features).
        int total = rows.Ordinals.Count, d = 0;
        float[] all = [];
        int columns = _top.Options.Users?.CategoricalCardinalities.Count ?? 0;
        for (int start = 0; start < total; start += _options.Training.BatchSize)
        {
            int count = Math.Min(_options.Training.BatchSize, total - start);
            if (_top.Options.Users is null) _role.PrepareInference(count);
            else _role.PrepareInference(count, new long[(long)count * columns], new bool[count]);
            var f1 = await _link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.F1, ct).ConfigureAwait(false);
            await _link.SendSplitAsync(_role.Handle(f1)!, ct).ConfigureAwait(false);
            var f3 = await _link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.F3, ct).ConfigureAwait(false);
            if (_role.Handle(f3) is not null) throw new InvalidOperationException("M answered F3 of an inference");
            var batch = TrainedEmbeddings.Rows(_role.LastUserVectors!);
            if (d == 0)
            {
                d = batch.Length / count;
                all = new float[(long)total * d];
            }
            batch.CopyTo(all.AsSpan(start * d));
        }
        for (int w = 0; w < wanted.Count; w++)
            vectors[wantedUser[w]] = all.AsSpan(rows.WantedRows[w] * d, d).ToArray();
        Interlocked.Increment(ref _requests);
        Interlocked.Add(ref _asked, n);
        Interlocked.Add(ref _rows, total);
        return new InferredUsers(users, vectors, sources, total);
    }

    /// <summary>Tells E the session ends (when it still can), then frees the model, keys and the session's PSI folder.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_closed && _fault is null)
            {
                try { await _link.SendAsync(InferenceMessages.Close, [], CancellationToken.None).ConfigureAwait(false); }
                catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException or ObjectDisposedException) { /* the peer is gone */ }
            }
            _closed = true;
            await _lifetime.CancelAsync().ConfigureAwait(false);
            _lookup.Dispose();
            _role.Dispose();
            _catalog.Dispose();
            _top.Dispose();
            _lifetime.Dispose();
            try { if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true); }
            catch (IOException) { /* removed with the job folder */ }
        }
        finally
        {
            _gate.Release();
        }
        _gate.Dispose();
    }
}
