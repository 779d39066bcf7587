using System.Globalization;
using Cronos;

namespace Federated.Scheduling;

/// <summary>What a job definition does when slots were missed (the coordinator was not running over them).</summary>
public enum MisfirePolicy
{
    /// <summary>One run for the newest missed slot, however many were missed.</summary>
    RunOnce,

    /// <summary>No run for a missed slot; the next slot on time runs. The missed slot is recorded as skipped.</summary>
    Skip,
}

/// <summary>The side of the federation a party plays in a definition.</summary>
public enum PartySide
{
    Music,
    External,
}

/// <summary>
/// A job definition: a named, validated job (kind, the two parties, the job parameters) with an optional schedule, a
/// misfire policy and a round timeout (how long a due run waits for an offline party before it fails). Read from YAML
/// by <see cref="JobDefinitionParser"/>; the coordinator keeps the YAML text and reads it again at start-up.
/// </summary>
public sealed record JobDefinition(
    string Name,
    string Kind,
    string MusicParty,
    string ExternalParty,
    IReadOnlyDictionary<string, string> Parameters,
    JobSchedule? Schedule,
    MisfirePolicy Misfire,
    TimeSpan RoundTimeout)
{
    /// <summary>The round timeout when a definition gives none.</summary>
    public static readonly TimeSpan DefaultRoundTimeout = TimeSpan.FromMinutes(10);

    /// <summary>What a run of this definition starts: the job as the definition says it now.</summary>
    public RunPlan Plan() => new(Kind, MusicParty, ExternalParty, Parameters, RoundTimeout);

    public static string MisfireText(MisfirePolicy policy) => policy == MisfirePolicy.RunOnce ? "run-once" : "skip";
}

/// <summary>A cron schedule (5 fields, or 6 with seconds first) in a time zone (IANA id; default UTC).</summary>
public sealed class JobSchedule
{
    private readonly CronExpression _expression;

    public JobSchedule(string cron, CronExpression expression, TimeZoneInfo zone)
    {
        Cron = cron;
        _expression = expression;
        Zone = zone;
    }

    /// <summary>The cron expression as written.</summary>
    public string Cron { get; }

    public TimeZoneInfo Zone { get; }

    /// <summary>True for a 6-field expression (seconds first).</summary>
    public bool IncludesSeconds => Cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6;

    /// <summary>The first slot strictly after <paramref name="after"/>, or null when the expression never fires again.</summary>
    public DateTimeOffset? Next(DateTimeOffset after) => _expression.GetNextOccurrence(after, Zone);

    /// <summary>The slots in (<paramref name="after"/>, <paramref name="upTo"/>], oldest first.</summary>
    public IEnumerable<DateTimeOffset> Slots(DateTimeOffset after, DateTimeOffset upTo) =>
        upTo <= after ? [] : _expression.GetOccurrences(after, upTo, Zone, fromInclusive: false, toInclusive: true);

    public override string ToString() => Zone == TimeZoneInfo.Utc ? Cron : string.Create(CultureInfo.InvariantCulture, $"{Cron} ({Zone.Id})");
}

/// <summary>The job a run starts, fixed when the run is created (a later change of the definition does not alter it).</summary>
public sealed record RunPlan(string Kind, string MusicParty, string ExternalParty, IReadOnlyDictionary<string, string> Parameters, TimeSpan RoundTimeout);
