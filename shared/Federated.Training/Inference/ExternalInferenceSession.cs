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
/// E's side of a live inference session (docs/protocol.md §4.4): reopens its final tower of a finished training job
/// (features encoded exactly as in training: the preprocessor refitted on the same aligned rows), announces fresh CKKS
/// keys, runs the session's PSI with all its users, then serves M's requests until M closes the session or the job is
/// cancelled: it re-blinds each lookup, checks the rows M asks for and runs F1..F3 forward only. E learns the sizes
/// and the padded set of rows, never which rows are wanted nor any result.
/// </summary>
public static class ExternalInferenceSession
{
    private const string Peer = "music party (M)";

    public static async Task<InferenceSessionStats> ServeAsync(IPeerChannel peer, PartyJobPaths paths, InferenceSessionOptions options,
        IProgress<InferenceSessionStats>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var training = options.Training;
        training.RequireModeAllowed();
        var link = new PeerLink(peer, Peer, training.MessageTimeout);
        var folder = options.Folder(paths);
        try
        {
            return await ServeCoreAsync(peer, link, paths, options, folder, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not PeerTimeoutException)
        {
            await link.TryAbortAsync(e).ConfigureAwait(false);
            throw;
        }
        finally
        {
            try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
            catch (IOException) { /* removed with the job folder */ }
        }
    }

    private static async Task<InferenceSessionStats> ServeCoreAsync(IPeerChannel peer, PeerLink link, PartyJobPaths paths, InferenceSessionOptions options,
        string folder, IProgress<InferenceSessionStats>? progress, CancellationToken ct)
    {
        var training = options.Training;
        TorchRuntime.Initialise(training.TorchThreads);
        var files = TrainedModelFiles.Find(paths, training, ExternalPartyJob.Party);
        var data = await ExternalPartyData.OpenAsync(paths.DataFolder, ct).ConfigureAwait(false);
        await data.FitAndEncodeAsync(files.Alignment.SourceIndex().ToHashSet(), ct).ConfigureAwait(false);
        var features = data.Features!;
        ulong seed = JobAlignment.PartySeed(paths);
        using var tower = PartyModels.NewExternalTower(features, training.Model, seed);
        using var role = PartyModels.NewExternalRole(training, files.Alignment.Rows, tower, seed);
        ExternalCheckpoint.Restore(files.CheckpointFolder, tower, role, files.FinalStep);

        var hello = new InferenceHello(ExternalPartyJob.Party, training.AgreementFingerprint(), files.Alignment.StateId, files.FinalStep,
            options.DecoyFactor, options.MaxUsersPerRequest);
        await link.SendJsonAsync(InferenceMessages.Hello, hello, ct).ConfigureAwait(false);
        InferenceMessages.CheckHellos(hello, await link.ReceiveJsonAsync<InferenceHello>(InferenceMessages.Hello, ct).ConfigureAwait(false), training);

        await link.SendSplitAsync(role.AnnounceKeys(), ct).ConfigureAwait(false);
        role.Handle(await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.KeyAnnouncement, ct).ConfigureAwait(false));

        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        var psiFolder = Path.Combine(folder, "psi");
        var keys = data.Keys;
        var psi = await PsiParty.RunAsync(PsiRole.External, peer, IdSource.FromEnumerable(() => keys, "E users table keys"),
            new PsiOptions { Domain = options.PsiDomain, JobFolder = psiFolder, MessageTimeout = training.MessageTimeout, IntersectionForMusicOnly = true }, ct)
            .ConfigureAwait(false);
        var sourceOfOrdinal = IndexFile.Read(psi.OrdinalSourceIndexPath!);
        using var lookup = PsiLookupExternal.Open(psiFolder, options.PsiDomain);

        long requests = 0, asked = 0, served = 0;
        while (true)
        {
            // Idle between requests for as long as the session is open: no timeout here, the job's cancellation ends it.
            var message = await peer.ReceiveAsync(ct).ConfigureAwait(false);
            PeerAbort.ThrowIfAbort(message, Peer);
            if (message.MessageType == InferenceMessages.Close) break;
            if (message.MessageType != InferenceMessages.Lookup)
                throw new ProtocolViolationException($"expected '{InferenceMessages.Lookup}' or '{InferenceMessages.Close}' from the {Peer}, received '{message.MessageType}'");
            var reply = lookup.Reblind(message.Payload.Span, options.MaxLookupPoints);
            int points = reply.Length / Ristretto255.PointBytes;
            await link.SendAsync(InferenceMessages.LookupReply, reply, ct).ConfigureAwait(false);

            var request = await link.ReceiveAsync(InferenceMessages.Rows, ct).ConfigureAwait(false);
            var rows = InferenceRows.Resolve(request.Payload.Span, sourceOfOrdinal, points, InferenceMessages.Rows);
            for (int start = 0; start < rows.Length; start += training.BatchSize)
            {
                var part = rows[start..Math.Min(rows.Length, start + training.BatchSize)];
                var batch = new ExternalBatch(part.Length, features.CategoricalRows(part), features.DenseRows(part));
                await link.SendSplitAsync(role.BeginInference(batch), ct).ConfigureAwait(false);
                var f2 = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.F2, ct).ConfigureAwait(false);
                await link.SendSplitAsync(role.Handle(f2)!, ct).ConfigureAwait(false);
            }
            requests++;
            asked += points / options.DecoyFactor;
            served += rows.Length;
            progress?.Report(new InferenceSessionStats(requests, asked, served));
        }
        return new InferenceSessionStats(requests, asked, served);
    }
}
