using System.Globalization;
using Federated.Core.Jobs;
using Federated.Learning.Split;
using Federated.Training;

namespace Federated.PartyJobs;

/// <summary>
/// The parameters of a <c>train</c> job (the same strings reach both parties) turned into the training settings both
/// parties must share. Errors name the parameter and the allowed values.
/// <list type="table">
/// <item><c>trainingJob</c>: the logical training job (job folder, checkpoints, PSI domain); every attempt of one
/// training job uses the same name so that a retry resumes from the checkpoints. Default: the coordinator job id.</item>
/// <item><c>mode</c>: <c>encrypted</c> (default) or <c>plaintext</c>; plaintext also needs <c>insecure=plaintext-reference</c>.</item>
/// <item><c>insecure</c>: comma list of <c>plaintext-reference</c>, <c>no-label-noise</c>, <c>fixed-seed</c> (recorded in the audit log with the job).</item>
/// <item><c>epochs</c>, <c>batchSize</c>, <c>checkpointEvery</c>, <c>round</c>, <c>pretrainEpochs</c>, <c>rankingDepth</c>,
/// <c>messageTimeoutSeconds</c>, <c>torchThreads</c>.</item>
/// <item><c>maxEpsilon</c>: optional; M refuses to train when the schedule would spend more label-DP ε than this.</item>
/// <item><c>labelNoise</c>: optional label-DP noise multiplier σ (default 0.5); more noise spends less ε per step.</item>
/// <item><c>seed</c>: optional, only with <c>insecure=fixed-seed</c>: each party derives its seed and its secret randomness from it and its role (reproducible test runs only).</item>
/// <item><c>evaluationUsers</c>: M only: a file of user ids (one per line) on M's machine, absolute or relative to M's data folder.</item>
/// </list>
/// </summary>
public sealed record TrainJobParameters(TrainingJobName TrainingJob, TrainingJobOptions Options, ulong? SeedBase, string? EvaluationUsersFile)
{
    public static TrainJobParameters Parse(AttemptId attempt, IReadOnlyDictionary<string, string> p)
    {
        var text = Get(p, JobParameterNames.TrainingJob) ?? attempt.Value;
        if (!TrainingJobName.IsValid(text))
            throw new ArgumentException($"train job parameter '{JobParameterNames.TrainingJob}' = '{text}' must be 1..{TrainingJobName.MaxLength} letters, digits, '-', '_' or '.' (it names the parties' job folders)");
        var name = new TrainingJobName(text);
        var mode = (Get(p, "mode") ?? "encrypted").ToLowerInvariant() switch
        {
            "encrypted" or "ckks" => FederationMode.Encrypted,
            "plaintext" or "plaintext-reference" => FederationMode.PlaintextReference,
            var other => throw new ArgumentException($"train job parameter 'mode' = '{other}': use 'encrypted' or 'plaintext'"),
        };
        var insecure = InsecureAllowances.None;
        foreach (var flag in (Get(p, "insecure") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            insecure |= flag.ToLowerInvariant() switch
            {
                "plaintext-reference" => InsecureAllowances.PlaintextReference,
                "no-label-noise" => InsecureAllowances.NoLabelNoise,
                "fixed-seed" => InsecureAllowances.FixedSeed,
                _ => throw new ArgumentException($"train job parameter 'insecure' has '{flag}': allowed are 'plaintext-reference', 'no-label-noise', 'fixed-seed'"),
            };
        var defaults = new TrainingJobOptions { Job = name };
        var options = defaults with
        {
            Round = new RoundNumber(Int(p, "round", defaults.Round.Value, 1, RoundNumber.Max)),
            Epochs = Int(p, "epochs", defaults.Epochs, 1, 10_000),
            BatchSize = Int(p, "batchSize", defaults.BatchSize, 2, 4096),
            CheckpointEverySteps = Int(p, "checkpointEvery", defaults.CheckpointEverySteps, 0, 1_000_000),
            RankingDepth = Int(p, "rankingDepth", defaults.RankingDepth, 1, 10_000),
            EvaluationDecoysPerUser = Int(p, "evaluationDecoys", defaults.EvaluationDecoysPerUser, 0, 100),
            MessageTimeout = TimeSpan.FromSeconds(Int(p, "messageTimeoutSeconds", (int)defaults.MessageTimeout.TotalSeconds, 1, 86_400)),
            TorchThreads = p.ContainsKey("torchThreads") ? Int(p, "torchThreads", 0, 1, 1024) : null,
            Model = defaults.Model with { MusicPretrainEpochs = Int(p, "pretrainEpochs", defaults.Model.MusicPretrainEpochs, 0, 10_000) },
            Mode = mode,
            Insecure = insecure,
            LabelDp = insecure.HasFlag(InsecureAllowances.NoLabelNoise) ? null
                : Get(p, "labelNoise") is { } sigmaText
                    ? double.TryParse(sigmaText, NumberStyles.Float, CultureInfo.InvariantCulture, out var sigma) && sigma >= 0.1 && sigma <= 1000
                        ? defaults.LabelDp! with { NoiseMultiplier = sigma }
                        : throw new ArgumentException($"train job parameter 'labelNoise' = '{sigmaText}' must be a number from 0.1 to 1000 (the label-DP noise multiplier σ)")
                    : defaults.LabelDp,
            MaxEpsilon = Get(p, "maxEpsilon") is { } capText
                ? double.TryParse(capText, NumberStyles.Float, CultureInfo.InvariantCulture, out var cap) && cap > 0 && double.IsFinite(cap) ? cap
                    : throw new ArgumentException($"train job parameter 'maxEpsilon' = '{capText}' must be a positive number (the most label-DP ε the job may spend)")
                : null,
        };
        options.Validate(); // refuses the plaintext mode without its explicit flag
        ulong? seed = Get(p, "seed") is { } s
            ? ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v
                : throw new ArgumentException($"train job parameter 'seed' = '{s}' must be a non-negative integer")
            : null;
        if (seed is not null && !insecure.HasFlag(InsecureAllowances.FixedSeed))
            throw new ArgumentException("train job parameter 'seed' is refused: it fixes both parties' randomness by a public formula, so the external party " +
                "could recompute M's label-DP noise and the masks; add insecure=fixed-seed for a reproducible test run (its reports then say INSECURE)");
        if (seed is null && insecure.HasFlag(InsecureAllowances.FixedSeed))
            throw new ArgumentException("train job parameter 'insecure' has 'fixed-seed' but no 'seed' is given");
        return new TrainJobParameters(name, options, seed, Get(p, "evaluationUsers"));
    }

    /// <summary>This party's own seed: derived from the test seed and the party, so the two parties never share one.</summary>
    public ulong? PartySeed(string party) => SeedBase is { } s ? s * 1_000_003UL + (ulong)(party == "music" ? 2 : 1) : null;

    private static string? Get(IReadOnlyDictionary<string, string> p, string name) => JobParameterValues.Get(p, name);

    private static int Int(IReadOnlyDictionary<string, string> p, string name, int defaultValue, int min, int max) =>
        JobParameterValues.Int("train", p, name, defaultValue, min, max);
}
