using System.Globalization;

namespace Federated.Core.Jobs;

/// <summary>
/// The coordinator's id of one attempt of a job (a row of its job store, the job of a relay session and of every
/// sealed header). A retry of a training job is a new attempt with a new id.
/// </summary>
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
