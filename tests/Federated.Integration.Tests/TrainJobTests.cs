using Federated.Tests.Shared;
using Federated.Core.Jobs;
using Federated.Operator;
using System.Globalization;
using Federated.Audit;
using Google.Protobuf;
using Federated.Synthetic;
using Federated.Launcher;
using Federated.PartyJobs;
using Federated.Experiments;
using Federated.Transport.Client;
using Federated.Transport.V1;
using Xunit.Abstractions;

namespace Federated.Integration.Tests;

/// <summary>
/// Three real processes with a tiny synthetic world: each party gets only its own data folder (E: external/, M:
/// music/); the truth stays with the test, which plays the operator's evaluation harness.
/// </summary>
public abstract class TinyWorldFederationFixture(string name) : LocalFederationFixture(name)
{
    public string World => Path.Combine(RunDirectory, "world");
    public EvaluationHarness Harness { get; private set; } = null!;
    public string EvaluationUsersFile => Path.Combine(RunDirectory, "operator", "evaluation-users.txt");

    protected override async Task PrepareAsync()
    {
        await SyntheticWorld.GenerateAsync(SyntheticWorldOptions.Tiny, World);
        Harness = await EvaluationHarness.ForSyntheticColdUsersAsync(World);
        Directory.CreateDirectory(Path.GetDirectoryName(EvaluationUsersFile)!);
        await File.WriteAllLinesAsync(EvaluationUsersFile, Harness.UsersToRank);
    }

    protected LocalFederationOptions WithWorld(LocalFederationOptions options) => options with
    {
        MusicDataDirectory = Path.Combine(World, SyntheticWorldLayout.MusicFolder),
        ExternalDataDirectory = Path.Combine(World, SyntheticWorldLayout.ExternalFolder),
    };

    public string JobFolderOf(string party, string trainingJob) =>
        TrainJobFolders.JobFolder(Path.Combine(Folder.PartyState(party), "train"), new Federated.Core.Jobs.TrainingJobName(trainingJob));

    public TrainJobProgress? ProgressOf(string party, string trainingJob) =>
        TrainJobFolders.ReadJsonSafely<TrainJobProgress>(TrainJobFolders.ProgressFile(JobFolderOf(party, trainingJob)));
}

/// <summary>
/// The train jobs' federation: a tiny world, the coordinator on a fixed port so it can be killed and restarted where
/// the parties expect it, a transcript of what it relays, and M's own Redis.
/// </summary>
public sealed class TrainFederationFixture() : TinyWorldFederationFixture("train")
{
    public const int PartyLostSeconds = 30;

    /// <summary>M's own Redis (a real redis-server): the music host pushes every version it publishes there.</summary>
    public RedisServer Redis { get; } = new();

    protected override async Task PrepareAsync()
    {
        await Redis.InitializeAsync();
        await base.PrepareAsync();
    }

    protected override LocalFederationOptions Configure(LocalFederationOptions options)
    {
        var hosts = WithWorld(WithTranscript(Restartable(options, PartyLostSeconds)));
        return hosts with
        {
            ExtraArguments = [.. hosts.ExtraArguments,
                $"--Serving:Redis:ConnectionString=127.0.0.1:{Redis.Port},abortConnect=false,connectTimeout=2000,syncTimeout=5000"],
        };
    }

    protected override async Task StopAsync() => await Redis.DisposeAsync();
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TrainFederationCollection : ICollectionFixture<TrainFederationFixture>
{
    public const string Name = "train-federation";
}

/// <summary>
/// The <c>train</c> job kind across the three real processes: PSI, split training and the evaluation forward pass
/// through the sealed relay; M's ranked lists (its output, in its own job folder) scored by the operator's harness;
/// and resume after kill -9 of the external party, later of the coordinator, then of the music party.
/// </summary>
[Collection(TrainFederationCollection.Name)]
public sealed class TrainJobTests(TrainFederationFixture fixture, ITestOutputHelper output)
{
    private static Dictionary<string, string> Parameters(string trainingJob, string evaluationUsers, params (string Name, string Value)[] extra)
    {
        var parameters = new Dictionary<string, string>
        {
            ["trainingJob"] = trainingJob, ["evaluationUsers"] = evaluationUsers, ["batchSize"] = "256", ["pretrainEpochs"] = "3",
            ["torchThreads"] = "1", ["messageTimeoutSeconds"] = "120",
        };
        foreach (var (name, value) in extra) parameters[name] = value;
        return parameters;
    }

    private async Task<JobInfo> CreateAsync(CoordinatorConnection op, Dictionary<string, string> parameters)
    {
        var request = new CreateJobRequest { Kind = TrainJobHandler.JobKind, MusicPartyId = "music", ExternalPartyId = "external" };
        request.Parameters.Add(parameters);
        var job = await op.Jobs.CreateJobAsync(request);
        output.WriteLine($"{DateTime.UtcNow:HH:mm:ss} created {job.JobId} ({parameters["trainingJob"]})");
        return job;
    }

    /// <summary>Follows a training job through its attempts (the coordinator's retries) until one completes or fails for good.</summary>
    private async Task<(JobInfo Last, List<string> Attempts)> FollowAsync(CoordinatorConnection op, string jobId, TimeSpan timeout, Func<JobInfo, Task>? onPoll = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var attempts = new List<string> { jobId };
        while (true)
        {
            JobInfo job;
            JobInfo? next = null;
            try
            {
                job = await op.Jobs.GetJobAsync(new GetJobRequest { JobId = jobId });
                if (job.State is JobState.Failed or JobState.Stopped)
                    next = (await op.Jobs.ListJobsAsync(new ListJobsRequest())).Jobs
                        .FirstOrDefault(j => j.Parameters.TryGetValue("retryOf", out var of) && of == jobId);
            }
            catch (Grpc.Core.RpcException) when (DateTime.UtcNow < deadline) { await Task.Delay(200); continue; } // coordinator restarting
            if (onPoll is not null) await onPoll(job);
            if (job.State == JobState.Completed) return (job, attempts);
            if (job.State is JobState.Failed or JobState.Stopped)
            {
                if (next is not null)
                {
                    output.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {jobId} failed ({job.Reason}); attempt {next.Parameters["attempt"]} is {next.JobId}");
                    jobId = next.JobId;
                    attempts.Add(jobId);
                    continue;
                }
                if (job.State == JobState.Stopped || DateTime.UtcNow > deadline) return (job, attempts);
            }
            Assert.True(DateTime.UtcNow < deadline, $"training job still {job.State} after {timeout.TotalSeconds:0} s (attempts {string.Join(", ", attempts)}): {job.Reason}\n{fixture.Logs()}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task An_encrypted_train_job_through_the_three_processes_ranks_cold_start_users_better_than_popularity()
    {
        using var op = fixture.Connect();
        var created = await CreateAsync(op, Parameters("it-ckks", fixture.EvaluationUsersFile, ("epochs", "3"), ("checkpointEvery", "4")));
        var (job, attempts) = await FollowAsync(op, created.JobId, TimeSpan.FromMinutes(5));
        Assert.True(job.State == JobState.Completed, $"train job {job.State}: {job.Reason}\n{fixture.Logs()}");
        Assert.Single(attempts);

        var music = TrainJobFolders.ReadJson<TrainJobOutcome>(TrainJobFolders.ResultFile(fixture.JobFolderOf("music", "it-ckks"), RoundNumber.First))!;
        var rankings = TrainJobFolders.ReadRankings(TrainJobFolders.RankingsFile(fixture.JobFolderOf("music", "it-ckks"), RoundNumber.First));
        Assert.Equal("Encrypted", music.Mode);
        Assert.True(music.AlignedRows > 500, $"{music.AlignedRows} aligned rows");
        Assert.True(rankings.Count > 100 && rankings.Count == music.EvaluationRows, $"{rankings.Count} ranked users, {music.EvaluationRows} known to E");
        Assert.All(rankings.Values, list => Assert.Equal(100, list.Count));
        Assert.NotNull(music.Epsilon);
        // E served the wanted users padded with decoys (one per user, capped by E's users unknown to M).
        var external = TrainJobFolders.ReadJson<TrainJobOutcome>(TrainJobFolders.ResultFile(fixture.JobFolderOf("external", "it-ckks"), RoundNumber.First))!;
        output.WriteLine($"evaluation: M ranked {music.EvaluationRows} users, E served {external.EvaluationRows} rows");
        Assert.True(external.EvaluationRows > music.EvaluationRows && external.EvaluationRows <= 2 * music.EvaluationRows,
            $"E served {external.EvaluationRows} rows for {music.EvaluationRows} wanted users");
        // Nobody but M holds the lists: E's job folder has no rankings, the coordinator's folder holds no job output.
        Assert.False(File.Exists(TrainJobFolders.RankingsFile(fixture.JobFolderOf("external", "it-ckks"), RoundNumber.First)));

        var federated = fixture.Harness.Score("federated encrypted", rankings);
        var popularity = await fixture.Harness.PopularityAsync();
        output.WriteLine($"{federated}\n{popularity}");
        Assert.True(federated[50].HitRate > popularity[50].HitRate, $"HR@50 {federated[50].HitRate:F3} <= popularity {popularity[50].HitRate:F3}");
        Assert.True(federated[100].Recall > popularity[100].Recall, $"R@100 {federated[100].Recall:F3} <= popularity {popularity[100].Recall:F3}");

        // The parties' reports (audit log): counts and timings, ε; the relay records match the relayed messages.
        Assert.Contains("ε", job.Parties.Single(p => p.PartyId == "music").Summary);
        using (var log = AuditLog.Open(fixture.AuditDatabase))
        {
            var relayed = log.Read(1, int.MaxValue).Count(r => r.Entry.JobId == job.JobId && r.Entry.Kind == AuditEntry.RelayKind);
            Assert.Equal((long)job.Relay.MessagesRelayed, relayed);
        }
        AssertCoordinatorTranscriptOpensWithNothingItHolds(job);
    }

    /// <summary>
    /// docs/protocol.md §5.5 on the coordinator's transcript of a real encrypted train job. Every relay record has its sealed
    /// payload in the transcript (same size and SHA-256); no payload is a readable protocol message, holds a CKKS
    /// object (ciphertext, key) or compresses (plaintext structure); nothing the coordinator stores holds a CKKS object,
    /// so it has no HE secret key. Negative controls: an unsealed step message parses and a CKKS object is found.
    /// Replayed and reordered messages: 0 dropped here; rejection is shown by ReplayAndRestartTests.
    /// </summary>
    private void AssertCoordinatorTranscriptOpensWithNothingItHolds(JobInfo job)
    {
        var transcript = CoordinatorTranscript.Read(fixture.AuditDatabase, fixture.TranscriptDirectory, job.JobId);
        foreach (var type in new[] { "train.keys", "train.F1", "train.F2", "train.F3", "train.B2", "train.B3", "train.B4" })
            Assert.Contains(transcript, t => t.Entry.MessageType == type);

        var control = new Federated.Learning.Protocol.V1.SplitTrainingMessage { F3 = new() { Header = new() { JobId = "x", Step = 3 } } }.ToByteArray();
        Assert.True(ReadableStepMessage(control), "negative control: an unsealed step message must be recognised");
        Assert.True(HoldsCkksObject([.. new byte[17], .. "FCKS"u8, 1, 5, .. CkksParametersHash.Value, 9]), "negative control: a CKKS header must be found");
        foreach (var (e, payload) in transcript)
        {
            Assert.False(ReadableStepMessage(payload), $"{e.MessageType} #{e.Sequence} parses as a split-training message");
            Assert.False(HoldsCkksObject(payload), $"{e.MessageType} #{e.Sequence} carries a CKKS object in the clear");
            if (payload.Length >= 4096)
                Assert.True(Deflated(payload) > 0.99 * payload.Length, $"{e.MessageType} #{e.Sequence} compresses: it has plaintext structure");
        }
        Assert.Equal(0UL, job.Relay.OldSequenceDropped + job.Relay.StaleGenerationDropped);
        output.WriteLine($"transcript: {transcript.Count} sealed payloads, {transcript.Sum(t => t.Payload.LongLength) / 1048576.0:F1} MiB, none readable by the coordinator");

        foreach (var (file, content) in CoordinatorTranscript.StoredFiles(Path.Combine(fixture.RunDirectory, RunFolder.CoordinatorName)))
            Assert.False(HoldsCkksObject(content), $"{file} holds a CKKS object: the coordinator must hold no HE key material");
    }

    private static bool ReadableStepMessage(byte[] payload)
    {
        try
        {
            var message = Federated.Learning.Protocol.V1.SplitTrainingMessage.Parser.ParseFrom(payload);
            return message.BodyCase != Federated.Learning.Protocol.V1.SplitTrainingMessage.BodyOneofCase.None;
        }
        catch (Google.Protobuf.InvalidProtocolBufferException) { return false; }
    }

    /// <summary>The job's CKKS parameters hash: every serialized CKKS object (ciphertext, key) carries it in its header.</summary>
    private static readonly Lazy<byte[]> CkksParametersHash = new(() =>
    {
        var options = new Federated.Learning.Crypto.Ckks.CkksSessionOptions();
        return new Federated.Crypto.Ckks.CkksContext(Federated.Crypto.Ckks.EncryptionParameters.Create(options.PolyModulusDegree, [.. options.PrimeBits])).ParametersHash;
    });

    /// <summary>A CKKS object header: "FCKS", version, kind, then the parameters hash (no chance match in random bytes).</summary>
    private static bool HoldsCkksObject(byte[] bytes)
    {
        var span = bytes.AsSpan();
        for (int at = span.IndexOf("FCKS"u8); at >= 0; )
        {
            if (at + 38 <= span.Length && span.Slice(at + 6, 32).SequenceEqual(CkksParametersHash.Value)) return true;
            int next = span[(at + 1)..].IndexOf("FCKS"u8);
            at = next < 0 ? -1 : at + 1 + next;
        }
        return false;
    }

    private static long Deflated(byte[] payload)
    {
        using var buffer = new MemoryStream();
        using (var deflate = new System.IO.Compression.DeflateStream(buffer, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            deflate.Write(payload);
        return buffer.Length;
    }

    [Fact]
    public async Task A_train_job_failed_by_bad_input_reports_the_failure_kind_and_is_not_retried()
    {
        using var op = fixture.Connect();
        var created = await CreateAsync(op, Parameters("it-bad-input", fixture.EvaluationUsersFile, ("epochs", "0")));
        JobInfo job;
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while ((job = await op.Jobs.GetJobAsync(new GetJobRequest { JobId = created.JobId })).State is not (JobState.Failed or JobState.Completed or JobState.Stopped))
        {
            Assert.True(DateTime.UtcNow < deadline, $"job still {job.State}\n{fixture.Logs()}");
            await Task.Delay(100);
        }
        Assert.Equal(JobState.Failed, job.State);
        Assert.All(job.Parties.Where(p => p.State == JobState.Failed), p => Assert.Equal(FailureKind.Input, p.Failure));
        Assert.Contains("'epochs'", job.Reason);
        // The retry service checks every second: a crash-like failure would have a new attempt by now.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var retries = (await op.Jobs.ListJobsAsync(new ListJobsRequest())).Jobs.Where(j => j.Parameters.TryGetValue("retryOf", out var of) && of == created.JobId);
        Assert.Empty(retries);
    }

    [Fact]
    public async Task A_train_job_survives_kill_9_of_each_of_the_three_processes_and_resumes_from_a_checkpoint()
    {
        // Plaintext reference with a fixed seed: the resumed run must reproduce the uninterrupted one exactly. Both runs
        // are the same training job on the same alignment (PSI draws fresh secrets and a fresh joint batch seed per
        // run), so after the uninterrupted run each party keeps its PSI result and drops its checkpoints, models and
        // outputs: the crash run starts again from step 0 on the same rows and batches.
        (string, string)[] plain = [("mode", "plaintext"), ("insecure", "plaintext-reference,fixed-seed"), ("seed", "7"), ("epochs", "40"), ("checkpointEvery", "4")]; // enough steps that the coordinator kill lands mid-run on an idle machine too
        const string name = "it-plain";
        using var op = fixture.Connect();
        var reference = await FollowAsync(op, (await CreateAsync(op, Parameters(name, fixture.EvaluationUsersFile, plain))).JobId, TimeSpan.FromMinutes(5));
        Assert.True(reference.Last.State == JobState.Completed, $"reference run {reference.Last.State}: {reference.Last.Reason}\n{fixture.Logs()}");
        var straight = TrainJobFolders.ReadJson<TrainJobOutcome>(TrainJobFolders.ResultFile(fixture.JobFolderOf("music", name), RoundNumber.First))!;
        var listsA = TrainJobFolders.ReadRankings(TrainJobFolders.RankingsFile(fixture.JobFolderOf("music", name), RoundNumber.First));
        Assert.True(straight.Steps >= 40, $"only {straight.Steps} steps");
        Assert.Equal(0UL, straight.ResumedFromStep);
        foreach (var party in new[] { "music", "external" })
            foreach (var folder in new[] { "checkpoints", "models", "outputs" })
                Directory.Delete(Path.Combine(fixture.JobFolderOf(party, name), folder), recursive: true);

        var first = await CreateAsync(op, Parameters(name, fixture.EvaluationUsersFile, plain));
        string? crashedAt = null, coordinatorKilledIn = null, musicKilledIn = null;
        var killedExternal = false;
        ulong coordinatorKillStep = 0;
        // The operator connection survives the coordinator restart (gRPC reconnects; polls during the restart are retried).
        var (job, attempts) = await FollowAsync(op, first.JobId, TimeSpan.FromMinutes(6), async polled =>
        {
            var progress = fixture.ProgressOf("music", name);
            if (progress is null || progress.Phase != "training") return;
            if (!killedExternal && progress.CoordinatorJobId == first.JobId && progress.Step >= 12)
            {
                killedExternal = true;
                crashedAt = $"external killed at M step {progress.Step} of {progress.TotalSteps}";
                output.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {crashedAt}");
                fixture.Federation.Kill(RunFolder.ExternalName); // SIGKILL, whole process tree
                await Task.Delay(500);
                await fixture.Federation.StartHostAsync(RunFolder.ExternalName, CancellationToken.None);
            }
            else if (killedExternal && coordinatorKilledIn is null && progress.CoordinatorJobId != first.JobId && polled.JobId == progress.CoordinatorJobId
                     && progress.Step >= 28 && progress.Step < progress.TotalSteps - 4)
            {
                coordinatorKilledIn = polled.JobId;
                coordinatorKillStep = (ulong)progress.Step;
                output.WriteLine($"{DateTime.UtcNow:HH:mm:ss} coordinator killed at M step {progress.Step} of attempt {polled.JobId}");
                fixture.Federation.Kill(RunFolder.CoordinatorName);
                await Task.Delay(500);
                await fixture.Federation.StartHostAsync(RunFolder.CoordinatorName, CancellationToken.None);
            }
            else if (coordinatorKilledIn is not null && musicKilledIn is null && polled.JobId == progress.CoordinatorJobId
                     && (ulong)progress.Step >= coordinatorKillStep + 10 && progress.Step < progress.TotalSteps - 6)
            {
                // Last, the music party (labels, W_M, the DP ledger): any of the three processes may crash.
                musicKilledIn = polled.JobId;
                output.WriteLine($"{DateTime.UtcNow:HH:mm:ss} music party killed at its step {progress.Step} of attempt {polled.JobId}");
                fixture.Federation.Kill(RunFolder.MusicName);
                await Task.Delay(500);
                await fixture.Federation.StartHostAsync(RunFolder.MusicName, CancellationToken.None);
            }
        });
        Assert.True(job.State == JobState.Completed, $"training job {job.State} after attempts {string.Join(", ", attempts)}: {job.Reason}\n{fixture.Logs()}");
        Assert.True(killedExternal, "the job finished before the external party could be killed");
        Assert.NotNull(coordinatorKilledIn);
        Assert.NotNull(musicKilledIn);
        Assert.True(attempts.Count >= 3, $"expected a retry after each party's crash; attempts: {string.Join(", ", attempts)}");

        var resumed = TrainJobFolders.ReadJson<TrainJobOutcome>(TrainJobFolders.ResultFile(fixture.JobFolderOf("music", name), RoundNumber.First))!;
        var resumedE = TrainJobFolders.ReadJson<TrainJobOutcome>(TrainJobFolders.ResultFile(fixture.JobFolderOf("external", name), RoundNumber.First))!;
        output.WriteLine($"{crashedAt}; final attempt {resumed.CoordinatorJobId} resumed from step {resumed.ResumedFromStep} (E {resumedE.ResumedFromStep}) of {resumed.Steps}");
        Assert.Equal(job.JobId, resumed.CoordinatorJobId);
        // Killed at M step >= 12 with checkpoints every 4 steps: the newest common checkpoint is 8 or later, never step 0.
        Assert.True(resumed.ResumedFromStep >= 8, $"the last attempt resumed from step {resumed.ResumedFromStep}, not from a checkpoint before the crash");
        Assert.Equal(resumed.ResumedFromStep, resumedE.ResumedFromStep);
        Assert.Equal(straight.Steps, resumed.Steps);
        Assert.Equal(straight.Epsilon!.Value, resumed.Epsilon!.Value, 9);

        // Same seed, plaintext: the resumed run reproduces the uninterrupted one.
        var a = fixture.Harness.Score("uninterrupted", listsA);
        var listsB = TrainJobFolders.ReadRankings(TrainJobFolders.RankingsFile(fixture.JobFolderOf("music", name), RoundNumber.First));
        var b = fixture.Harness.Score("resumed", listsB);
        var identical = listsA.Count(kv => listsB.TryGetValue(kv.Key, out var other) && other.SequenceEqual(kv.Value));
        output.WriteLine($"{a}\n{b}\nidentical lists: {identical} of {listsA.Count}");
        Assert.Equal(listsA.Count, listsB.Count);
        // Checkpoints round-trip the weights to within ~1e-6 and later steps amplify that a little, which may swap
        // near ties: allow a few users' hits to flip (2 points of HR, 1 of NDCG), far below the gap to popularity.
        foreach (var k in new[] { 10, 50, 100 })
            Assert.True(Math.Abs(a[k].HitRate - b[k].HitRate) <= 0.02 && Math.Abs(a[k].Ndcg - b[k].Ndcg) <= 0.01,
                $"@{k}: uninterrupted HR {a[k].HitRate:F4} NDCG {a[k].Ndcg:F4} vs resumed HR {b[k].HitRate:F4} NDCG {b[k].Ndcg:F4}");
        // Not asserted: resume is not yet bit-exact (0 to all of the lists identical across runs).
        var overlap = listsA.Average(kv => kv.Value.Intersect(listsB[kv.Key]).Count() / (double)kv.Value.Count);
        output.WriteLine($"ranked lists identical: {identical} of {listsA.Count}; song overlap {overlap:P1}");

        // Every failed attempt was failed as a crash (a party restarted or its peer timed out, or the watchdog failed
        // it with no party report), which is what made the coordinator retry it.
        foreach (var failed in attempts.Take(attempts.Count - 1))
        {
            var info = await op.Jobs.GetJobAsync(new GetJobRequest { JobId = failed });
            Assert.True(info.Parties.All(p => p.State != JobState.Failed) || info.Parties.Any(p => p.Failure is FailureKind.Interrupted or FailureKind.PeerTimeout),
                $"attempt {failed}: " + string.Join("; ", info.Parties.Select(p => $"{p.PartyId} {p.State} {p.Failure}: {p.Summary}")));
        }

        // The retry is visible in the audit log, and the chain survived both crashes.
        using (var log = AuditLog.Open(fixture.AuditDatabase))
        {
            var events = log.Read(1, int.MaxValue).Where(r => r.Entry.JobId == first.JobId).Select(r => r.Entry.Details ?? "").ToList();
            Assert.Contains(events, d => d.Contains("\"retried\"", StringComparison.Ordinal));
        }
        var verification = AuditVerifier.Verify(fixture.AuditDatabase);
        Assert.True(verification.IsValid, verification.Problem);
        using var again = fixture.Connect();
        await LocalFederationFixture.WaitForPartiesAsync(again);
    }
}
