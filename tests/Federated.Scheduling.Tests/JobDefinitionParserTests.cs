using Federated.Scheduling;

namespace Federated.Scheduling.Tests;

public sealed class JobDefinitionParserTests
{
    private const string Valid = """
        name: nightly-train
        kind: train
        parties:
          music: music
          external: external
        parameters:
          epochs: 8
          maxEpsilon: 20.5
          mode: encrypted
        schedule:
          cron: "0 2 * * *"
          timeZone: Europe/Berlin
        misfire: skip
        roundTimeout: 15m
        """;

    /// <summary>The registry as the coordinator sees it: music and external run ping and train; 'revoked' is revoked.</summary>
    internal sealed class Registry : IDefinitionParties
    {
        private readonly Dictionary<string, DefinitionParty> _parties = new()
        {
            ["music"] = new("music", PartySide.Music, false, ["ping", "train"]),
            ["external"] = new("external", PartySide.External, false, ["ping", "train"]),
            ["pinger"] = new("pinger", PartySide.External, false, ["ping"]),
            ["revoked"] = new("revoked", PartySide.Music, true, ["ping", "train"]),
        };

        public DefinitionParty? Find(string partyId) => _parties.GetValueOrDefault(partyId);

        public IReadOnlyCollection<string> KnownKinds => ["ping", "train"];
    }

    private static string Error(string yaml, IDefinitionParties? parties = null) =>
        Assert.Throws<JobDefinitionException>(() => JobDefinitionParser.Parse(yaml, parties)).Message;

    [Fact]
    public void A_valid_definition_reads_every_field()
    {
        var d = JobDefinitionParser.Parse(Valid, new Registry());
        Assert.Equal("nightly-train", d.Name);
        Assert.Equal("train", d.Kind);
        Assert.Equal(("music", "external"), (d.MusicParty, d.ExternalParty));
        Assert.Equal(new Dictionary<string, string> { ["epochs"] = "8", ["maxEpsilon"] = "20.5", ["mode"] = "encrypted" }, d.Parameters);
        Assert.Equal("0 2 * * *", d.Schedule!.Cron);
        Assert.Equal("Europe/Berlin", d.Schedule.Zone.Id);
        Assert.Equal(MisfirePolicy.Skip, d.Misfire);
        Assert.Equal(TimeSpan.FromMinutes(15), d.RoundTimeout);
    }

    [Fact]
    public void Defaults_are_on_demand_run_once_and_ten_minutes()
    {
        var d = JobDefinitionParser.Parse("name: p\nkind: ping\nparties: { music: music, external: external }\n");
        Assert.Null(d.Schedule);
        Assert.Empty(d.Parameters);
        Assert.Equal(MisfirePolicy.RunOnce, d.Misfire);
        Assert.Equal(TimeSpan.FromMinutes(10), d.RoundTimeout);
    }

    [Fact]
    public void A_cron_with_a_seconds_field_is_accepted()
    {
        var d = JobDefinitionParser.Parse(Valid.Replace("\"0 2 * * *\"", "\"*/3 * * * * *\""));
        Assert.True(d.Schedule!.IncludesSeconds);
        var after = new DateTimeOffset(2026, 12, 7, 10, 0, 1, TimeSpan.Zero);
        Assert.Equal(after.AddSeconds(2), d.Schedule.Next(after));
    }

    [Fact]
    public void A_bad_cron_names_schedule_cron_and_the_expression()
    {
        var message = Error(Valid.Replace("\"0 2 * * *\"", "'61 * * * *'"));
        Assert.StartsWith("schedule.cron: '61 * * * *' is not a valid cron expression: ", message);
        Assert.StartsWith("schedule.cron: '* * *' has 3 fields; expected 5", Error(Valid.Replace("\"0 2 * * *\"", "'* * *'")));
    }

    [Fact]
    public void An_unknown_time_zone_names_schedule_time_zone()
    {
        Assert.StartsWith("schedule.timeZone: unknown time zone 'Mars/Olympus'", Error(Valid.Replace("Europe/Berlin", "Mars/Olympus")));
    }

    [Fact]
    public void An_unknown_kind_is_refused_with_the_kinds_the_parties_run()
    {
        var message = Error(Valid.Replace("kind: train", "kind: trian"), new Registry());
        Assert.Equal("kind: unknown job kind 'trian' (the registered parties run: ping, train)", message);
        // Without the registry (the CLI before sending) the form is all that can be checked.
        Assert.Equal("trian", JobDefinitionParser.Parse(Valid.Replace("kind: train", "kind: trian")).Kind);
    }

    [Fact]
    public void Parties_are_checked_against_the_registry_by_role_revocation_and_kind()
    {
        var registry = new Registry();
        Assert.Equal("parties.music: party 'musik' is not registered", Error(Valid.Replace("music: music", "music: musik"), registry));
        Assert.Equal("parties.music: party 'external' is registered as external, not music",
            Error(Valid.Replace("music: music", "music: external"), registry));
        Assert.Equal("parties.music: party 'revoked' is revoked", Error(Valid.Replace("music: music", "music: revoked"), registry));
        Assert.Equal("parties.external: party 'pinger' does not run job kind 'train' (it runs: ping)",
            Error(Valid.Replace("external: external", "external: pinger"), registry));
    }

    [Fact]
    public void Missing_parties_name_the_missing_field()
    {
        Assert.StartsWith("parties: missing", Error("name: p\nkind: ping\n"));
        Assert.StartsWith("parties.external: missing", Error("name: p\nkind: ping\nparties:\n  music: music\n"));
        Assert.StartsWith("name: missing", Error("kind: ping\nparties: { music: m, external: e }\n"));
        Assert.StartsWith("kind: missing", Error("name: p\nparties: { music: m, external: e }\n"));
    }

    [Fact]
    public void Unknown_fields_are_refused_with_their_path()
    {
        Assert.Equal("shedule: unknown field (known: name, kind, parties, parameters, schedule, misfire, roundTimeout)",
            Error(Valid + "\nshedule: { cron: '* * * * *' }\n"));
        Assert.Equal("schedule.timezone: unknown field (known: cron, timeZone)", Error(Valid.Replace("timeZone:", "timezone:")));
        Assert.Equal("parties.musik: unknown field (known: music, external)", Error(Valid.Replace("music: music", "musik: music")));
    }

    [Fact]
    public void Wrong_types_name_the_field_and_what_was_found()
    {
        Assert.Equal("parties: expected a mapping, found the value 'music'", Error(Valid.Replace("parties:\n  music: music\n  external: external", "parties: music")));
        Assert.Equal("parameters.epochs: expected a number, string or boolean, found a list", Error(Valid.Replace("epochs: 8", "epochs: [8, 9]")));
        Assert.Equal("parameters.epochs: has no value (expected a number, string or boolean)", Error(Valid.Replace("epochs: 8", "epochs:")));
        Assert.Equal("roundTimeout: expected a string, found a mapping", Error(Valid.Replace("roundTimeout: 15m", "roundTimeout: { minutes: 15 }")));
        Assert.StartsWith("roundTimeout: 'soon' is not a duration", Error(Valid.Replace("roundTimeout: 15m", "roundTimeout: soon")));
        Assert.Equal("schedule: expected a mapping with cron and timeZone, found the value 'daily'",
            Error(Valid.Replace("schedule:\n  cron: \"0 2 * * *\"\n  timeZone: Europe/Berlin", "schedule: daily")));
        Assert.StartsWith("(document): expected a mapping of fields", Error("- name: p\n"));
    }

    [Fact]
    public void Misfire_names_and_reserved_parameters_are_refused()
    {
        Assert.StartsWith("misfire: 'twice' is not a misfire policy", Error(Valid.Replace("misfire: skip", "misfire: twice")));
        Assert.StartsWith("parameters.retryOf: is set by the coordinator", Error(Valid.Replace("mode: encrypted", "retryOf: job-1")));
        Assert.StartsWith("name: 'a b' must be", Error(Valid.Replace("name: nightly-train", "name: a b")));
        // The coordinator reads maxAttempts itself, so it checks it; the parties check the job kind's own parameters.
        Assert.Equal("parameters.maxAttempts: 'many' must be an integer between 1 and 100 (the most attempts the coordinator makes of a run's job)",
            Error(Valid.Replace("mode: encrypted", "maxAttempts: many")));
        Assert.Equal("5", JobDefinitionParser.Parse(Valid.Replace("mode: encrypted", "maxAttempts: 5")).Parameters["maxAttempts"]);
    }

    [Fact]
    public void Broken_yaml_gives_its_line()
    {
        Assert.StartsWith("(document): not valid YAML", Error("name: [p\nkind: ping\n"));
        Assert.StartsWith("(document): not valid YAML at line 2", Error("name: p\nname: q\nkind: ping\n"));
        Assert.StartsWith("(document): not valid YAML at line 2", Error("name: p\n  kind: - ping\n"));
    }

    [Fact]
    public void The_next_slot_follows_the_time_zone_and_its_daylight_saving_time()
    {
        var schedule = JobDefinitionParser.Schedule("0 2 * * *", "Europe/Berlin");
        // Winter: 02:00 CET is 01:00 UTC; summer: 02:00 CEST is 00:00 UTC.
        Assert.Equal(new DateTimeOffset(2026, 12, 7, 1, 0, 0, TimeSpan.Zero), schedule.Next(new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal(new DateTimeOffset(2026, 7, 1, 0, 0, 0, TimeSpan.Zero), schedule.Next(new DateTimeOffset(2026, 6, 30, 12, 0, 0, TimeSpan.Zero)));
        // 29 March 2026: 02:00 does not exist in Berlin (clocks jump to 03:00 CEST = 01:00 UTC); the slot runs then, once.
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero), schedule.Next(new DateTimeOffset(2026, 3, 28, 12, 0, 0, TimeSpan.Zero)));
        // The same cron in UTC fires an hour later in winter.
        Assert.Equal(new DateTimeOffset(2026, 12, 7, 2, 0, 0, TimeSpan.Zero),
            JobDefinitionParser.Schedule("0 2 * * *", null).Next(new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero)));
    }
}
