using System.Collections.Concurrent;
using System.Globalization;
using Federated.Core;
using Federated.Agent;
using Federated.Security;
using Federated.PartyJobs.Serving;
using Federated.Serving.Publication;
using Federated.Serving.Recall;
using Federated.Serving.Redis;
using Federated.Training;
using StackExchange.Redis;
using Federated.Training.Jobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Federated.PartyJobs;

/// <summary>
/// "train": this party's side of a federated training job (PSI alignment, encrypted split training, evaluation
/// forward) over the job's sealed relay channel. Each party reads only its own data folder (<c>Party:DataDirectory</c>)
/// and keeps the job in its own folder (<c>Party:JobsDirectory</c>, default <c>&lt;Agent:StateDirectory&gt;/train</c>).
/// M writes its ranked lists there (its output). Parameters: <see cref="TrainJobParameters"/>.
/// <para>
/// Resume: not relay-resumable (a step needs both parties in the same place). A restart of either party fails the
/// coordinator's attempt; the next attempt of the same <c>trainingJob</c> (the coordinator retries it) uses the same
/// job folders, and the pipelines' <c>job.hello</c> resumes both from their newest common checkpoint. A coordinator
/// restart is absorbed by the relay channel (it re-sends what the peer has not received) and needs no new attempt.
/// </para>
/// </summary>
public sealed class TrainJobHandler(IConfiguration configuration, IOptions<PartyAgentOptions> agent, EmbeddingVersionStore? published = null,
    RecallEngine? engine = null, IOptions<ServingOptions>? serving = null) : IJobHandler
{
    public const string JobKind = "train";

    // One attempt of a training job at a time per party: a cancelled attempt may still be unwinding when the next starts.
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Folders = new(StringComparer.Ordinal);
    private static readonly TimeSpan PreviousAttemptWait = TimeSpan.FromSeconds(120);

    public string Kind => JobKind;

    public async Task RunAsync(JobContext context, IPeerChannel peer, CancellationToken cancellationToken)
    {
        var party = context.SelfRole switch
        {
            PartyRole.Music => MusicPartyJob.Party,
            PartyRole.External => ExternalPartyJob.Party,
            var role => throw new InvalidOperationException($"job {context.Attempt}: a {role} cannot run a train job"),
        };
        var parameters = TrainJobParameters.Parse(context.Attempt, context.Parameters);
        var options = parameters.Options;
        // The same data folder as the psi job kind.
        var (data, jobs) = TrainJobFolders.PartyFolders(configuration, agent.Value.StateDirectory, context.SelfPartyId);
        var jobFolder = TrainJobFolders.JobFolder(jobs, parameters.TrainingJob);

        var gate = Folders.GetOrAdd(Path.GetFullPath(jobFolder), _ => new SemaphoreSlim(1, 1));
        if (!await gate.WaitAsync(PreviousAttemptWait, cancellationToken).ConfigureAwait(false))
            throw new TimeoutException($"party {context.SelfPartyId}: a previous attempt of training job {parameters.TrainingJob} did not stop within {PreviousAttemptWait.TotalSeconds:0} s");
        try
        {
            Directory.CreateDirectory(jobFolder);
            var paths = new PartyJobPaths(data, jobFolder, parameters.PartySeed(party));
            var progress = new ProgressWriter(context, party, jobFolder);
            context.Logger.LogInformation("Training job {TrainingJob} (attempt of {JobId}): {Mode}, {Epochs} epochs of batch {Batch}, data {Data}, job folder {Folder}",
                parameters.TrainingJob, context.Attempt.Value, options.Mode, options.Epochs, options.BatchSize, paths.DataFolder, jobFolder);
            TrainJobOutcome outcome;
            if (context.SelfRole == PartyRole.Music)
            {
                var users = ReadEvaluationUsers(parameters.EvaluationUsersFile, paths.DataFolder, context.SelfPartyId);
                var m = await MusicPartyJob.RunAsync(peer, paths, options, users, progress, cancellationToken).ConfigureAwait(false);
                TrainJobFolders.WriteRankings(TrainJobFolders.RankingsFile(jobFolder, options.Round), m.Rankings);
                var version = Publish(context, parameters, m);
                var redis = version is null ? "" : await PushToRedisAsync(context, version, m.Embeddings, cancellationToken).ConfigureAwait(false);
                outcome = Outcome(party, parameters, context, m.Mode, m.SecurityNotice, m.AlignedRows, m.Steps, m.ResumedFromStep,
                    m.EvaluationRowsAligned, m.Epsilon, m.Delta, m.Timings);
                context.Summary = $"{party}: {m.AlignedRows} aligned rows, {m.Steps} steps (resumed from step {m.ResumedFromStep}), " +
                    $"{m.Rankings.Count} of {users.Count} requested users ranked, {PrivacySpentText(m.Epsilon, m.Delta)}; {CkksText(options)}" +
                    (version is null ? "" : $"published model version {version} ({m.Embeddings.ItemKeys.Length} songs, {m.Embeddings.UserKeys.Length} users); {redis}") +
                    $"{m.Timings}";
            }
            else
            {
                var e = await ExternalPartyJob.RunAsync(peer, paths, options, progress, cancellationToken).ConfigureAwait(false);
                outcome = Outcome(party, parameters, context, e.Mode, e.SecurityNotice, e.AlignedRows, e.Steps, e.ResumedFromStep,
                    e.EvaluationRows, null, null, e.Timings);
                context.Summary = $"{party}: {e.AlignedRows} aligned rows, {e.Steps} steps (resumed from step {e.ResumedFromStep}), " +
                    $"{e.EvaluationRows} evaluation rows requested by M (wanted users and decoys); {CkksText(options)}{e.Timings}";
            }
            if (options.IsInsecure) context.Summary = options.SecurityNotice.Trim() + " " + context.Summary;
            TrainJobFolders.WriteJson(TrainJobFolders.ResultFile(jobFolder, options.Round), outcome);
        }
        finally
        {
            gate.Release();
        }
    }

    private static TrainJobOutcome Outcome(string party, TrainJobParameters parameters, JobContext context, Federated.Training.FederationMode mode,
        string notice, long aligned, ulong steps, ulong resumed, long evaluationRows, double? epsilon, double? delta, PhaseTimings t) =>
        new(party, parameters.TrainingJob.Value, context.Attempt.Value, parameters.Options.Round.Value, mode.ToString(), notice, aligned, steps, resumed,
            evaluationRows, epsilon, delta, t.Loading.TotalSeconds, t.Alignment.TotalSeconds, t.Training.TotalSeconds, t.Evaluation.TotalSeconds);

    /// <summary>
    /// M publishes the job's embeddings as a new serving version in its own store (the music host's serving folder),
    /// switched to atomically. Runs of an insecure mode are never published.
    /// </summary>
    private string? Publish(JobContext context, TrainJobParameters parameters, MusicJobResult m)
    {
        if (published is null) return null;
        if (parameters.Options.IsInsecure)
        {
            context.Logger.LogWarning("Training job {TrainingJob} ran in an insecure mode; its embeddings are not published", parameters.TrainingJob);
            return null;
        }
        var e = m.Embeddings;
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal) { ["alignedRows"] = m.AlignedRows, ["steps"] = m.Steps };
        if (m.FinalLoss is { } loss) metrics["finalLoss"] = loss;
        if (m.Epsilon is { } epsilon) metrics["epsilon"] = epsilon;
        if (m.Delta is { } delta) metrics["delta"] = delta;
        var set = published.Publish(new EmbeddingManifest
        {
            TrainingJob = parameters.TrainingJob.Value,
            AttemptId = context.Attempt.Value,
            Round = m.Round.Value,
            Dimensions = e.Dimensions,
            Items = e.ItemKeys.Length,
            Users = e.UserKeys.Length,
            SchemaFingerprint = e.SchemaFingerprint,
            Metrics = metrics,
        }, e.ItemKeys, e.Items, e.UserKeys, e.Users, encoderFolder: e.EncoderFolder, userPriors: e.UserPriors);
        context.Logger.LogInformation("Published model version {Version} of training job {TrainingJob}: {Songs} songs, {Users} users, {Dimensions} dimensions",
            set.Manifest.Version, parameters.TrainingJob, e.ItemKeys.Length, e.UserKeys.Length, e.Dimensions);
        return set.Manifest.Version;
    }

    /// <summary>
    /// With <c>Serving:Redis</c> set, writes the new version's recall lists (every user it holds) and the audiences of
    /// its new songs to Redis, then switches Redis's current version. A failure never fails the job: Redis keeps its
    /// previous version, the log and the job's summary say so.
    /// </summary>
    private async Task<string> PushToRedisAsync(JobContext context, string version, TrainedEmbeddings embeddings, CancellationToken ct)
    {
        if (serving?.Value.Redis is not { Enabled: true } redis || engine is null) return "";
        try
        {
            var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var publisher = new RedisRecallPublisher(connection, redis.Prefix, TimeSpan.FromHours(redis.TtlHours));
                var pushed = await RedisVersionPush.PushAsync(engine, publisher, version, embeddings.NewSongKeys, redis.RecallDepth, redis.AudienceSize, ct)
                    .ConfigureAwait(false);
                context.Logger.LogInformation("Model version {Version} pushed to Redis: {Recall} recall lists, {Audiences} new songs' audiences", version, pushed.RecallLists, pushed.AudienceLists);
                return $"pushed to Redis ({pushed.RecallLists} recall lists, {pushed.AudienceLists} audiences); ";
            }
        }
        catch (Exception e) when (e is RedisPublishException or RedisException or TimeoutException)
        {
            context.Logger.LogWarning("Model version {Version} was not pushed to Redis; Redis keeps serving its previous version: {Reason}", version, e.Message);
            return $"Redis NOT updated (it keeps its previous version): {e.Message}; ";
        }
    }

    /// <summary>
    /// The label-DP cost in M's job summary (so also in the audit log): <c>ε 70.68 (δ 1e-5)</c>, or <c>ε - (δ -)</c>
    /// without label DP. ε is rounded to three decimals; δ is written exactly (round-trip digits, exponent form for
    /// small values), so the δ shown is the δ the accountant used and <c>result.json</c> holds.
    /// </summary>
    public static string PrivacySpentText(double? epsilon, double? delta) =>
        $"ε {(epsilon is { } e ? e.ToString("0.###", CultureInfo.InvariantCulture) : "-")} (δ {(delta is { } d ? Exact(d) : "-")})";

    /// <summary>
    /// The CKKS parameters the party used, for its report (and the job's audit report): ring degree N and the bits of
    /// the whole modulus (special prime included); empty in the plaintext reference mode.
    /// </summary>
    public static string CkksText(TrainingJobOptions options) =>
        options.Mode == FederationMode.Encrypted
            ? $"CKKS N {options.Ckks.PolyModulusDegree.ToString(CultureInfo.InvariantCulture)}, log Q {options.Ckks.PrimeBits.Sum().ToString(CultureInfo.InvariantCulture)}; "
            : "";

    // "R" keeps every digit; 1E-05 becomes 1e-5.
    private static string Exact(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        var e = text.IndexOfAny(['E', 'e']);
        if (e < 0) return text;
        var exponent = int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        return $"{text[..e]}e{exponent.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>The users M is asked to rank: a file of ids on M's machine (absolute, or relative to M's data folder).</summary>
    private static IReadOnlyList<string> ReadEvaluationUsers(string? file, string dataFolder, string partyId)
    {
        if (file is null) return [];
        var path = Path.IsPathRooted(file) ? file : Path.Combine(dataFolder, file);
        if (!File.Exists(path))
            throw new FileNotFoundException($"party {partyId}: train job parameter 'evaluationUsers' names {path}, which does not exist", path);
        return File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
    }

    /// <summary>Progress to the party log (every few percent) and to <c>progress.json</c> in the job folder: phase and step only.</summary>
    private sealed class ProgressWriter(JobContext context, string party, string jobFolder) : IProgress<TrainingProgress>
    {
        private string _phase = "";
        private ulong _logged;
        private DateTime _written;
        private ulong _lastStep;
        private long _lastStepAt;

        public void Report(TrainingProgress value)
        {
            var now = DateTime.UtcNow;
            var phaseChanged = value.Phase != _phase;
            ObserveStep(value, phaseChanged);
            if (phaseChanged || value.Step == value.TotalSteps || now - _written > TimeSpan.FromSeconds(1))
            {
                _written = now;
                try
                {
                    TrainJobFolders.WriteJson(TrainJobFolders.ProgressFile(jobFolder),
                        new TrainJobProgress(party, value.Phase, value.Step, value.TotalSteps, DateTimeOffset.UtcNow, context.Attempt.Value));
                }
                catch (IOException) { /* progress is best effort */ }
            }
            var every = Math.Max(1UL, value.TotalSteps / 20);
            if (phaseChanged || value.Step == value.TotalSteps || value.Step >= _logged + every)
            {
                _phase = value.Phase;
                _logged = value.Step;
                context.Logger.LogInformation("{Party} {Phase} {Step}/{Total}", party, value.Phase, value.Step, value.TotalSteps);
            }
        }

        /// <summary>Phase entries and the time of each split-training step (one step after the previous report).</summary>
        private void ObserveStep(TrainingProgress value, bool phaseChanged)
        {
            var at = System.Diagnostics.Stopwatch.GetTimestamp();
            if (phaseChanged)
                PartyMetrics.EnteredPhase(context.Kind, value.Phase);
            else if (value.Phase == "training" && value.Step == _lastStep + 1)
                PartyMetrics.TrainingStep(System.Diagnostics.Stopwatch.GetElapsedTime(_lastStepAt, at));
            _lastStep = value.Step;
            _lastStepAt = at;
        }
    }
}
