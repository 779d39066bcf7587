using Federated.Core.Jobs;

namespace Federated.Training.Jobs;

/// <summary>Where a party's job reads its data and keeps its state.</summary>
/// <param name="DataFolder">The party's data folder: one <c>*.schema.json</c> per table.</param>
/// <param name="JobFolder">The party's folder for this job (PSI state, checkpoints, models). Never shared.</param>
/// <param name="Seed">The party's seed for what is not secret (batch sampling, negatives); null = random, persisted in the job folder.
/// The secret randomness (weight half, masks, DP noise) comes from a CSPRNG key unless the job allows a fixed seed.</param>
public sealed record PartyJobPaths(string DataFolder, string JobFolder, ulong? Seed = null);

/// <summary>One progress event; carries no data values.</summary>
public sealed record TrainingProgress(string Party, string Phase, ulong Step, ulong TotalSteps, double? Loss = null, double? Epsilon = null);

/// <summary>Wall time per phase of one party's job.</summary>
public sealed record PhaseTimings(TimeSpan Loading, TimeSpan Alignment, TimeSpan Training, TimeSpan Evaluation)
{
    public override string ToString() =>
        $"loading {Loading.TotalSeconds:0.0} s, PSI {Alignment.TotalSeconds:0.0} s, training {Training.TotalSeconds:0.0} s, evaluation {Evaluation.TotalSeconds:0.0} s";
}

/// <summary>What E's job reports: counts, mode, timings. Nothing about features or results.</summary>
public sealed record ExternalJobResult(
    TrainingJobName Job, RoundNumber Round, FederationMode Mode, string SecurityNotice, long AlignedRows, ulong Steps, ulong ResumedFromStep,
    long EvaluationRows, PhaseTimings Timings);

/// <summary>
/// What M's job reports: the ranked songs per evaluated user (M's output, handed to the evaluation harness), the
/// label-DP budget spent, mode and timings, and the trained embeddings M publishes (they stay at M).
/// </summary>
public sealed record MusicJobResult(
    TrainingJobName Job, RoundNumber Round, FederationMode Mode, string SecurityNotice, long AlignedRows, ulong Steps, ulong ResumedFromStep,
    double? FinalLoss, double? Epsilon, double? Delta, IReadOnlyDictionary<string, IReadOnlyList<string>> Rankings,
    long EvaluationRowsAligned, PhaseTimings Timings, TrainedEmbeddings Embeddings);
