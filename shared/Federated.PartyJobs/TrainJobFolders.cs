using Federated.Core.Jobs;
using System.Text.Json;

namespace Federated.PartyJobs;

/// <summary>
/// Where a party keeps one training job (never shared): <c>&lt;jobs&gt;/&lt;trainingJob&gt;/</c> holds the pipeline's PSI
/// state, checkpoints and models, plus <c>progress.json</c> (phase and step, for operators) and, per round,
/// <c>outputs/r&lt;n&gt;/result.json</c> (counts, timings, ε) and at M <c>rankings.tsv</c> (M's output).
/// </summary>
public static class TrainJobFolders
{
    public const string RankingsFileName = "rankings.tsv";
    public const string ResultFileName = "result.json";
    public const string ProgressFileName = "progress.json";

    public static string JobFolder(string jobsDirectory, TrainingJobName trainingJob) => Path.Combine(jobsDirectory, trainingJob.Value);

    /// <summary>
    /// This party's data folder (<c>Party:DataDirectory</c>, else <c>data</c> beside the agent's state folder; it must
    /// exist) and its training jobs' folder (<c>Party:JobsDirectory</c>, default <c>&lt;Agent:StateDirectory&gt;/train</c>).
    /// </summary>
    public static (string Data, string Jobs) PartyFolders(Microsoft.Extensions.Configuration.IConfiguration configuration, string stateDirectory, string partyId)
    {
        var data = configuration[PsiJobHandler.DataDirectoryKey] is { Length: > 0 } set ? set
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(stateDirectory).TrimEnd(Path.DirectorySeparatorChar))!, "data");
        if (!Directory.Exists(data))
            throw new InvalidOperationException($"party {partyId}: its data folder {data} (Party:DataDirectory) does not exist; it holds the party's own tables and schema files");
        var jobs = configuration["Party:JobsDirectory"] is { Length: > 0 } configured
            ? Path.GetFullPath(configured) : Path.Combine(Path.GetFullPath(stateDirectory), "train");
        return (Path.GetFullPath(data), jobs);
    }
    public static string OutputFolder(string jobFolder, RoundNumber round) => Path.Combine(jobFolder, "outputs", $"r{round}");
    public static string RankingsFile(string jobFolder, RoundNumber round) => Path.Combine(OutputFolder(jobFolder, round), RankingsFileName);
    public static string ResultFile(string jobFolder, RoundNumber round) => Path.Combine(OutputFolder(jobFolder, round), ResultFileName);
    public static string ProgressFile(string jobFolder) => Path.Combine(jobFolder, ProgressFileName);

    /// <summary>M's ranked lists: one line per user, <c>user \t song,song,...</c> (best first).</summary>
    public static void WriteRankings(string path, IReadOnlyDictionary<string, IReadOnlyList<string>> rankings)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        using (var writer = new StreamWriter(temporary))
            foreach (var (user, songs) in rankings.OrderBy(r => r.Key, StringComparer.Ordinal))
                writer.WriteLine($"{user}\t{string.Join(',', songs)}");
        File.Move(temporary, path, overwrite: true);
    }

    public static IReadOnlyDictionary<string, IReadOnlyList<string>> ReadRankings(string path)
    {
        var rankings = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0) continue;
            var tab = line.IndexOf('\t');
            if (tab <= 0) throw new InvalidDataException($"{path}:{number}: expected 'user<TAB>song,song,...'");
            rankings[line[..tab]] = line[(tab + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries);
        }
        return rankings;
    }

    public static void WriteJson<T>(string path, T value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, path, overwrite: true);
    }

    public static T? ReadJson<T>(string path) => File.Exists(path) ? JsonSerializer.Deserialize<T>(File.ReadAllText(path)) : default;

    /// <summary>For progress polling: null when the file is missing or being replaced.</summary>
    public static T? ReadJsonSafely<T>(string path)
    {
        try { return ReadJson<T>(path); }
        catch (Exception e) when (e is IOException or JsonException) { return default; }
    }
}

/// <summary>A party's progress in a training job: phase and step only, no values.</summary>
public sealed record TrainJobProgress(string Party, string Phase, ulong Step, ulong TotalSteps, DateTimeOffset Time, string CoordinatorJobId);

/// <summary>What one attempt of a training job reports at a party: counts, timings and ε only.</summary>
public sealed record TrainJobOutcome(
    string Party, string TrainingJob, string CoordinatorJobId, int Round, string Mode, string SecurityNotice, long AlignedRows,
    ulong Steps, ulong ResumedFromStep, long EvaluationRows, double? Epsilon, double? Delta,
    double LoadingSeconds, double AlignmentSeconds, double TrainingSeconds, double EvaluationSeconds);
