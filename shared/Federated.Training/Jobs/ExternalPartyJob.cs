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
/// E's side of a federated training job, transport-independent: hello and PSI alignment -> its users table
/// (preprocessing fitted on the aligned rows) -> the split-training steps of docs/protocol.md §2 in the joint
/// batch order, with checkpoints -> the evaluation forward pass (F1..F3) for the users M asks about (found by a
/// second PSI). E never sees labels, M's features or the results.
/// </summary>
public static class ExternalPartyJob
{
    public const string Party = ExternalPartyData.Party;

    public static Task<ExternalJobResult> RunAsync(IPeerChannel peer, PartyJobPaths paths, TrainingJobOptions options,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        PartyJobRunner.RunAsync(peer, paths, options, "music party (M)", link => RunCoreAsync(link, paths, options, progress, cancellationToken));

    private static async Task<ExternalJobResult> RunCoreAsync(PeerLink link, PartyJobPaths paths, TrainingJobOptions options,
        IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        TorchRuntime.Initialise(options.TorchThreads);
        Directory.CreateDirectory(paths.JobFolder);
        var clock = Stopwatch.StartNew();
        var data = await ExternalPartyData.OpenAsync(paths.DataFolder, ct).ConfigureAwait(false);
        var loading = clock.Elapsed;

        clock.Restart();
        var checkpoints = new CheckpointStore(paths.JobFolder, options.Round, options.CheckpointsKept);
        var keys = data.Keys;
        var (alignment, resumeStep) = await JobAlignment.AgreeAndAlignAsync(PsiRole.External, link, Party, options, paths,
            IdSource.FromEnumerable(() => keys, "E users table keys"), checkpoints, ct).ConfigureAwait(false);
        var alignedToSource = alignment.SourceIndex();
        var alignmentTime = clock.Elapsed;

        clock.Restart();
        await data.FitAndEncodeAsync(alignedToSource.ToHashSet(), ct).ConfigureAwait(false);
        var features = data.Features!;
        loading += clock.Elapsed;

        clock.Restart();
        ulong seed = JobAlignment.PartySeed(paths);
        var schedule = new TrainingSchedule(alignment.JointSeed, (int)alignment.Rows, options.BatchSize, options.Epochs);
        var tower = PartyModels.NewExternalTower(features, options.Model, seed);
        using var role = PartyModels.NewExternalRole(options, alignment.Rows, tower, seed);
        if (resumeStep > 0) ExternalCheckpoint.Restore(checkpoints.PathOf(resumeStep), tower, role, resumeStep);

        // Setup: E announces its public HE material, M answers with its own.
        await link.SendSplitAsync(role.AnnounceKeys(), ct).ConfigureAwait(false);
        role.Handle(await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.KeyAnnouncement, ct).ConfigureAwait(false));

        for (ulong step = resumeStep; step < schedule.TotalSteps; step++)
        {
            ct.ThrowIfCancellationRequested();
            var rows = schedule.Rows(step);
            var featureRows = rows.Select(r => (int)alignedToSource[r]).ToArray();
            var batch = new ExternalBatch(rows.Length, features.CategoricalRows(featureRows), features.DenseRows(featureRows));
            await link.SendSplitAsync(role.BeginStep(batch), ct).ConfigureAwait(false);
            var f2 = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.F2, ct).ConfigureAwait(false);
            var f3 = role.Handle(f2)!;
            await link.SendSplitAsync(f3, ct).ConfigureAwait(false);
            var b2 = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.B2, ct).ConfigureAwait(false);
            var b3 = role.Handle(b2)!;
            await link.SendSplitAsync(b3, ct).ConfigureAwait(false);
            var b4 = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.B4, ct).ConfigureAwait(false);
            role.Handle(b4);
            ulong done = step + 1;
            if (CheckpointDue(options, done, schedule.TotalSteps))
                checkpoints.Save(done, folder => ExternalCheckpoint.Save(folder, tower, role, done));
            progress?.Report(new TrainingProgress(Party, "training", done, schedule.TotalSteps));
        }
        SaveModel(paths, options, tower, role);
        var training = clock.Elapsed;

        // Evaluation: an M-only PSI, then M's request by ordinal (its users padded with decoys: E cannot tell which it
        // wants); E computes α for the requested rows and runs F1..F3 as in training.
        clock.Restart();
        var evaluation = await JobAlignment.AlignEvaluationAsync(PsiRole.External, link, options, paths,
            IdSource.FromEnumerable(() => keys, "E users table keys"), ct).ConfigureAwait(false);
        var evalRows = EvaluationRequest.ResolveRows((await link.ReceiveAsync(PeerLink.EvalRequest, ct).ConfigureAwait(false)).Payload.Span, evaluation);
        int chunk = options.BatchSize;
        for (int start = 0; start < evalRows.Length; start += chunk)
        {
            // The roles' inference exchange (F1..F3, forward only), as in training but nothing is trained.
            var part = evalRows[start..Math.Min(evalRows.Length, start + chunk)];
            var batch = new ExternalBatch(part.Length, features.CategoricalRows(part), features.DenseRows(part));
            var f1 = role.BeginInference(batch);
            await link.SendSplitAsync(f1, ct).ConfigureAwait(false);
            var f2 = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.F2, ct).ConfigureAwait(false);
            var f3 = role.Handle(f2);
            await link.SendSplitAsync(f3!, ct).ConfigureAwait(false);
            progress?.Report(new TrainingProgress(Party, "evaluation", (ulong)(start + part.Length), (ulong)evalRows.Length));
        }
        // The aligned users' vectors for M's publication: the training rows, forward only.
        for (int start = 0; start < alignedToSource.Length; start += chunk)
        {
            var part = alignedToSource[start..Math.Min(alignedToSource.Length, start + chunk)].Select(r => (int)r).ToArray();
            var batch = new ExternalBatch(part.Length, features.CategoricalRows(part), features.DenseRows(part));
            await link.SendSplitAsync(role.BeginInference(batch), ct).ConfigureAwait(false);
            var f2 = await link.ReceiveSplitAsync(SplitTrainingMessage.BodyOneofCase.F2, ct).ConfigureAwait(false);
            await link.SendSplitAsync(role.Handle(f2)!, ct).ConfigureAwait(false);
            progress?.Report(new TrainingProgress(Party, "aligned users' vectors", (ulong)(start + part.Length), (ulong)alignedToSource.Length));
        }
        await link.ReceiveAsync(PeerLink.EvalDone, ct).ConfigureAwait(false);
        var evaluationTime = clock.Elapsed;

        return new ExternalJobResult(options.Job, options.Round, options.Mode, options.SecurityNotice, alignment.Rows, schedule.TotalSteps,
            resumeStep, evalRows.Length, new PhaseTimings(loading, alignmentTime, training, evaluationTime));
    }

    internal static bool CheckpointDue(TrainingJobOptions options, ulong done, ulong total) =>
        done == total || (options.CheckpointEverySteps > 0 && done % (ulong)options.CheckpointEverySteps == 0);

    internal static IExternalPartyCryptoSession NewSession(TrainingJobOptions options, ulong seed)
    {
        options.RequireModeAllowed();
        return options.Mode == FederationMode.Encrypted
            ? new CkksExternalSession(options.Ckks)
            : new PlaintextReferenceExternalSession(new PlaintextReferenceOptions { AcknowledgeInsecure = true, Seed = (int)(seed % int.MaxValue) });
    }

    /// <summary>The trained tower and A, versioned per job and round, in E's job folder.</summary>
    private static void SaveModel(PartyJobPaths paths, TrainingJobOptions options, ExternalBottomTower tower, ExternalPartyRole role) =>
        PartyJobRunner.SaveModel(paths, options, tower, "external-tower.bin", role.ExportWeightHalf(), "weight-half-A.bin");
}

/// <summary>E's checkpoint: the tower's parameters and the role's own state (optimiser, A, random generator, step).</summary>
internal static class ExternalCheckpoint
{
    public static void Save(string folder, ExternalBottomTower tower, ExternalPartyRole role, ulong step)
    {
        if (role.CompletedSteps != step) throw new InvalidOperationException($"E's role is at step {role.CompletedSteps}, the checkpoint is for step {step}");
        tower.save(Path.Combine(folder, "tower.bin"));
        role.SaveState(folder);
    }

    public static void Restore(string folder, ExternalBottomTower tower, ExternalPartyRole role, ulong step)
    {
        tower.load(Path.Combine(folder, "tower.bin"));
        role.RestoreState(folder);
        if (role.CompletedSteps != step) throw new InvalidDataException($"checkpoint {folder} is for step {role.CompletedSteps}, expected {step}");
    }
}
