using Federated.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace Federated.Scheduling.Tests;

public sealed class ScheduleEngineTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 10, 0, 30, TimeSpan.Zero);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "federated-schedule-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly FakeTimeProvider _clock = new(Start);
    private readonly FakeLauncher _launcher = new();
    private readonly Journal _journal = new();

    private string DatabasePath => Path.Combine(_folder, "schedules.db");

    /// <summary>Jobs that the test finishes by hand; parties offline as the test says.</summary>
    private sealed class FakeLauncher : IRunLauncher
    {
        public readonly List<string> Launched = [];
        public readonly Dictionary<string, RunJobStatus> Jobs = new();
        public string? Offline;

        public string? Unready(RunPlan plan) => Offline;

        public string Launch(ScheduledRun run)
        {
            var id = $"job-{Launched.Count + 1}";
            Launched.Add(id);
            Jobs[id] = RunJobStatus.Active;
            return id;
        }

        public RunJobStatus Status(string jobId) => Jobs[jobId];

        public void Finish(string jobId, RunState state, string reason = "") => Jobs[jobId] = new RunJobStatus(state, reason, "pings 2");
    }

    private sealed class Journal : IRunJournal
    {
        public readonly List<(string Run, string Transition, IReadOnlyDictionary<string, object?> Facts)> Records = [];

        public void Record(ScheduledRun run, string transition, IReadOnlyDictionary<string, object?> facts) => Records.Add((run.RunId, transition, facts));

        public IEnumerable<string> Transitions => Records.Select(r => r.Transition);
    }

    private static string Definition(string cron = "* * * * *", string misfire = "run-once", string roundTimeout = "2m") => $"""
        name: every-minute
        kind: ping
        parties: {"{"} music: music, external: external {"}"}
        parameters: {"{"} rounds: 2 {"}"}
        schedule: {"{"} cron: "{cron}" {"}"}
        misfire: {misfire}
        roundTimeout: {roundTimeout}
        """;

    private (ScheduleStore Store, ScheduleEngine Engine) Open()
    {
        var store = new ScheduleStore(DatabasePath);
        return (store, new ScheduleEngine(store, _launcher, _journal, _clock));
    }

    private static void Submit(ScheduleEngine engine, string yaml) => engine.Submit(JobDefinitionParser.Parse(yaml), yaml, "operator");

    [Fact]
    public void Each_due_slot_starts_one_run_whose_job_end_is_recorded()
    {
        var (store, engine) = Open();
        using (store)
        {
            Submit(engine, Definition());
            engine.Tick();
            Assert.Empty(_launcher.Launched); // 10:00:30: the first slot is 10:01:00

            _clock.Advance(TimeSpan.FromSeconds(31));
            engine.Tick();
            engine.Tick();
            Assert.Equal(["job-1"], _launcher.Launched);
            var run = Assert.Single(store.Runs("every-minute"));
            Assert.Equal((RunState.Running, RunTrigger.Schedule, "job-1"), (run.State, run.Trigger, run.JobId));
            Assert.Equal(new DateTimeOffset(2026, 12, 7, 10, 1, 0, TimeSpan.Zero), run.Slot);
            Assert.Equal("2", run.Plan.Parameters["rounds"]);

            _launcher.Finish("job-1", RunState.Completed);
            engine.Tick();
            run = Assert.Single(store.Runs("every-minute"));
            Assert.Equal(RunState.Completed, run.State);
            Assert.Contains("pings 2", run.Summary);
            Assert.Equal(["definition-submitted", "run-due", "run-started", "run-completed"], _journal.Transitions);
        }
    }

    [Fact]
    public void Slots_missed_while_the_coordinator_was_down_give_one_run_at_start_up()
    {
        var (store, engine) = Open();
        Submit(engine, Definition());
        _clock.Advance(TimeSpan.FromSeconds(31)); // 10:01:01
        engine.Tick();
        _launcher.Finish("job-1", RunState.Completed);
        engine.Tick();
        store.Dispose();

        // Down from 10:01:01 to 10:06:40: the slots 10:02 .. 10:06 (five) were missed.
        _clock.Advance(TimeSpan.FromSeconds(339));
        (store, engine) = Open();
        using (store)
        {
            engine.Tick();
            engine.Tick();
            Assert.Equal(["job-1", "job-2"], _launcher.Launched);
            var runs = store.Runs("every-minute");
            Assert.Equal(2, runs.Count);
            var misfire = runs[0];
            Assert.Equal(RunTrigger.Misfire, misfire.Trigger);
            Assert.Equal(new DateTimeOffset(2026, 12, 7, 10, 6, 0, TimeSpan.Zero), misfire.Slot);
            Assert.StartsWith("5 missed slots since 2026-12-07 10:02:00Z", _journal.Records.Last(r => r.Transition == "run-due").Facts["reason"]?.ToString());
            Assert.Equal(5, _journal.Records.Last(r => r.Transition == "run-due").Facts["slotsDue"]);

            Assert.StartsWith("5 missed slots since 2026-12-07 10:02:00Z", misfire.Reason);
            // The schedule goes on from the newest slot: 10:07 is the next run, on time.
            _launcher.Finish("job-2", RunState.Completed);
            _clock.Advance(TimeSpan.FromSeconds(21)); // 10:07:01
            engine.Tick();
            Assert.Equal(3, _launcher.Launched.Count);
            Assert.Equal(RunTrigger.Schedule, store.Runs("every-minute")[0].Trigger);
        }
    }

    [Fact]
    public void Under_misfire_skip_missed_slots_give_one_skipped_record_and_no_run()
    {
        var (store, engine) = Open();
        using (store)
        {
            Submit(engine, Definition(misfire: "skip"));
            _clock.Advance(TimeSpan.FromSeconds(339)); // 10:06:09; slots 10:01 .. 10:06, the newest 9 s ago: on time
            engine.Tick();
            Assert.Single(_launcher.Launched);
            _launcher.Finish("job-1", RunState.Completed);

            _clock.Advance(TimeSpan.FromSeconds(325)); // 10:11:34, nothing ran since 10:06: 10:07 .. 10:11, the newest 34 s ago
            engine.Tick();
            Assert.Single(_launcher.Launched);
            var skipped = store.Runs("every-minute")[0];
            Assert.Equal(RunState.Skipped, skipped.State);
            Assert.Equal(new DateTimeOffset(2026, 12, 7, 10, 11, 0, TimeSpan.Zero), skipped.Slot);
            Assert.Equal("missed while the coordinator was not running (misfire policy skip); 5 slots since 2026-12-07 10:07:00Z", skipped.Reason);
            Assert.Equal(2, store.Runs("every-minute").Count);
        }
    }

    [Fact]
    public void A_slot_due_while_the_previous_run_is_active_is_skipped_with_the_reason()
    {
        var (store, engine) = Open();
        using (store)
        {
            Submit(engine, Definition());
            _clock.Advance(TimeSpan.FromSeconds(31));
            engine.Tick(); // 10:01 runs job-1, which keeps running
            _clock.Advance(TimeSpan.FromMinutes(1));
            engine.Tick(); // 10:02 is due while job-1 runs

            Assert.Equal(["job-1"], _launcher.Launched);
            var runs = store.Runs("every-minute");
            Assert.Equal((RunState.Skipped, new DateTimeOffset(2026, 12, 7, 10, 2, 0, TimeSpan.Zero)), (runs[0].State, runs[0].Slot));
            Assert.Contains("the previous run is still running", runs[0].Reason);
            Assert.Contains("(job job-1)", runs[0].Reason);
            Assert.Contains("run-skipped", _journal.Transitions);
            Assert.Throws<ScheduleException>(() => engine.RunNow("every-minute", "operator"));

            // Once the job ends the next slot runs again.
            _launcher.Finish("job-1", RunState.Failed, "party 'music' reported: boom");
            _clock.Advance(TimeSpan.FromMinutes(1));
            engine.Tick();
            Assert.Equal(["job-1", "job-2"], _launcher.Launched);
            Assert.Equal("party 'music' reported: boom", store.Runs("every-minute").Single(r => r.JobId == "job-1").Reason);
        }
    }

    [Fact]
    public void A_run_waits_for_an_offline_party_up_to_the_round_timeout_then_fails_and_the_next_slot_tries_again()
    {
        var (store, engine) = Open();
        using (store)
        {
            Submit(engine, Definition(cron: "*/5 * * * *", roundTimeout: "90s"));
            _launcher.Offline = "party 'external' is offline";
            _clock.Advance(TimeSpan.FromMinutes(4.5)); // 10:05:00
            engine.Tick();
            Assert.Equal(RunState.Waiting, store.Runs("every-minute")[0].State);

            _clock.Advance(TimeSpan.FromSeconds(60));
            engine.Tick();
            Assert.Equal((RunState.Waiting, "waiting: party 'external' is offline"), (store.Runs("every-minute")[0].State, store.Runs("every-minute")[0].Reason));
            Assert.Empty(_launcher.Launched);

            _clock.Advance(TimeSpan.FromSeconds(31));
            engine.Tick();
            var failed = store.Runs("every-minute")[0];
            Assert.Equal(RunState.Failed, failed.State);
            Assert.Equal("party 'external' is offline; waited the round timeout (90 s); the next slot tries again", failed.Reason);
            Assert.Contains("run-failed", _journal.Transitions);

            _launcher.Offline = null;
            _clock.Advance(TimeSpan.FromMinutes(3.5)); // 10:10:01
            engine.Tick();
            Assert.Equal(["job-1"], _launcher.Launched);
            Assert.Equal(RunState.Running, store.Runs("every-minute")[0].State);
        }
    }

    [Fact]
    public void Definitions_runs_and_the_horizon_survive_a_restart_without_an_extra_run()
    {
        var (store, engine) = Open();
        Submit(engine, Definition());
        _clock.Advance(TimeSpan.FromSeconds(31));
        engine.Tick();
        store.Dispose();

        _clock.Advance(TimeSpan.FromSeconds(20)); // restarted within the same minute
        (store, engine) = Open();
        using (store)
        {
            var stored = Assert.Single(store.Definitions());
            Assert.Equal(new DateTimeOffset(2026, 12, 7, 10, 1, 0, TimeSpan.Zero), stored.Horizon);
            Assert.Equal(new DateTimeOffset(2026, 12, 7, 10, 2, 0, TimeSpan.Zero), engine.NextSlot(stored));
            engine.Tick();
            Assert.Single(_launcher.Launched); // the running run is followed, not started again
            Assert.Equal(RunState.Running, Assert.Single(store.Runs("every-minute")).State);
            _launcher.Finish("job-1", RunState.Completed);
            engine.Tick();
            Assert.Equal(RunState.Completed, Assert.Single(store.Runs("every-minute")).State);
        }
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(DatabasePath));
    }

    [Fact]
    public void Disabled_and_on_demand_definitions_start_only_when_asked()
    {
        var (store, engine) = Open();
        using (store)
        {
            Submit(engine, Definition());
            engine.SetEnabled("every-minute", false, "operator");
            _clock.Advance(TimeSpan.FromMinutes(3));
            engine.Tick();
            Assert.Empty(_launcher.Launched);
            Assert.Null(engine.NextSlot(store.Find("every-minute")!));

            var run = engine.RunNow("every-minute", "operator");
            Assert.Equal((RunTrigger.OnDemand, RunState.Running, (DateTimeOffset?)null), (run.Trigger, run.State, run.Slot));

            // Enabling again does not count the disabled minutes as missed.
            _launcher.Finish("job-1", RunState.Completed);
            engine.SetEnabled("every-minute", true, "operator");
            engine.Tick();
            Assert.Single(_launcher.Launched);
            Assert.Throws<ScheduleException>(() => engine.RunNow("no-such", "operator"));
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { /* in the temp area */ }
    }
}
