using System.Diagnostics;
using Federated.Core;
using Federated.Crypto.Psi;
using Federated.Learning;
using Federated.Learning.Crypto;
using Federated.Learning.Crypto.Ckks;
using Federated.Learning.Model;
using Federated.Learning.Protocol.V1;
using Federated.Learning.Split;
using Federated.Training.Checkpoints;
using Federated.Training.Data;

namespace Federated.Training.Jobs;

/// <summary>
/// M's side of a federated training job, transport-independent: its tables (songs, interactions, its own user
/// features) -> hello and PSI alignment over the users it can train on -> the split-training steps in the joint batch
/// order (labels, loss, label DP stay here), with checkpoints -> the evaluation: a second PSI finds which of the
/// requested users E knows, F1..F3 give z_E for them, and M ranks its warm songs. The ranked lists are M's output;
/// scoring them against held-out truth is the evaluation harness's job, not M's.
/// </summary>
public static class MusicPartyJob
{
    public const string Party = MusicPartyData.Party;

    /// <param name="evaluationUsers">Users to rank for (e.g. cold-start users new to M); their features come from E only.</param>
    public static async Task<MusicJobResult> RunAsync(IPeerChannel peer, PartyJobPaths paths, TrainingJobOptions options,
        IReadOnlyList<string> evaluationUsers, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evaluationUsers);
        return await PartyJobRunner.RunAsync(peer, paths, options, "external party (E)",
            link => RunCoreAsync(link, paths, options, evaluationUsers, progress, cancellationToken)).ConfigureAwait(false);
    }

    private static async Task<MusicJobResult> RunCoreAsync(PeerLink link, PartyJobPaths paths, TrainingJobOptions options,
        IReadOnlyList<string> evaluationUsers, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        TorchRuntime.Initialise(options.TorchThreads);
        Directory.CreateDirectory(paths.JobFolder);
        var clock = Stopwatch.StartNew();
        var data = await MusicPartyData.LoadAsync(paths.DataFolder, ct).ConfigureAwait(false);
        var trainable = data.TrainableUsers.ToArray();
        var loading = clock.Elapsed;

        clock.Restart();
        var checkpoints = new CheckpointStore(paths.JobFolder, options.Round, options.CheckpointsKept);
        var (alignment, resumeStep) = await JobAlignment.AgreeAndAlignAsync(PsiRole.Music, link, Party, options, paths,
            IdSource.FromEnumerable(() => trainable, "M users with training interactions"), checkpoints, ct).ConfigureAwait(false);
        var alignedUsers = await File.ReadAllLinesAsync(alignment.AlignedKeysPath, ct).ConfigureAwait(false);
        if (alignedUsers.Length != alignment.Rows)
            throw new InvalidDataException($"{alignment.AlignedKeysPath}: {alignedUsers.Length} keys for {alignment.Rows} aligned rows");
        var alignmentTime = clock.Elapsed;

        clock.Restart();
        ulong seed = JobAlignment.PartySeed(paths);
        var schedule = new TrainingSchedule(alignment.JointSeed, (int)alignment.Rows, options.BatchSize, options.Epochs);
        RequireWithinEpsilonCap(options, schedule);
        var batches = new MusicBatchBuilder(data, alignedUsers, seed, options.MusicUserFeatureDropout, options.Model);
        using var catalog = ModelShapes.Catalog(data, options.Model);
        var top = PartyModels.NewMusicTop(data, options.Model, seed);
        if (resumeStep == 0)
            MusicPretraining.Run(top, catalog, data, options, seed, options.Model.MusicPretrainEpochs, progress, Party, ct);
        using var role = PartyModels.NewMusicRole(options, alignment.Rows, top, catalog, seed);
        if (resumeStep > 0) MusicCheckpoint.Restore(checkpoints.PathOf(resumeStep), top, role, resumeStep);

        // M answers E's key announcement with its own.
        var keys = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.KeyAnnouncement, ct).ConfigureAwait(false);
        var announcement = role.Handle(keys);
        await link.SendSplitAsync(announcement!, ct).ConfigureAwait(false);

        double? lastLoss = null;
        for (ulong step = resumeStep; step < schedule.TotalSteps; step++)
        {
            ct.ThrowIfCancellationRequested();
            var musicBatch = batches.Batch(schedule.EpochOf(step), schedule.Rows(step));
            role.PrepareStep(musicBatch);
            var f1 = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.F1, ct).ConfigureAwait(false);
            var f2 = role.Handle(f1);
            await link.SendSplitAsync(f2!, ct).ConfigureAwait(false);
            var f3 = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.F3, ct).ConfigureAwait(false);
            var b2 = role.Handle(f3);
            await link.SendSplitAsync(b2!, ct).ConfigureAwait(false);
            var b3 = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.B3, ct).ConfigureAwait(false);
            var b4 = role.Handle(b3);
            await link.SendSplitAsync(b4!, ct).ConfigureAwait(false);
            ulong done = step + 1;
            lastLoss = role.LastReport?.Loss;
            if (ExternalPartyJob.CheckpointDue(options, done, schedule.TotalSteps))
                checkpoints.Save(done, folder => MusicCheckpoint.Save(folder, top, role, done));
            progress?.Report(new TrainingProgress(Party, "training", done, schedule.TotalSteps, lastLoss, role.LastReport?.Epsilon));
        }
        var (epsilon, delta) = MusicCheckpoint.Spent(role, options);
        SaveModel(paths, options, top, role);
        var training = clock.Elapsed;

        // Evaluation (docs/protocol.md §4): an M-only PSI over the requested users and every user M knows, a request
        // to E padded with decoys from E's users unknown to M, their z_E through F1..F3, ranking of M's warm songs.
        clock.Restart();
        var requested = evaluationUsers.Distinct(StringComparer.Ordinal).ToHashSet(StringComparer.Ordinal);
        var query = requested.Concat(data.KnownUsers.Where(u => !requested.Contains(u))).ToArray();
        var evaluation = await JobAlignment.AlignEvaluationAsync(PsiRole.Music, link, options, paths,
            IdSource.FromEnumerable(() => query, "users to evaluate and users M knows"), ct).ConfigureAwait(false);
        var request = EvaluationRequest.Build(evaluation, requested, options.EvaluationDecoysPerUser);
        await link.SendAsync(PeerLink.EvalRequest, request.ToPayload(), ct).ConfigureAwait(false);
        var evalUsers = request.Users;
        var ranker = new SongRanker(top, catalog, data, options.RankingDepth);
        var rankings = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var userKeys = new List<string>();
        var userVectors = new List<float>();
        int dimensions = 0;
        for (int start = 0; start < evalUsers.Count; start += options.BatchSize)
        {
            // The roles' inference exchange (F1..F3, forward only): users new to M, so no M user features.
            int rows = Math.Min(options.BatchSize, evalUsers.Count - start);
            var (categorical, known) = ranker.UnknownUsers(rows);
            role.PrepareInference(rows, categorical, known);
            var f1 = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.F1, ct).ConfigureAwait(false);
            var f2 = role.Handle(f1);
            await link.SendSplitAsync(f2!, ct).ConfigureAwait(false);
            var f3 = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.F3, ct).ConfigureAwait(false);
            if (role.Handle(f3) is not null) throw new InvalidOperationException("M answered F3 of an inference");
            var lists = ranker.TopK(role.LastUserVectors!);
            var vectors = TrainedEmbeddings.Rows(role.LastUserVectors!);
            dimensions = vectors.Length / rows;
            for (int r = 0; r < rows; r++)
                if (evalUsers[start + r] is { } user) // decoys are dropped
                {
                    rankings[user] = lists[r];
                    userKeys.Add(user);
                    userVectors.AddRange(vectors.AsSpan(r * dimensions, dimensions));
                }
            progress?.Report(new TrainingProgress(Party, "evaluation", (ulong)(start + rows), (ulong)evalUsers.Count));
        }
        // The aligned users' vectors, with M's own features of them, for publication: E knows these rows are M's
        // users already, so the pass reveals nothing new; F1..F3 forward only, in the aligned row order.
        for (int start = 0; start < alignedUsers.Length; start += options.BatchSize)
        {
            int rows = Math.Min(options.BatchSize, alignedUsers.Length - start);
            var (categorical, known) = batches.UserFeatures(Enumerable.Range(start, rows).ToArray());
            role.PrepareInference(rows, categorical, known);
            var f1 = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.F1, ct).ConfigureAwait(false);
            await link.SendSplitAsync(role.Handle(f1)!, ct).ConfigureAwait(false);
            var f3 = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.F3, ct).ConfigureAwait(false);
            if (role.Handle(f3) is not null) throw new InvalidOperationException("M answered F3 of an inference");
            var vectors = TrainedEmbeddings.Rows(role.LastUserVectors!);
            dimensions = vectors.Length / rows;
            userKeys.AddRange(alignedUsers.AsSpan(start, rows));
            userVectors.AddRange(vectors);
            progress?.Report(new TrainingProgress(Party, "aligned users' vectors", (ulong)(start + rows), (ulong)alignedUsers.Length));
        }
        await link.SendAsync(PeerLink.EvalDone, [], ct).ConfigureAwait(false);
        var (itemKeys, items, itemDimensions) = TrainedEmbeddings.AllSongs(top, catalog, data);
        if (dimensions != 0 && dimensions != itemDimensions)
            throw new InvalidOperationException($"user vectors have {dimensions} dimensions but item vectors {itemDimensions}");
        var encoderFolder = Path.Combine(paths.JobFolder, "models", $"r{options.Round}", "new-song-encoder");
        NewSongEncoder.Write(encoderFolder, top, data);
        var embeddings = new TrainedEmbeddings(itemDimensions, itemKeys, items, [.. userKeys], [.. userVectors],
            TrainedEmbeddings.FingerprintSchemas(paths.DataFolder)) { NewSongKeys = TrainedEmbeddings.NewSongs(data), EncoderFolder = encoderFolder, UserPriors = TrainedEmbeddings.Priors(data, userKeys, options.Model.Temperature) };
        var evaluationTime = clock.Elapsed;

        return new MusicJobResult(options.Job, options.Round, options.Mode, options.SecurityNotice, alignment.Rows, schedule.TotalSteps,
            resumeStep, lastLoss, epsilon, delta, rankings, request.WantedCount, new PhaseTimings(loading, alignmentTime, training, evaluationTime), embeddings);
    }

    /// <summary>
    /// Refuses to train when the whole schedule would spend more label-DP ε than <see cref="TrainingJobOptions.MaxEpsilon"/>
    /// (projected with the ledger's own accounting over the schedule's batch sizes, before any gradient leaves M).
    /// </summary>
    internal static void RequireWithinEpsilonCap(TrainingJobOptions options, TrainingSchedule schedule)
    {
        if (options.MaxEpsilon is not { } cap) return;
        var batches = Enumerable.Range(0, (int)schedule.TotalSteps).Select(s => schedule.Rows((ulong)s).Length);
        var projected = LabelDpMechanism.Project(options.LabelDp, schedule.AlignedRows, batches)
            ?? throw new PrivacyBudgetExceededException($"training job {options.Job}: an ε cap of {cap} needs label DP, which is off");
        if (projected.Epsilon > cap)
            throw new PrivacyBudgetExceededException(
                $"training job {options.Job} would spend label-DP ε {projected.Epsilon:0.###} at δ {projected.Delta:0e0} over {schedule.TotalSteps} steps " +
                $"(batch {schedule.BatchSize} of {schedule.AlignedRows} aligned rows, noise multiplier {options.LabelDp!.NoiseMultiplier}), above its cap maxEpsilon = {cap}; " +
                "train fewer epochs, raise the noise multiplier, or raise the cap");
    }

    internal static IMusicPartyCryptoSession NewSession(TrainingJobOptions options, ulong seed)
    {
        options.RequireModeAllowed();
        return options.Mode == FederationMode.Encrypted
            ? new CkksMusicSession(options.Ckks, options.Model.BottomWidth)
            : new PlaintextReferenceMusicSession(new PlaintextReferenceOptions { AcknowledgeInsecure = true, Seed = (int)(seed % int.MaxValue) });
    }

    /// <summary>The trained top model and W_M, versioned per job and round, in M's job folder.</summary>
    private static void SaveModel(PartyJobPaths paths, TrainingJobOptions options, MusicTopModel top, MusicPartyRole role) =>
        PartyJobRunner.SaveModel(paths, options, top, "music-top.bin", role.ExportWeightHalf(), "weight-half-WM.bin");
}
