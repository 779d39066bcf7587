using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Federated.Core.Jobs;

/// <summary>
/// The coordinator's id of one attempt of a job (a row of its job store, the job of a relay session and of every
/// sealed header). A retry of a training job is a new attempt with a new id.
/// </summary>
[JsonConverter(typeof(JobIdJson.Attempt))]
public readonly record struct AttemptId
{
    public AttemptId(string value)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException("an attempt id is not empty", nameof(value));
        Value = value;
    }

    public string Value { get; }
    public override string ToString() => Value;
}

/// <summary>
/// The logical name of a training job, the same for all its attempts and rounds: it names the parties' job folders,
/// checkpoints and the PSI domain. Letters, digits, '-', '_' and '.' only, so it is safe as a folder name.
/// </summary>
[JsonConverter(typeof(JobIdJson.TrainingJob))]
public readonly record struct TrainingJobName
{
    public const int MaxLength = 128;

    public TrainingJobName(string value)
    {
        if (!IsValid(value))
            throw new ArgumentException($"training job name '{value}' must be 1..{MaxLength} characters of letters, digits, '-', '_' or '.', not starting with '.'", nameof(value));
        Value = value;
    }

    public string Value { get; }

    public static bool IsValid(string? value) =>
        !string.IsNullOrEmpty(value) && value.Length <= MaxLength && value[0] != '.'
        && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    public override string ToString() => Value;
}

/// <summary>The number of a round of a training job (1 for the first), for incremental rounds on growing data.</summary>
[JsonConverter(typeof(JobIdJson.Round))]
public readonly record struct RoundNumber : IComparable<RoundNumber>
{
    public const int Max = 1_000_000;

    public RoundNumber(int value)
    {
        if (value is < 1 or > Max) throw new ArgumentOutOfRangeException(nameof(value), value, $"a round is 1..{Max}");
        Value = value;
    }

    public int Value { get; }
    public static RoundNumber First => new(1);
    public RoundNumber Next => new(Value + 1);
    public int CompareTo(RoundNumber other) => Value.CompareTo(other.Value);
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One round of one training job: the key of the protocol state both parties share for it ("{job}/r{round}").</summary>
public readonly record struct TrainingRun(TrainingJobName Job, RoundNumber Round)
{
    public string Key => $"{Job.Value}/r{Round.Value.ToString(CultureInfo.InvariantCulture)}";
    public override string ToString() => Key;
}

/// <summary>
/// The ids in JSON as their plain value (a string, or a number for a round), validated on reading: a stored record
/// with an empty attempt id or a bad name fails to load with the reason instead of carrying an invalid id.
/// </summary>
public static class JobIdJson
{
    public sealed class Attempt : JsonConverter<AttemptId>
    {
        public override AttemptId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(reader.GetString() ?? throw new JsonException("an attempt id is a string, not null"));

        public override void Write(Utf8JsonWriter writer, AttemptId value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
    }

    public sealed class TrainingJob : JsonConverter<TrainingJobName>
    {
        public override TrainingJobName Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(reader.GetString() ?? throw new JsonException("a training job name is a string, not null"));

        public override void Write(Utf8JsonWriter writer, TrainingJobName value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
    }

    public sealed class Round : JsonConverter<RoundNumber>
    {
        public override RoundNumber Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => new(reader.GetInt32());

        public override void Write(Utf8JsonWriter writer, RoundNumber value, JsonSerializerOptions options) => writer.WriteNumberValue(value.Value);
    }
}
