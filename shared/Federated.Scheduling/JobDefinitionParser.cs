using System.Globalization;
using System.Text.RegularExpressions;
using Cronos;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Federated.Scheduling;

/// <summary>
/// Reads a job definition from YAML and validates all of it, refusing with the first wrong field named by its path.
/// The same code runs in the operator CLI (before sending: no registry, so parties and kinds are checked for form only)
/// and at the coordinator (with <see cref="IDefinitionParties"/>: the parties must be registered in their roles and run
/// the kind). Fields, in the order they are checked:
/// <code>
/// name: nightly-train            # letters, digits, '-', '_', '.'; at most 64
/// kind: train                    # a job kind the parties run (ping, stream, psi, train, ...)
/// parties: { music: music, external: external }   # party ids as registered
/// parameters: { epochs: 8, maxEpsilon: 20 }       # the job's name=value parameters (scalars)
/// schedule: { cron: "0 2 * * *", timeZone: Europe/Berlin }   # optional; absent: on demand only
/// misfire: run-once              # or skip; default run-once
/// roundTimeout: 15m              # s, m, h or d, or plain seconds; default 10m
/// </code>
/// </summary>
public static partial class JobDefinitionParser
{
    public const int MaxNameLength = 64;
    public const int MaxSourceBytes = 64 * 1024;

    private static readonly string[] TopLevel = ["name", "kind", "parties", "parameters", "schedule", "misfire", "roundTimeout"];
    private static readonly string[] PartyFields = ["music", "external"];
    private static readonly string[] ScheduleFields = ["cron", "timeZone"];

    /// <summary>Parameters the coordinator sets itself on retries; a definition may not set them.</summary>
    private static readonly string[] Reserved = [Core.Jobs.JobParameterNames.RetryOf, Core.Jobs.JobParameterNames.Attempt];

    /// <summary>Parses and validates; <paramref name="parties"/> null checks form only (the CLI before sending).</summary>
    public static JobDefinition Parse(string yaml, IDefinitionParties? parties = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        if (System.Text.Encoding.UTF8.GetByteCount(yaml) > MaxSourceBytes)
            throw new JobDefinitionException("(document)", $"the definition is larger than {MaxSourceBytes / 1024} KiB");
        var root = LoadRoot(yaml);

        foreach (var key in root.Children.Keys)
        {
            var name = KeyName(key, "(document)");
            if (!TopLevel.Contains(name, StringComparer.Ordinal))
                throw new JobDefinitionException(name, $"unknown field (known: {string.Join(", ", TopLevel)})");
        }

        var definitionName = RequiredString(root, "name", "", "the definition's name");
        if (definitionName.Length > MaxNameLength || !NamePattern().IsMatch(definitionName))
            throw new JobDefinitionException("name", $"'{definitionName}' must be 1..{MaxNameLength} letters, digits, '-', '_' or '.', starting with a letter or digit");

        var kind = RequiredString(root, "kind", "", "the job kind, such as ping or train");
        if (!KindPattern().IsMatch(kind))
            throw new JobDefinitionException("kind", $"'{kind}' is not a job kind name (letters, digits and '-')");
        // Parties report their kinds when they connect; before any has, the kind is checked when a run starts.
        if (parties is { KnownKinds.Count: > 0 } && !parties.KnownKinds.Contains(kind, StringComparer.Ordinal))
            throw new JobDefinitionException("kind",
                $"unknown job kind '{kind}' (the registered parties run: {string.Join(", ", parties.KnownKinds.Order(StringComparer.Ordinal))})");

        var partyMap = Mapping(root, "parties", "", required: true, "the music and external party ids as registered")!;
        CheckKnown(partyMap, "parties", PartyFields);
        var music = Party(partyMap, PartySide.Music, kind, parties);
        var external = Party(partyMap, PartySide.External, kind, parties);

        var parameters = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (Mapping(root, "parameters", "", required: false, null) is { } parameterMap)
            foreach (var (key, value) in parameterMap.Children)
            {
                var name = KeyName(key, "parameters");
                var path = $"parameters.{name}";
                if (!ParameterPattern().IsMatch(name))
                    throw new JobDefinitionException(path, "a parameter name is letters, digits, '_', '-' or '.', starting with a letter");
                if (Reserved.Contains(name, StringComparer.Ordinal))
                    throw new JobDefinitionException(path, "is set by the coordinator on retries; a definition may not set it");
                parameters[name] = Scalar(value, path, "a number, string or boolean");
                CheckCoordinatorParameter(name, parameters[name], path);
            }

        JobSchedule? schedule = null;
        if (root.Children.TryGetValue(new YamlScalarNode("schedule"), out var scheduleNode) && !IsNull(scheduleNode))
        {
            var scheduleMap = scheduleNode as YamlMappingNode
                ?? throw new JobDefinitionException("schedule", $"expected a mapping with cron and timeZone, found {Describe(scheduleNode)}");
            CheckKnown(scheduleMap, "schedule", ScheduleFields);
            schedule = Schedule(RequiredString(scheduleMap, "cron", "schedule.", "a cron expression (5 fields, or 6 with seconds first)"),
                OptionalString(scheduleMap, "timeZone", "schedule."));
        }

        var misfire = (OptionalString(root, "misfire", "") ?? "run-once") switch
        {
            "run-once" => MisfirePolicy.RunOnce,
            "skip" => MisfirePolicy.Skip,
            var other => throw new JobDefinitionException("misfire", $"'{other}' is not a misfire policy: use 'run-once' (one run for the missed slots) or 'skip'"),
        };

        var roundTimeout = OptionalString(root, "roundTimeout", "") is { } timeoutText
            ? Duration(timeoutText, "roundTimeout")
            : JobDefinition.DefaultRoundTimeout;

        return new JobDefinition(definitionName, kind, music, external, parameters, schedule, misfire, roundTimeout);
    }

    /// <summary>A schedule from its two fields; errors name <c>schedule.cron</c> or <c>schedule.timeZone</c>.</summary>
    public static JobSchedule Schedule(string cron, string? timeZone)
    {
        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var format = fields.Length switch
        {
            5 => CronFormat.Standard,
            6 => CronFormat.IncludeSeconds,
            _ => throw new JobDefinitionException("schedule.cron",
                $"'{cron}' has {fields.Length} fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)"),
        };
        CronExpression expression;
        try
        {
            expression = CronExpression.Parse(string.Join(' ', fields), format);
        }
        catch (CronFormatException e)
        {
            throw new JobDefinitionException("schedule.cron", $"'{cron}' is not a valid cron expression: {e.Message}");
        }
        var zone = TimeZoneInfo.Utc;
        if (!string.IsNullOrEmpty(timeZone) && timeZone != "UTC")
        {
            try
            {
                zone = TimeZoneInfo.FindSystemTimeZoneById(timeZone);
            }
            catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                throw new JobDefinitionException("schedule.timeZone", $"unknown time zone '{timeZone}' (use an IANA name such as Europe/Berlin, or UTC)");
            }
        }
        return new JobSchedule(cron, expression, zone);
    }

    /// <summary>
    /// The parameters the coordinator reads itself are checked here; the others belong to the job kind, and the
    /// parties check them when the job starts (as for <c>fedctl jobs create</c>).
    /// </summary>
    private static void CheckCoordinatorParameter(string name, string value, string path)
    {
        if (name == Core.Jobs.JobParameterNames.MaxAttempts
            && (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var attempts) || attempts < 1 || attempts > Core.Jobs.JobParameterNames.MaxAttemptsLimit))
            throw new JobDefinitionException(path,
                $"'{value}' must be an integer between 1 and {Core.Jobs.JobParameterNames.MaxAttemptsLimit} (the most attempts the coordinator makes of a run's job)");
    }

    /// <summary>A duration: a positive number with s, m, h or d, or plain seconds; at most 7 days.</summary>
    public static TimeSpan Duration(string text, string field)
    {
        var match = DurationPattern().Match(text.Trim());
        if (!match.Success || !double.TryParse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
            throw new JobDefinitionException(field, $"'{text}' is not a duration: write a number with s, m, h or d (90s, 15m, 2h), or seconds");
        var duration = match.Groups[2].Value switch
        {
            "" or "s" => TimeSpan.FromSeconds(amount),
            "m" => TimeSpan.FromMinutes(amount),
            "h" => TimeSpan.FromHours(amount),
            _ => TimeSpan.FromDays(amount),
        };
        if (duration < TimeSpan.FromSeconds(1) || duration > TimeSpan.FromDays(7))
            throw new JobDefinitionException(field, $"'{text}' must be between 1 s and 7 days");
        return duration;
    }

    private static YamlMappingNode LoadRoot(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            var problem = e.InnerException?.Message ?? e.Message;
            throw new JobDefinitionException("(document)", $"not valid YAML at line {e.Start.Line}, column {e.Start.Column}: {problem}");
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner fails this way on some unfinished documents (an unclosed flow list at the end).
            throw new JobDefinitionException("(document)", "not valid YAML: the document ends inside an unclosed '[', '{' or quote");
        }
        return stream.Documents.Count switch
        {
            0 => throw new JobDefinitionException("(document)", "the definition is empty"),
            > 1 => throw new JobDefinitionException("(document)", $"holds {stream.Documents.Count} YAML documents; a definition file holds one"),
            _ => stream.Documents[0].RootNode as YamlMappingNode
                ?? throw new JobDefinitionException("(document)", $"expected a mapping of fields (name, kind, parties, ...), found {Describe(stream.Documents[0].RootNode)}"),
        };
    }

    private static string Party(YamlMappingNode map, PartySide side, string kind, IDefinitionParties? parties)
    {
        var field = side == PartySide.Music ? "music" : "external";
        var path = $"parties.{field}";
        var id = RequiredString(map, field, "parties.", $"the {field} party's id as registered");
        if (parties is null)
            return id;
        var party = parties.Find(id) ?? throw new JobDefinitionException(path, $"party '{id}' is not registered");
        if (party.Side != side)
            throw new JobDefinitionException(path, $"party '{id}' is registered as {(party.Side == PartySide.Music ? "music" : "external")}, not {field}");
        if (party.Revoked)
            throw new JobDefinitionException(path, $"party '{id}' is revoked");
        if (party.Kinds.Count > 0 && !party.Kinds.Contains(kind, StringComparer.Ordinal))
            throw new JobDefinitionException(path, $"party '{id}' does not run job kind '{kind}' (it runs: {string.Join(", ", party.Kinds.Order(StringComparer.Ordinal))})");
        return id;
    }

    private static void CheckKnown(YamlMappingNode map, string path, string[] known)
    {
        foreach (var key in map.Children.Keys)
        {
            var name = KeyName(key, path);
            if (!known.Contains(name, StringComparer.Ordinal))
                throw new JobDefinitionException($"{path}.{name}", $"unknown field (known: {string.Join(", ", known)})");
        }
    }

    private static YamlMappingNode? Mapping(YamlMappingNode map, string field, string prefix, bool required, string? what)
    {
        if (!map.Children.TryGetValue(new YamlScalarNode(field), out var node) || IsNull(node))
            return required ? throw new JobDefinitionException(prefix + field, $"missing ({what})") : null;
        return node as YamlMappingNode ?? throw new JobDefinitionException(prefix + field, $"expected a mapping, found {Describe(node)}");
    }

    private static string RequiredString(YamlMappingNode map, string field, string prefix, string what) =>
        OptionalString(map, field, prefix) ?? throw new JobDefinitionException(prefix + field, $"missing ({what})");

    private static string? OptionalString(YamlMappingNode map, string field, string prefix)
    {
        if (!map.Children.TryGetValue(new YamlScalarNode(field), out var node) || IsNull(node))
            return null;
        var text = Scalar(node, prefix + field, "a string").Trim();
        return text.Length == 0 ? null : text;
    }

    private static string Scalar(YamlNode node, string path, string expected)
    {
        if (IsNull(node))
            throw new JobDefinitionException(path, $"has no value (expected {expected})");
        return node is YamlScalarNode scalar ? scalar.Value ?? ""
            : throw new JobDefinitionException(path, $"expected {expected}, found {Describe(node)}");
    }

    private static string KeyName(YamlNode key, string path) =>
        key is YamlScalarNode { Value: { Length: > 0 } name } ? name
            : throw new JobDefinitionException(path, $"a field name must be a plain string, found {Describe(key)}");

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"the value '{s.Value}'",
        _ => "something else",
    };

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[a-z][a-z0-9-]{0,63}$")]
    private static partial Regex KindPattern();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex ParameterPattern();

    [GeneratedRegex("^([0-9]+(?:\\.[0-9]+)?)\\s*([smhd]?)$")]
    private static partial Regex DurationPattern();
}

/// <summary>What the coordinator knows of the registered parties, for checking a definition against the registry.</summary>
public interface IDefinitionParties
{
    DefinitionParty? Find(string partyId);

    /// <summary>The job kinds any registered, unrevoked party has reported it runs.</summary>
    IReadOnlyCollection<string> KnownKinds { get; }
}

/// <summary>A registered party as a definition sees it; <see cref="Kinds"/> is empty when it has not reported them yet.</summary>
public sealed record DefinitionParty(string Id, PartySide Side, bool Revoked, IReadOnlyCollection<string> Kinds);
