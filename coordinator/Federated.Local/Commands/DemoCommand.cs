using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Federated.Audit;
using Federated.Core.Jobs;
using Federated.Synthetic;
using Federated.Launcher;
using Federated.Operator;
using Federated.PartyJobs;
using Federated.Training;
using Federated.Experiments;
using Federated.Experiments.Reports;
using Federated.Data.Evaluation;
using Federated.PartyJobs.Serving;
using Federated.Serving.Publication;
using Federated.Training.Jobs;
using Federated.Transport.V1;
using Spectre.Console;

namespace Federated.Local.Commands;

/// <summary>
/// The main job. Generates the synthetic world into the run folder, starts the three hosts as separate processes on
/// loopback with mutual TLS (each party gets only its own data folder; nobody gets the truth), checks the sealed
/// round trip with a ping job, runs the federated <c>train</c> job in encrypted mode (PSI -> training -> evaluation
/// forward; M writes its ranked lists into its own job folder and publishes the job's embeddings as a model version),
/// asks M's recall API for the published cold-start users and for each cold-start song's audience among them, stops
/// the hosts, then does the operator's part: scores the recall API's answers against the held-out truth, trains the
/// baselines on the same world (single process), writes the evaluation report (K = 1..100, bootstrap intervals, plots,
/// predictions) into the run folder and prints the results tables, example answers, ε spent, the audit-log check and
/// the wall time per phase. Exit 0 only if every check passes.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var rounds = new Option<int>("--rounds") { Description = "Ping-pong round trips", DefaultValueFactory = _ => 3 };
        var size = new Option<string>("--size") { Description = "World and training size: tiny, small or demo", DefaultValueFactory = _ => "demo" };
        var quick = new Option<bool>("--quick") { Description = "Same as --size tiny (tests, smoke runs)" };
        var plaintext = new Option<bool>("--plaintext-reference") { Description = "Also run the INSECURE plaintext reference train job (explicit flag, recorded in the audit log)" };
        var noBaselines = new Option<bool>("--no-baselines") { Description = "Skip M alone and centralised (popularity and oracle are always scored)" };
        var demo = new Command("demo", "Main job: synthetic world -> coordinator + both parties (mTLS) -> sealed ping -> encrypted federated training job -> scores, baselines, ε, audit check")
            { rounds, size, quick, plaintext, noBaselines };
        demo.SetAction(async (result, ct) =>
        {
            var choice = DemoSize.Parse(result.GetValue(quick) ? "tiny" : result.GetValue(size) ?? "demo");
            var run = new RunFolder(Path.Combine(RunFolder.FederationRoot(typeof(Program).Assembly), "demo"));
            if (FederationCommands.RunningHosts(run).Count > 0)
                throw new OperatorException($"another demo is running from {run.Root}");
            if (Directory.Exists(run.Root))
                Directory.Delete(run.Root, recursive: true);
            return await RunAsync(run, choice, result.GetValue(rounds), result.GetValue(plaintext), !result.GetValue(noBaselines), ct);
        });
        return demo;
    }

    private static void Step(string text) => AnsiConsole.MarkupLineInterpolated($"[grey]{DateTime.Now:HH:mm:ss} •[/] {text}");

    private static async Task<int> RunAsync(RunFolder run, DemoSize size, int rounds, bool withPlaintext, bool withBaselines, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        var phases = new List<(string Phase, TimeSpan Time)>();
        var clock = Stopwatch.StartNew();
        TimeSpan Lap() { var t = clock.Elapsed; clock.Restart(); return t; }

        // 1. The world: external/ goes to E, music/ to M, truth/ stays with the operator's evaluation harness.
        var world = Path.Combine(run.Root, "world");
        Step($"generating the synthetic world '{size.Name}' ({size.World.Users} users, {size.World.Songs} songs) in {world}");
        await SyntheticWorld.GenerateAsync(size.World, world, null, ct);
        var harness = await EvaluationHarness.ForSyntheticColdUsersAsync(world, ct);
        var evaluationUsers = Path.Combine(run.Root, "operator", "evaluation-users.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(evaluationUsers)!);
        File.WriteAllLines(evaluationUsers, harness.UsersToRank);
        phases.Add(("generate world", Lap()));

        var binaries = HostBinaries.FromAssemblyMetadata(typeof(DemoCommand).Assembly);
        LocalFederation? federation = null;
        var hostRows = new List<(string Name, int Pid, string Address)>();
        IReadOnlyList<PartyInfo> parties = [];
        JobInfo? ping = null;
        var trainRuns = new List<(string Method, TrainingJobFollower.Outcome Outcome, string TrainingJob)>();
        DemoServing.Served? served = null;
        DemoLiveRecall.Live? live = null;
        ColdSongAudience? coldSongs = null;
        DemoServing.Audiences? audiences = null;
        IReadOnlyDictionary<string, IReadOnlyList<string>>? randomAudiences = null;
        (int Same, int Asked)? arrivingAgreement = null;
        const string servedMethod = "federated encrypted";
        EventHandler onExit = (_, _) => { foreach (var h in federation?.Hosts.Values ?? []) h.Kill(); };
        AppDomain.CurrentDomain.ProcessExit += onExit;
        try
        {
            federation = await LocalFederation.StartAsync(new LocalFederationOptions(run.Root, binaries)
            {
                MusicDataDirectory = Path.Combine(world, SyntheticWorldLayout.MusicFolder),
                ExternalDataDirectory = Path.Combine(world, SyntheticWorldLayout.ExternalFolder),
            }, new Progress<string>(Step), ct);
            hostRows.AddRange(federation.Hosts.Values.Select(h => (h.Name, h.ProcessId, h.Address?.ToString() ?? "")));
            using var connection = OperatorConnection.Open(federation.CoordinatorAddress.ToString(), null, RunFolder.OperatorName, federation.Folder);
            Step("waiting for both parties to register");
            parties = await JobWaits.WaitForPartiesAsync(connection, TimeSpan.FromSeconds(60), ct);
            phases.Add(("start hosts", Lap()));

            Step($"running job 'ping' ({rounds} sealed round trips through the relay)");
            ping = await JobWaits.RunJobAsync(connection, "ping",
                new Dictionary<string, string> { ["rounds"] = rounds.ToString(CultureInfo.InvariantCulture) }, TimeSpan.FromSeconds(120), ct);
            phases.Add(("sealed ping", Lap()));

            var driver = new TrainingJobFollower(connection, Step) { ExtraProgress = job => PartyProgress(run, job) };
            var jobs = new List<(string Method, string TrainingJob, bool Plaintext)> { ("federated encrypted", "demo-ckks", false) };
            if (withPlaintext) jobs.Insert(0, ("federated plaintext reference", "demo-plain", true));
            foreach (var (method, trainingJob, isPlaintext) in jobs)
            {
                Step($"running job 'train' ({method}): PSI -> {size.Epochs} epochs of batch {size.BatchSize} -> evaluation forward for {harness.UsersToRank.Count} cold-start users");
                var outcome = await driver.RunAsync(size.TrainParameters(trainingJob, evaluationUsers, isPlaintext), TimeSpan.FromMinutes(60), ct);
                trainRuns.Add((method, outcome, trainingJob));
                phases.Add(($"train job ({method})", Lap()));
                if (outcome.Job.State != JobState.Completed) break;
                if (method == servedMethod)
                {
                    // M published the job's embeddings; the evaluation goes through M's recall API.
                    var published = TrainJobFolders.ReadRankings(TrainJobFolders.RankingsFile(
                        TrainJobFolders.JobFolder(Path.Combine(run.PartyState(RunFolder.MusicName), "train"), new TrainingJobName(trainingJob)), RoundNumber.First));
                    Step($"asking M's recall API for the {published.Count} cold-start users it published (mutual TLS, as one of M's serving clients)");
                    served = await DemoServing.AskAsync(federation, published.Keys.ToArray(), harness.Candidates.ToHashSet(StringComparer.Ordinal),
                        100, published, ct);
                    phases.Add(("recall API (cold-start users)", Lap()));
                    var liveUsers = published.Keys.Order(StringComparer.Ordinal).Take(64).ToArray();
                    Step($"opening a live inference session with E (job 'infer') and asking M's recall API to compute {liveUsers.Length} cold-start users through E now (decoy factor 4)");
                    live = await DemoLiveRecall.AskAsync(federation, connection, size.TrainParameters(trainingJob, evaluationUsers, isPlaintext), liveUsers, 16, ct);
                    phases.Add(("live recall through E (infer job)", Lap()));

                    // Cold-start songs: each song's audience among the users M published, from the same version.
                    var publishedSet = new EmbeddingVersionStore(Path.Combine(run.PartyState(RunFolder.MusicName), new ServingOptions().StoreDirectory))
                        .Open(served.Version);
                    coldSongs = await harness.ColdSongAudienceAsync(publishedSet.UserKeysInOrder, ct);
                    Step($"asking M's recall API for the audience of each of the {coldSongs.Songs.Count} cold-start songs among the {coldSongs.Pool.Count} users it published, " +
                        "each song sent as it arrives (new_song: its metadata and audio descriptor, embedded by the version's item tower at request time)");
                    var arriving = await DemoServing.ArrivingSongsAsync(SyntheticWorldLayout.SongsSchema(world), coldSongs.Songs, ct);
                    audiences = await DemoServing.AudiencesAsync(federation, coldSongs.Songs, ReportDepth, [AudienceSimilarSongs], served.Version, ct, arriving);
                    // The same songs by id: M published them from the same features, so the audiences agree.
                    var sample = coldSongs.Songs.Take(50).ToArray();
                    var byId = (await DemoServing.AudiencesAsync(federation, sample, ReportDepth, [AudienceSimilarSongs], served.Version, ct)).BySimilarSongs[AudienceSimilarSongs];
                    arrivingAgreement = (sample.Count(song => byId[song].SequenceEqual(audiences.BySimilarSongs[AudienceSimilarSongs][song])), sample.Length);
                    randomAudiences = coldSongs.RandomVectors(ReportDepth, publishedSet.Dimensions, UserVectors(publishedSet), seed: 17);
                    phases.Add(("recall API (cold-start songs)", Lap()));
                }
            }
            Step("stopping the hosts");
        }
        finally
        {
            if (federation is not null)
                await federation.DisposeAsync();
            AppDomain.CurrentDomain.ProcessExit -= onExit;
        }
        phases.Add(("stop hosts", Lap()));

        // 2. The operator's evaluation: M's ranked lists (M's output, in its job folder) scored against the truth.
        var rows = new List<ResultRow> { new("popularity", await harness.PopularityAsync(ct), null, null, "", TimeSpan.Zero) };
        var outcomes = new Dictionary<string, TrainJobOutcome>();
        var coldUserLists = new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyList<string>>>(StringComparer.Ordinal)
        {
            ["popularity"] = await harness.PopularityRankingsAsync(ReportDepth, ct),
        };
        foreach (var (method, outcome, trainingJob) in trainRuns.Where(r => r.Outcome.Job.State == JobState.Completed))
        {
            var musicJob = TrainJobFolders.JobFolder(Path.Combine(run.PartyState(RunFolder.MusicName), "train"), new TrainingJobName(trainingJob));
            var m = TrainJobFolders.ReadJson<TrainJobOutcome>(TrainJobFolders.ResultFile(musicJob, RoundNumber.First))
                ?? throw new OperatorException($"the music party wrote no result for {trainingJob} in {musicJob}");
            // The served method is scored from the recall API's answers; others from M's ranked lists.
            var rankings = method == servedMethod && served is not null ? served.Rankings
                : TrainJobFolders.ReadRankings(TrainJobFolders.RankingsFile(musicJob, RoundNumber.First));
            outcomes[method] = m;
            coldUserLists[method] = rankings;
            rows.Add(new ResultRow(method, harness.Score(method, rankings), m.Epsilon, m.Delta,
                m.Mode == nameof(FederationMode.Encrypted) ? "" : m.SecurityNotice,
                TimeSpan.FromSeconds(m.LoadingSeconds + m.AlignmentSeconds + m.TrainingSeconds + m.EvaluationSeconds)));
        }
        phases.Add(("score M's ranked lists", Lap()));

        // 3. Baselines through the same tables, shapes and schedule, in this process (no privacy needed: the operator's bench).
        var reportNotes = new List<string>
        {
            "federated encrypted (cold-start users): the lists M's recall API answered for the users M published after the encrypted job.",
        };
        var baselineVectors = new Dictionary<string, TrainedEmbeddings>(StringComparer.Ordinal);
        if (withBaselines)
        {
            // Without --plaintext-reference the plaintext reference row is trained here, both parties in one process.
            var plaintextHere = !withPlaintext;
            Step($"training the baselines in this process: M alone, {(plaintextHere ? "the federated plaintext reference, " : "")}centralised (all features pooled: the upper bound)");
            var parameters = TrainJobParameters.Parse(new AttemptId("demo-baselines"), size.TrainParameters("demo-baselines", evaluationUsers, plaintext: false));
            var baselines = await FederatedExperiment.RunAsync(new ExperimentOptions
            {
                WorkFolder = Path.Combine(run.Root, "operator", "baselines-work"),
                World = size.World,
                Training = parameters.Options,
                Methods = ExperimentMethods.MusicAlone | ExperimentMethods.Centralised | (plaintextHere ? ExperimentMethods.FederatedPlaintext : ExperimentMethods.None),
            }.WithWorld(world), new Progress<string>(Step), ct);
            rows.InsertRange(1, baselines.Table.Rows.Where(r => r.Method.StartsWith("M alone", StringComparison.Ordinal)));
            if (plaintextHere && baselines.Table.Find(PlaintextMethod) is { } plain)
            {
                var inProcess = plain with { Method = PlaintextMethod + " (in process)" };
                rows.Insert(rows.FindIndex(r => r.Method == servedMethod) is var at and >= 0 ? at : rows.Count, inProcess);
                coldUserLists[inProcess.Method] = baselines.Rankings[PlaintextMethod];
                reportNotes.Add($"{inProcess.Method}: both party jobs in the operator's process with the same tables, schedule and label DP (no relay); --plaintext-reference runs it through the three hosts instead.");
            }
            rows.AddRange(baselines.Table.Rows.Where(r => r.Method == "centralised"));
            foreach (var (method, vectors) in baselines.Embeddings)
                baselineVectors[method == PlaintextMethod && plaintextHere ? PlaintextMethod + " (in process)" : method] = vectors;
            foreach (var (method, lists) in baselines.Rankings) coldUserLists.TryAdd(method, lists);
            phases.Add(("baselines (M alone, centralised)", Lap()));
        }
        rows.Add(new ResultRow("oracle", harness.Oracle(), null, null, "", TimeSpan.Zero));
        coldUserLists["oracle"] = harness.OracleRankings(ReportDepth);
        var table = new ResultsTable(harness.TaskName, rows);

        // 3b. Cold-start songs: the recall API's audiences against the baselines, on the same pool of published users.
        var reportTasks = new List<ReportTask>
        {
            new(harness.TaskName, "user", "song",
                "Users new to M (known to E), ranked against every warm song; the truth is each user's held-out interactions.",
                harness.Relevant.ToDictionary(p => p.Key, p => (IReadOnlySet<string>)p.Value, StringComparer.Ordinal),
                table.Rows.Where(r => coldUserLists.ContainsKey(r.Method)).Select(r => new RankedLists(r.Method, coldUserLists[r.Method], r.Notice)).ToArray()),
        };
        ResultsTable? songTable = null;
        if (coldSongs is not null && audiences is not null && randomAudiences is not null)
        {
            // The trained baselines place the same songs among the same users with the recall engine's own rule.
            var baselineAudiences = new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyList<string>>>(StringComparer.Ordinal);
            foreach (var (method, vectors) in baselineVectors)
                baselineAudiences[method] = DemoAudiences.Of(vectors, coldSongs.Pool, coldSongs.Songs, ReportDepth, AudienceSimilarSongs,
                    Path.Combine(run.Root, "operator", "baseline-audiences", DemoAudiences.Slug(method)));
            RankedLists? Baseline(string method, string notice) =>
                baselineAudiences.TryGetValue(method, out var lists) ? new RankedLists(method, lists, notice) : null;
            const string sameRule = "its vectors, with the recall API's TargetAudience rule (same similar_songs), over the same users";
            var songMethods = new[]
            {
                new RankedLists("most active users", coldSongs.MostActiveUsers(ReportDepth),
                    "the popularity analogue (a cold song has no plays to count): the same list for every song, users by their number of songs played in M's training data"),
                Baseline("M alone (no E features)", $"M's model trained alone; {sameRule}"),
                Baseline(PlaintextMethod + " (in process)", $"{sameRule}"),
                new RankedLists(AudienceMethod, audiences.BySimilarSongs[AudienceSimilarSongs],
                    $"M's recall API, TargetAudience with similar_songs = {AudienceSimilarSongs} (its default), each song sent as it arrives (new_song): the song and its nearest songs draw their nearest users"),
                Baseline("centralised", $"all features pooled, no privacy; {sameRule}"),
                new RankedLists("random vectors", randomAudiences, "a random unit vector per song (seeded) scored against the published user vectors"),
                new RankedLists("oracle", coldSongs.Oracle(ReportDepth), "the generator's own choice model (taste · style) over the same users"),
            }.OfType<RankedLists>().ToArray();
            var audienceSets = coldSongs.Truth.ToDictionary(p => p.Key, p => p.Value.ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
            songTable = new ResultsTable($"cold-start songs (audiences among the {coldSongs.Pool.Count} users M published)",
                songMethods.Select(m => new ResultRow(m.Method, RecallMetrics.Evaluate(m.Method, m.Lists, audienceSets), null, null, "", TimeSpan.Zero)).ToArray(),
                queries: "songs");
            reportTasks.Add(new ReportTask("cold-start songs", "song", "user",
                $"Songs with no training interactions (item vectors from metadata and audio only); for each, the {ReportDepth} users to offer it to among the " +
                $"{coldSongs.Pool.Count} users M published. The truth is which of those users played the song in the held-out period; " +
                $"songs none of them played are not scored ({coldSongs.Truth.Count} of {coldSongs.Songs.Count} cold songs are).",
                coldSongs.Truth, songMethods));
        }
        else reportNotes.Add("cold-start songs: not evaluated (the recall API was not asked).");
        if (!coldUserLists.Keys.Any(k => k.StartsWith(PlaintextMethod, StringComparison.Ordinal)))
            reportNotes.Add($"{PlaintextMethod}: not run in this demo.");
        var reportFolder = Path.Combine(run.Root, "report");
        Step($"writing the evaluation report (K = 1..{ReportDepth}, bootstrap intervals over users and songs) to {reportFolder}");
        var report = await EvaluationReport.WriteAsync(reportFolder, reportTasks, new ReportSettings { MaxK = ReportDepth }, reportNotes, ct);
        phases.Add(("evaluation report", Lap()));

        // 4. The audit log and what is left running.
        var leftOver = hostRows.Where(h => ProcessSignals.IsAlive(h.Pid)).ToList();
        var auditPath = run.AuditDatabase;
        var verification = AuditVerifier.Verify(auditPath);
        var relayRecords = new Dictionary<string, long>();
        using (var log = AuditLog.Open(auditPath))
        {
            var records = log.Read(1, int.MaxValue).Where(r => r.Entry.Kind == AuditEntry.RelayKind).GroupBy(r => r.Entry.JobId);
            foreach (var group in records) relayRecords[group.Key ?? ""] = group.LongCount();
        }
        phases.Add(("audit verify", Lap()));

        var hosts = new Table().Title("hosts (separate processes, mutual TLS)").AddColumns("host", "pid", "address", "after the demo");
        foreach (var (name, pid, address) in hostRows)
            hosts.AddRow(name, pid.ToString(CultureInfo.InvariantCulture), address, leftOver.Any(l => l.Pid == pid) ? "[red]still running[/]" : "[green]stopped[/]");
        AnsiConsole.Write(hosts);
        AnsiConsole.Write(OperatorTables.Parties(parties).Title("party registry"));
        var allJobs = new List<JobInfo>();
        if (ping is not null) allJobs.Add(ping);
        allJobs.AddRange(trainRuns.Select(r => r.Outcome.Job));
        if (live is not null) allJobs.Add(live.Job);
        if (allJobs.Count > 0) AnsiConsole.Write(OperatorTables.Jobs(allJobs).Title("jobs"));
        foreach (var job in allJobs) AnsiConsole.Write(OperatorTables.Reports(job).Title($"party reports: {job.Kind} {job.JobId}"));

        AnsiConsole.WriteLine();
        AnsiConsole.Write(new Text(table.ToText()));
        if (songTable is not null)
        {
            AnsiConsole.Write(new Text(songTable.ToText()));
            AnsiConsole.MarkupLineInterpolated($"cold-start songs: {audiences!.Requests} TargetAudience requests to M's recall API in {audiences.Time.TotalMilliseconds:0} ms, each song sent as it arrives (new_song); top {ReportDepth} audience identical to the song id's for {arrivingAgreement?.Same ?? 0} of {arrivingAgreement?.Asked ?? 0}");
        }
        AnsiConsole.MarkupLineInterpolated($"evaluation report (HR, Recall, NDCG at K = 1..{report.Settings.MaxK} with {report.Settings.Level:P0} bootstrap intervals, plots, predictions): {Path.Combine(reportFolder, EvaluationReport.MarkdownFile)}");
        foreach (var (method, m) in outcomes)
        {
            AnsiConsole.MarkupLineInterpolated($"{method}: ε spent {Format(m.Epsilon)} (δ {m.Delta?.ToString("0e0", CultureInfo.InvariantCulture) ?? "-"}), {m.AlignedRows} aligned rows, {m.Steps} steps, {m.EvaluationRows} cold-start users known to E; PSI {m.AlignmentSeconds:0.0} s, training {m.TrainingSeconds:0.0} s, evaluation {m.EvaluationSeconds:0.0} s (at M)");
            // Throughput through the real relay: training samples (aligned rows x epochs) per second of training, and
            // everything the (last) attempt relayed (PSI, training, evaluation) per training sample.
            var samples = (double)m.AlignedRows * size.Epochs;
            var bytes = trainRuns.Where(r => r.Method == method).Sum(r => (double)(r.Outcome.Job.Relay?.BytesRelayed ?? 0));
            AnsiConsole.MarkupLineInterpolated($"{method}: {samples / Math.Max(1e-9, m.TrainingSeconds):0} training samples/s, {bytes / Math.Max(1, samples) / 1024:0.0} KiB relayed per sample ({bytes / 1048576:0.0} MiB in all)");
        }

        if (served is not null)
        {
            AnsiConsole.MarkupLineInterpolated($"served by M's recall API: model version {served.Version} ({served.Songs:N0} songs), {served.Rankings.Count} cold-start users in {served.Requests} requests, {served.Time.TotalMilliseconds:0} ms; top 10 identical to M's in-job lists for {served.SameTop10:P1} of users");
            var examples = new Table().Title($"recall API answers (model version {served.Version}), first songs").AddColumns("user", "songs (score)");
            foreach (var user in served.Examples)
                examples.AddRow(Markup.Escape(user.UserId), Markup.Escape(string.Join(", ", user.Songs.Take(5).Select(s => $"{s.Id} ({s.Score:0.000})"))));
            AnsiConsole.Write(examples);
        }

        if (live is not null)
            AnsiConsole.MarkupLineInterpolated($"live recall through E (infer job {live.JobId}): session open in {live.Opening.TotalSeconds:0.0} s; {live.Users} cold-start users in {live.Requests} requests of 16, {live.PerRequest.TotalMilliseconds:0} ms per request, {live.Messages} messages and {live.Bytes / 1048576.0:0.0} MiB relayed; top 10 identical to the published vectors' for {live.SameTop10:P1}");

        var times = new Table().Title("wall time per phase").AddColumns("phase", "seconds");
        foreach (var (phase, time) in phases) times.AddRow(Markup.Escape(phase), time.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture));
        times.AddRow("[bold]total[/]", total.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture));
        AnsiConsole.Write(times);

        var checks = new List<(string Check, bool Ok, string Detail)>();
        var pingOk = ping?.State == JobState.Completed;
        checks.Add(("sealed ping-pong through the relay", pingOk, ping is null ? "not run" : $"{JobWaits.StateText(ping.State)} {ping.Reason}"));
        foreach (var (method, outcome, _) in trainRuns)
        {
            var job = outcome.Job;
            checks.Add(($"train job ({method})", job.State == JobState.Completed,
                $"{JobWaits.StateText(job.State)} {job.Reason} ({outcome.Attempts.Count} attempt(s): {string.Join(", ", outcome.Attempts)})".Trim()));
        }
        if (trainRuns.Count == 0) checks.Add(("train job", false, "not run"));
        if (trainRuns.Any(r => r.Method == servedMethod && r.Outcome.Job.State == JobState.Completed))
            checks.Add(("cold-start users answered through M's recall API", served is not null && served.Rankings.Count > 0 && served.SameTop10 >= 0.95,
                served is null ? "not asked" : $"{served.Rankings.Count} users from version {served.Version}; top 10 as in the job for {served.SameTop10:P1}"));
        if (served is not null)
            checks.Add(("cold-start users computed live through E (infer job)", live is not null && live.SameTop10 >= 0.95 && live.Job.State == JobState.Stopped,
                live is null ? "not asked" : $"{live.Users} users, top 10 as published for {live.SameTop10:P1}; job {JobWaits.StateText(live.Job.State)}"));
        foreach (var method in outcomes.Keys)
        {
            var federated = table[method].Report[50].HitRate;
            var popularity = table["popularity"].Report[50].HitRate;
            checks.Add(($"{method} HR@50 above popularity", federated > popularity, $"{federated:0.000} vs {popularity:0.000}"));
            if (table.Rows.FirstOrDefault(r => r.Method.StartsWith("M alone", StringComparison.Ordinal)) is { } alone)
                checks.Add(($"{method} HR@50 above M alone", federated > alone.Report[50].HitRate,
                    $"{federated:0.000} vs {alone.Report[50].HitRate:0.000} ({federated / Math.Max(1e-9, alone.Report[50].HitRate):0.00}x)"));
            if (table.Find("centralised") is { } central)
                AnsiConsole.MarkupLineInterpolated($"{method} HR@50 is {federated / Math.Max(1e-9, central.Report[50].HitRate):P0} of centralised (all features pooled, no privacy)");
        }
        foreach (var job in allJobs)
        {
            var records = relayRecords.GetValueOrDefault(job.JobId);
            checks.Add(($"relayed messages audited ({job.Kind})", records == (long)(job.Relay?.MessagesRelayed ?? 0) && records > 0,
                $"{records} relay records for {job.Relay?.MessagesRelayed ?? 0} relayed messages"));
        }
        checks.Add(("audit log hash chain", verification.IsValid, verification.IsValid
            ? $"valid ({verification.RecordsChecked} records)" : $"INVALID at record {verification.FirstBadIndex}: {verification.Problem}"));
        if (songTable is not null)
        {
            var audience = songTable[AudienceMethod].Report[50].HitRate;
            var best = songTable.Rows.Where(r => r.Method is "most active users" or "random vectors").MaxBy(r => r.Report[50].HitRate)!;
            checks.Add(("cold-start songs: recall API audiences HR@50 above the baselines", audience > best.Report[50].HitRate,
                $"{audience:0.000} vs {best.Report[50].HitRate:0.000} ({best.Method})"));
            checks.Add(("cold-start songs sent as they arrive: audiences as for the published song", arrivingAgreement is { } a && a.Same >= 0.95 * a.Asked,
                arrivingAgreement is { } b ? $"{b.Same} of {b.Asked} top-{ReportDepth} audiences identical" : "not asked"));
        }
        checks.Add(("evaluation report written", File.Exists(Path.Combine(reportFolder, EvaluationReport.JsonFile)) && report.Tasks.All(t => t.Queries > 0),
            $"{string.Join(", ", report.Tasks.Select(t => $"{t.Task}: {t.Queries} {t.QueryKind}s, {t.Methods.Count} methods"))} in {reportFolder}"));
        checks.Add(("processes left behind", leftOver.Count == 0, leftOver.Count == 0 ? "none" : string.Join(", ", leftOver.Select(l => $"{l.Name} ({l.Pid})"))));

        var summary = new Table().Title("checks").AddColumns("check", "result");
        foreach (var (check, ok, detail) in checks)
            summary.AddRow(Markup.Escape(check), ok ? $"[green]ok[/] {Markup.Escape(detail)}" : $"[red]FAILED[/] {Markup.Escape(detail)}");
        summary.AddRow("run folder (world, certificates, logs, job folders, audit log)", Markup.Escape(run.Root));
        AnsiConsole.Write(summary);
        var passed = checks.All(c => c.Ok);
        AnsiConsole.MarkupLine(passed ? "[green bold]demo passed[/]" : "[red bold]demo FAILED[/]");
        return passed ? 0 : 1;
    }

    /// <summary>Each party's phase and step of the current attempt, from the progress file in its job folder (a local run only).</summary>
    private static IEnumerable<string> PartyProgress(RunFolder run, JobInfo job)
    {
        if (!job.Parameters.TryGetValue(JobParameterNames.TrainingJob, out var trainingJob)) yield break;
        foreach (var party in new[] { RunFolder.ExternalName, RunFolder.MusicName })
        {
            var progress = TrainJobFolders.ReadJsonSafely<TrainJobProgress>(
                TrainJobFolders.ProgressFile(TrainJobFolders.JobFolder(Path.Combine(run.PartyState(party), "train"), new TrainingJobName(trainingJob))));
            if (progress is not null && progress.CoordinatorJobId == job.JobId)
                yield return $"{party} {progress.Phase} {progress.Step}/{progress.TotalSteps}";
        }
    }

    /// <summary>The deepest K of the report: every list the demo scores is this long.</summary>
    private const int ReportDepth = 100;

    /// <summary>Similar songs a cold song's audience spreads from (the recall API's default).</summary>
    private const int AudienceSimilarSongs = 20;

    private const string PlaintextMethod = "federated plaintext reference";

    private const string AudienceMethod = "federated encrypted (TargetAudience)";

    /// <summary>A published user's vector, by id.</summary>
    private static Func<string, ReadOnlyMemory<float>> UserVectors(EmbeddingSet set)
    {
        var row = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < set.UserKeysInOrder.Count; i++) row[set.UserKeysInOrder[i]] = i;
        return user => set.UserMatrix.Slice(row[user] * set.Dimensions, set.Dimensions);
    }

    private static string Format(double? value) => value is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "-";

    /// <summary>The baselines read the demo's world (FederatedExperiment looks for it at &lt;work&gt;/world).</summary>
    private static ExperimentOptions WithWorld(this ExperimentOptions options, string world)
    {
        var target = Path.Combine(options.WorkFolder, "world");
        Directory.CreateDirectory(options.WorkFolder);
        if (!Directory.Exists(target)) Directory.CreateSymbolicLink(target, world);
        return options;
    }
}
