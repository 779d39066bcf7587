using System.Text.Json;
using Federated.Audit;
using Federated.Launcher;
using Federated.Operator;
using Federated.Security;
using Federated.Transport.Client;
using Federated.Transport.V1;

namespace Federated.Integration.Tests;

/// <summary>
/// Job definitions through the real fedctl against the real coordinator and parties: a ping definition firing every
/// 3 seconds runs (observed through <c>fedctl jobs runs</c>), the coordinator is killed over several slots and
/// restarted (one run for the missed slots, then the schedule goes on from its stored horizon), every transition is
/// in the audit log, and bad definitions are refused naming the field.
/// </summary>
[Collection(FederationCollection.Name)]
public sealed class JobScheduleTests(FederationFixture fixture)
{
    private static string PingDefinition(string name, string music = RunFolder.MusicName) => $"""
        name: {name}
        kind: ping
        parties:
          music: {music}
          external: {RunFolder.ExternalName}
        parameters:
          rounds: 1
          size: 32
        schedule:
          cron: "*/3 * * * * *"
        misfire: run-once
        roundTimeout: 20s
        """;

    private string WriteDefinition(string name, string yaml)
    {
        var path = Path.Combine(fixture.RunDirectory, $"{name}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>The definition's runs as <c>fedctl jobs runs NAME --json</c> prints them (newest first).</summary>
    private async Task<List<JsonElement>> RunsAsync(string name)
    {
        var (code, output) = await Fedctl.RunAsync(fixture, "jobs", "runs", name, "--max", "200", "--json");
        Assert.True(code == 0, $"fedctl jobs runs exited {code}: {output}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
    }

    private static string State(JsonElement run) => run.GetProperty("state").GetString()!;

    private static DateTimeOffset? Slot(JsonElement run) => run.TryGetProperty("slot", out var s) ? DateTimeOffset.Parse(s.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : null;

    private static async Task<IReadOnlyList<ScheduledRunInfo>> WaitForRunsAsync(CoordinatorConnection op, string name, Func<IReadOnlyList<ScheduledRunInfo>, bool> enough, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var runs = (await op.JobDefinitions.ListRunsAsync(new ListRunsRequest { Name = name })).Runs;
            if (enough(runs))
                return runs;
            Assert.True(DateTime.UtcNow < deadline, $"{what}: runs so far: {string.Join("; ", runs.Select(r => $"{r.Slot} {r.State} {r.Reason}"))}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task A_ping_definition_runs_on_its_schedule_and_after_a_coordinator_restart_runs_once_for_the_missed_slots_and_goes_on()
    {
        var name = "ping-3s-" + Guid.NewGuid().ToString("N")[..6];
        var (code, output) = await Fedctl.RunAsync(fixture, "jobs", "submit", WriteDefinition(name, PingDefinition(name)));
        Assert.True(code == 0, $"fedctl jobs submit exited {code}: {output}");
        Assert.Contains($"stored job definition {name} (revision 1)", output);
        try
        {
            using (var op = fixture.Connect())
                await WaitForRunsAsync(op, name, runs => runs.Count(r => r.State == ScheduledRunState.Completed) >= 2, "two completed runs");

            // What the operator sees: completed runs, each with its own ping job, on 3-second slots.
            var runs = await RunsAsync(name);
            var completed = runs.Where(r => State(r) == "SCHEDULED_RUN_STATE_COMPLETED").ToList();
            Assert.True(completed.Count >= 2, string.Join("\n", runs));
            Assert.Equal(completed.Count, completed.Select(r => r.GetProperty("jobId").GetString()).Distinct().Count());
            Assert.All(completed, r => Assert.Equal(0, Slot(r)!.Value.Second % 3));
            var (tableCode, table) = await Fedctl.RunAsync(fixture, "jobs", "runs", name);
            Assert.Equal(0, tableCode);
            Assert.Contains("completed", table);
            Assert.Contains(completed[0].GetProperty("jobId").GetString()!, table);
            var (listCode, list) = await Fedctl.RunAsync(fixture, "jobs", "definitions");
            Assert.Equal(0, listCode);
            Assert.Contains(name, list);
            Assert.Contains("*/3 * * * * *", list);

            // The coordinator is down over several slots.
            // Killed between slots, while no run is active (a ping job takes well under a second).
            using (var op = fixture.Connect())
                await WaitForRunsAsync(op, name, r => r.Count > 0 && r[0].State == ScheduledRunState.Completed
                    && DateTime.UtcNow.Second % 3 == 1 && DateTime.UtcNow.Millisecond < 500, "a finished newest run before the crash");
            var killed = DateTimeOffset.UtcNow;
            fixture.Federation.Kill(RunFolder.CoordinatorName);
            try { await Task.Delay(TimeSpan.FromSeconds(10)); }
            finally { await fixture.Federation.StartHostAsync(RunFolder.CoordinatorName, CancellationToken.None); }
            var restarted = DateTimeOffset.UtcNow;

            using (var op = fixture.Connect())
            {
                await LocalFederationFixture.WaitForPartiesAsync(op);
                var after = await WaitForRunsAsync(op, name,
                    r => r.Count(x => x.Created.ToDateTimeOffset() > restarted && x.Trigger == "schedule" && x.State == ScheduledRunState.Completed) >= 2,
                    "two scheduled runs completed after the restart");
                // The 3 or more slots missed while the coordinator was down gave ONE run at start-up (its first pass), for
                // the newest of them; a slot due while that run was still going is recorded as skipped, not run beside it.
                var misfire = Assert.Single(after, r => r.Trigger == "misfire");
                var forMissed = after.Where(r => r.Slot is { } s && s.ToDateTimeOffset() > killed.AddSeconds(1) && s.ToDateTimeOffset() <= misfire.Created.ToDateTimeOffset()).ToList();
                Assert.True(forMissed.Count == 1, string.Join("\n", forMissed));
                Assert.All(after.Where(r => r.State == ScheduledRunState.Skipped), r => Assert.StartsWith("the previous run is still", r.Reason));
                Assert.Matches("^[0-9]+ missed slots since ", misfire.Reason);
                Assert.True(int.Parse(misfire.Reason.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) >= 3, misfire.Reason);
                Assert.True(misfire.State is ScheduledRunState.Completed or ScheduledRunState.Running, $"{misfire.State}: {misfire.Reason}");
                // Never two runs of the definition at once: at most one waiting or running.
                Assert.True(after.Count(r => r.State is ScheduledRunState.Running or ScheduledRunState.Waiting) <= 1);
            }

            // Every transition went into the hash-chained audit log, and the run's job records where it came from.
            using (var log = AuditLog.Open(fixture.AuditDatabase))
            {
                var records = log.Read(1, int.MaxValue).Where(r => r.Entry.Kind == AuditEntry.JobKind).Select(r => (r.Entry.JobId, r.Entry.Details)).ToList();
                var ours = records.Where(r => r.Details!.Contains($"\"definition\":\"{name}\"", StringComparison.Ordinal)).ToList();
                Assert.Contains(ours, r => r.Details!.Contains("\"event\":\"definition-submitted\"", StringComparison.Ordinal));
                foreach (var transition in new[] { "run-due", "run-started", "run-completed" })
                    Assert.Contains(ours, r => r.Details!.Contains($"\"event\":\"{transition}\"", StringComparison.Ordinal));
                var jobId = completed[0].GetProperty("jobId").GetString()!;
                var created = Assert.Single(records, r => r.JobId == jobId && r.Details!.Contains("\"event\":\"created\"", StringComparison.Ordinal));
                Assert.Contains("\"operator\":\"coordinator (schedule)\"", created.Details);
                Assert.Contains($"\"definition\":\"{name}\"", created.Details);
            }
            Assert.True(AuditVerifier.Verify(fixture.AuditDatabase).IsValid);
        }
        finally
        {
            var (removed, removeOutput) = await Fedctl.RunAsync(fixture, "jobs", "remove", name);
            Assert.True(removed == 0, removeOutput);
        }
    }

    [Fact]
    public async Task An_on_demand_run_whose_party_never_comes_waits_the_round_timeout_and_fails_naming_the_party()
    {
        // A music party enrolled (so the definition validates) whose agent never connects.
        using var op = fixture.Connect();
        using var authority = CertificateFiles.Load(fixture.Certificates, CertificateFiles.AuthorityName, withPrivateKey: true);
        var partyId = "absent-music-" + Guid.NewGuid().ToString("N")[..6];
        using (var certificate = CertificateFactory.IssueParty(authority, partyId, PartyRole.Music, [], TimeSpan.FromDays(1)))
            await op.Registry.EnrollPartyAsync(new EnrollPartyRequest { CertificatePem = certificate.ExportCertificatePem() });
        var name = "absent-" + Guid.NewGuid().ToString("N")[..6];
        var yaml = PingDefinition(name, music: partyId)
            .Replace("schedule:\n  cron: \"*/3 * * * * *\"\n", "", StringComparison.Ordinal)
            .Replace("roundTimeout: 20s", "roundTimeout: 3s", StringComparison.Ordinal);
        try
        {
            var (code, output) = await Fedctl.RunAsync(fixture, "jobs", "submit", WriteDefinition(name, yaml));
            Assert.True(code == 0, output);
            (code, output) = await Fedctl.RunAsync(fixture, "jobs", "run-now", name);
            Assert.True(code == 0, output);
            Assert.Contains("waiting", output);
            // A second on-demand run is refused while the first waits.
            (code, output) = await Fedctl.RunAsync(fixture, "jobs", "run-now", name);
            Assert.Equal(1, code);
            Assert.Contains($"job definition '{name}' already has an active run", output);

            var runs = await WaitForRunsAsync(op, name, r => r.Count == 1 && r[0].State == ScheduledRunState.Failed, "the run failing after its round timeout");
            Assert.Equal($"asked for by operator; party '{partyId}' has never connected; waited the round timeout (3 s); the next slot tries again", runs[0].Reason);
            Assert.Equal("on-demand", runs[0].Trigger);
            Assert.Equal("", runs[0].JobId); // no job was created
        }
        finally
        {
            await Fedctl.RunAsync(fixture, "jobs", "remove", name);
            await op.Registry.RevokePartyAsync(new RevokePartyRequest { PartyId = partyId });
        }
    }

    [Fact]
    public async Task Bad_definitions_are_refused_by_fedctl_with_a_nonzero_exit_naming_the_field()
    {
        // Checked at the coordinator against its registry.
        var name = "bad-party-" + Guid.NewGuid().ToString("N")[..6];
        var (code, output) = await Fedctl.RunAsync(fixture, "jobs", "submit", WriteDefinition(name, PingDefinition(name, music: "musik")));
        Assert.Equal(1, code);
        Assert.Contains("parties.music: party 'musik' is not registered", output);

        var unknownKind = PingDefinition(name).Replace("kind: ping", "kind: trian", StringComparison.Ordinal);
        (code, output) = await Fedctl.RunAsync(fixture, "jobs", "submit", WriteDefinition(name, unknownKind));
        Assert.Equal(1, code);
        Assert.Contains("kind: unknown job kind 'trian' (the registered parties run: ", output);

        // Checked by fedctl before anything is sent.
        var badCron = PingDefinition(name).Replace("*/3 * * * * *", "61 * * * *", StringComparison.Ordinal);
        (code, output) = await Fedctl.RunAsync(fixture, "jobs", "submit", WriteDefinition(name, badCron));
        Assert.Equal(1, code);
        Assert.Contains("schedule.cron: '61 * * * *' is not a valid cron expression", output);

        // Nothing of it was stored.
        using var op = fixture.Connect();
        var definitions = (await op.JobDefinitions.ListDefinitionsAsync(new ListDefinitionsRequest())).Definitions;
        Assert.DoesNotContain(definitions, d => d.Name == name);
        (code, output) = await Fedctl.RunAsync(fixture, "jobs", "runs", name);
        Assert.Equal(1, code);
        Assert.Contains($"no job definition '{name}'", output);
    }
}
