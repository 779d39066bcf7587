using Federated.Learning.Persistence;
using Federated.Training.Checkpoints;
using Federated.Training.Jobs;

namespace Federated.Training.Inference;

/// <summary>
/// What an inference session reopens from a finished training job in a party's own job folder: the alignment record
/// and the final checkpoint (the step after the last training step). A job that has not finished at this party is
/// refused with the steps it has.
/// </summary>
internal sealed record TrainedModelFiles(AlignmentRecord Alignment, ulong FinalStep, string CheckpointFolder)
{
    public static TrainedModelFiles Find(PartyJobPaths paths, TrainingJobOptions options, string party)
    {
        var recordPath = JobAlignment.RecordPath(paths.JobFolder, options.Round);
        if (!File.Exists(recordPath))
            throw new InvalidOperationException($"{party}: training job {options.Job} round {options.Round} has no alignment in {paths.JobFolder}; run the training job first");
        var alignment = StateFiles.ReadJson<AlignmentRecord>(recordPath);
        var schedule = new TrainingSchedule(alignment.JointSeed, (int)alignment.Rows, options.BatchSize, options.Epochs);
        var checkpoints = new CheckpointStore(paths.JobFolder, options.Round, options.CheckpointsKept);
        var steps = checkpoints.AvailableSteps();
        if (!steps.Contains(schedule.TotalSteps))
            throw new InvalidOperationException(
                $"{party}: training job {options.Job} round {options.Round} has not finished here: its schedule has {schedule.TotalSteps} steps, " +
                $"checkpoints exist for [{string.Join(", ", steps)}] (or the job ran with other epochs or batch size)");
        return new TrainedModelFiles(alignment, schedule.TotalSteps, checkpoints.PathOf(schedule.TotalSteps));
    }
}

/// <summary>The session hello: both parties must serve the same training job's final model with the same alignment.</summary>
internal sealed record InferenceHello(string Party, string Fingerprint, string AlignmentStateId, ulong Step, int DecoyFactor, int MaxUsersPerRequest);

/// <summary>Message types of an inference session (docs/protocol.md §4.4).</summary>
internal static class InferenceMessages
{
    public const string Hello = "infer.hello";
    public const string Lookup = "infer.lookup";
    public const string LookupReply = "infer.lookup.reply";
    public const string Rows = "infer.rows";
    public const string Close = "infer.close";

    public static void CheckHellos(InferenceHello own, InferenceHello peer, TrainingJobOptions options)
    {
        if (peer.Fingerprint != own.Fingerprint)
            throw new InvalidOperationException($"inference for training job {options.Job}: the {peer.Party} serves it with different job settings " +
                $"(fingerprint {peer.Fingerprint[..Math.Min(12, peer.Fingerprint.Length)]} vs {own.Fingerprint[..12]})");
        if (peer.AlignmentStateId != own.AlignmentStateId || peer.Step != own.Step)
            throw new InvalidOperationException($"inference for training job {options.Job}: the {peer.Party} holds another trained model " +
                $"(alignment {Short(peer.AlignmentStateId)} step {peer.Step}, here {Short(own.AlignmentStateId)} step {own.Step})");
        if (peer.DecoyFactor != own.DecoyFactor || peer.MaxUsersPerRequest != own.MaxUsersPerRequest)
            throw new InvalidOperationException($"inference for training job {options.Job}: the {peer.Party} runs with decoy factor {peer.DecoyFactor} " +
                $"and {peer.MaxUsersPerRequest} users per request, here {own.DecoyFactor} and {own.MaxUsersPerRequest}");
    }

    private static string Short(string id) => id.Length <= 12 ? id : id[..12];
}
