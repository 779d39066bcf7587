using System.Diagnostics;
using Federated.Core;
using Federated.Core.Jobs;
using Federated.Synthetic;
using Federated.Learning.Split;
using Federated.Training;
using Federated.Training.Jobs;

namespace Federated.Experiments;

/// <summary>Rows of the results table to compute.</summary>
[Flags]
public enum ExperimentMethods
{
    None = 0,
    Popularity = 1,
    MusicAlone = 2,
    FederatedPlaintext = 4,
    FederatedEncrypted = 8,
    Centralised = 16,
    Oracle = 32,
    All = Popularity | MusicAlone | FederatedPlaintext | FederatedEncrypted | Centralised | Oracle,
}

/// <summary>Settings of a single-process experiment on a synthetic world.</summary>
public sealed record ExperimentOptions
{
    /// <summary>Work folder: <c>world/</c> (generated unless it already holds a world), <c>jobs/</c> per method and party.</summary>
    public required string WorkFolder { get; init; }
    public SyntheticWorldOptions World { get; init; } = SyntheticWorldOptions.Demo;
    /// <summary>Job settings; the mode and insecure flags are set per row (plaintext reference row: explicitly insecure).</summary>
    public required TrainingJobOptions Training { get; init; }
    public ExperimentMethods Methods { get; init; } = ExperimentMethods.All;
    public ulong ExternalSeed { get; init; } = 1001;
    public ulong MusicSeed { get; init; } = 2002;
}

/// <summary>The results table plus per-phase wall times of the federated runs.</summary>
public sealed record ExperimentResult(
    ResultsTable Table, TimeSpan Generation, IReadOnlyDictionary<string, (ExternalJobResult External, MusicJobResult Music)> FederatedRuns)
{
    /// <summary>Each trained row's ranked lists (method → user → songs, best first), as the table scored them.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<string>>> Rankings { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyList<string>>>();

    /// <summary>Each trained row's vectors (songs and the users it can place), for the song-audience comparison.</summary>
    public IReadOnlyDictionary<string, TrainedEmbeddings> Embeddings { get; init; } = new Dictionary<string, TrainedEmbeddings>();
}

/// <summary>
/// The single-process runner (tests, and the main job until the three-process wiring lands): generates the world,
/// runs both party jobs connected by <see cref="InMemoryPeerChannel.CreatePair"/> for each federated row, trains the
/// baselines on the same tables, and scores every row with the <see cref="EvaluationHarness"/> (the only code that
/// reads the truth folder).
/// </summary>
public static class FederatedExperiment
{
    public static async Task<ExperimentResult> RunAsync(ExperimentOptions options, IProgress<string>? log = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var world = Path.Combine(options.WorkFolder, "world");
        var clock = Stopwatch.StartNew();
        if (!File.Exists(SyntheticWorldLayout.WorldFile(world)))
        {
            log?.Report($"generating the synthetic world ({options.World.Users} users, {options.World.Songs} songs) in {world}");
            await SyntheticWorld.GenerateAsync(options.World, world, null, ct).ConfigureAwait(false);
        }
        var generation = clock.Elapsed;
        var harness = await EvaluationHarness.ForSyntheticColdUsersAsync(world, ct).ConfigureAwait(false);
        var users = harness.UsersToRank;
        var rows = new List<ResultRow>();
        var runs = new Dictionary<string, (ExternalJobResult, MusicJobResult)>();
        var rankings = new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyList<string>>>(StringComparer.Ordinal);
        var embeddings = new Dictionary<string, TrainedEmbeddings>(StringComparer.Ordinal);
        var progress = log is null ? null : new Progress<TrainingProgress>(p =>
        {
            if (p.Step == p.TotalSteps || p.Step % 50 == 0)
                log.Report($"{p.Party} {p.Phase} {p.Step}/{p.TotalSteps}" + (p.Loss is { } l ? $" loss {l:0.000}" : "") + (p.Epsilon is { } e ? $" ε {e:0.00}" : ""));
        });

        if (options.Methods.HasFlag(ExperimentMethods.Popularity))
            rows.Add(Row(await harness.PopularityAsync(ct).ConfigureAwait(false), null, null, "", TimeSpan.Zero));

        if (options.Methods.HasFlag(ExperimentMethods.MusicAlone))
        {
            log?.Report("training M alone (no E features)");
            var b = await BaselineTrainers.MusicAloneAsync(Path.Combine(world, SyntheticWorldLayout.MusicFolder), options.Training, users, options.MusicSeed, progress, ct)
                .ConfigureAwait(false);
            rows.Add(Row(harness.Score(b.Method, b.Rankings), null, null, "", b.WallTime));
            rankings[b.Method] = b.Rankings;
            if (b.Embeddings is not null) embeddings[b.Method] = b.Embeddings;
        }

        foreach (var (flag, mode, name) in new[]
                 {
                     (ExperimentMethods.FederatedPlaintext, FederationMode.PlaintextReference, "federated plaintext reference"),
                     (ExperimentMethods.FederatedEncrypted, FederationMode.Encrypted, "federated encrypted"),
                 })
        {
            if (!options.Methods.HasFlag(flag)) continue;
            var training = options.Training with
            {
                Job = new TrainingJobName($"{options.Training.Job.Value}-{(mode == FederationMode.Encrypted ? "ckks" : "plain")}"),
                Mode = mode,
                Insecure = mode == FederationMode.PlaintextReference
                    ? options.Training.Insecure | InsecureAllowances.PlaintextReference
                    : options.Training.Insecure & ~InsecureAllowances.PlaintextReference,
            };
            log?.Report($"running {name}: both party jobs in this process");
            var jobs = Path.Combine(options.WorkFolder, "jobs", training.Job.Value);
            var run = await RunFederatedInProcessAsync(world, jobs, training, users, options.ExternalSeed, options.MusicSeed, progress, ct).ConfigureAwait(false);
            runs[name] = run;
            rankings[name] = run.Music.Rankings;
            embeddings[name] = run.Music.Embeddings;
            var t = run.Music.Timings;
            rows.Add(Row(harness.Score(name, run.Music.Rankings), run.Music.Epsilon, run.Music.Delta,
                training.IsInsecure ? training.SecurityNotice : "", t.Loading + t.Alignment + t.Training + t.Evaluation));
        }

        if (options.Methods.HasFlag(ExperimentMethods.Centralised))
        {
            log?.Report("training the centralised model (all features pooled, no privacy)");
            var b = await BaselineTrainers.CentralisedAsync(Path.Combine(world, SyntheticWorldLayout.ExternalFolder), Path.Combine(world, SyntheticWorldLayout.MusicFolder),
                options.Training, users, options.MusicSeed, progress, ct).ConfigureAwait(false);
            rows.Add(Row(harness.Score(b.Method, b.Rankings), null, null, "no privacy: the upper bound", b.WallTime));
            rankings[b.Method] = b.Rankings;
            if (b.Embeddings is not null) embeddings[b.Method] = b.Embeddings;
        }

        if (options.Methods.HasFlag(ExperimentMethods.Oracle))
            rows.Add(Row(harness.Oracle(), null, null, "", TimeSpan.Zero));

        return new ExperimentResult(new ResultsTable(harness.TaskName, rows), generation, runs) { Rankings = rankings, Embeddings = embeddings };
    }

    /// <summary>
    /// Both party jobs in this process, connected by an in-memory channel pair. Each party gets its own data folder
    /// (<c>world/external</c>, <c>world/music</c>) and job folder (<c>jobs/external</c>, <c>jobs/music</c>). If one
    /// party fails, the other is cancelled, and the first error is rethrown.
    /// </summary>
    public static async Task<(ExternalJobResult External, MusicJobResult Music)> RunFederatedInProcessAsync(
        string worldFolder, string jobFolder, TrainingJobOptions options, IReadOnlyList<string> evaluationUsers,
        ulong externalSeed, ulong musicSeed, IProgress<TrainingProgress>? progress = null, CancellationToken ct = default)
    {
        var (toMusic, toExternal) = InMemoryPeerChannel.CreatePair();
        using var both = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var external = Task.Run(() => Guard(ExternalPartyJob.RunAsync(toMusic,
            new PartyJobPaths(Path.Combine(worldFolder, SyntheticWorldLayout.ExternalFolder), Path.Combine(jobFolder, "external"), externalSeed),
            options, progress, both.Token), both), both.Token);
        var music = Task.Run(() => Guard(MusicPartyJob.RunAsync(toExternal,
            new PartyJobPaths(Path.Combine(worldFolder, SyntheticWorldLayout.MusicFolder), Path.Combine(jobFolder, "music"), musicSeed),
            options, evaluationUsers, progress, both.Token), both), both.Token);
        try
        {
            await Task.WhenAll(external, music).ConfigureAwait(false);
        }
        catch
        {
            // Prefer the root cause over the cancellation it caused at the other party.
            var failures = new Task[] { external, music }.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).ToArray();
            var root = failures.FirstOrDefault(e => e is not OperationCanceledException and not Federated.Core.PeerAbortedException) ?? failures.FirstOrDefault();
            if (root is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(root);
            throw;
        }
        return (await external.ConfigureAwait(false), await music.ConfigureAwait(false)); // both have completed
    }

    private static async Task<T> Guard<T>(Task<T> job, CancellationTokenSource both)
    {
        try { return await job.ConfigureAwait(false); }
        catch { await both.CancelAsync().ConfigureAwait(false); throw; }
    }

    private static ResultRow Row(Federated.Data.Evaluation.RecallReport report, double? epsilon, double? delta, string notice, TimeSpan time) =>
        new(report.Method, report, epsilon, delta, notice, time);
}
