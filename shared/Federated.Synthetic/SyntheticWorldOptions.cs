using Federated.Data.Schema;

namespace Federated.Synthetic;

/// <summary>
/// Parameters of the synthetic music world. Defaults are the "demo" size (20k users, 5k songs, ~40 interactions per
/// user: ~0.6M training interactions). Fractions are of all users (or all songs).
/// </summary>
public sealed record SyntheticWorldOptions
{
    public int Users { get; init; } = 20_000;
    public int Songs { get; init; } = 5_000;

    /// <summary>Mean interactions per user (log-normal spread around it).</summary>
    public double InteractionsPerUser { get; init; } = 40;

    /// <summary>Fraction of M's (warm) users that E also knows: the PSI intersection over M's users.</summary>
    public double OverlapRatio { get; init; } = 0.6;

    /// <summary>Fraction of users that are cold-start: known to E, new to M (held-out interactions only).</summary>
    public double ColdUserFraction { get; init; } = 0.1;

    /// <summary>
    /// Cold-start users are new: their (held-out) history is this fraction of a regular user's. Keeps hit rates
    /// meaningful (a user with 40 test songs almost always "hits" the most popular 50).
    /// </summary>
    public double ColdUserHistoryScale { get; init; } = 0.125;

    /// <summary>Fraction of users known only to E (never use M): they make the intersection partial on E's side too.</summary>
    public double ExternalOnlyFraction { get; init; } = 0.1;

    /// <summary>Fraction of songs that are cold-start: no interactions in training.</summary>
    public double ColdSongFraction { get; init; } = 0.1;

    /// <summary>0 = E's features are pure noise, 1 = noiseless functions of user taste.</summary>
    public double ExternalInformativeness { get; init; } = 0.9;

    /// <summary>0 = audio descriptors are pure noise, 1 = noiseless functions of song style.</summary>
    public double AudioInformativeness { get; init; } = 0.85;

    /// <summary>Zipf exponent of song popularity: song of popularity rank r has base weight r^-exponent.</summary>
    public double PopularityExponent { get; init; } = 0.6;

    /// <summary>How strongly taste drives choice: P(song | user) ∝ popularity × exp(sharpness × taste·style).</summary>
    public double TasteSharpness { get; init; } = 12.0;

    public int LatentDimensions { get; init; } = 16;
    public int Genres { get; init; } = 12;
    public int Languages { get; init; } = 5;

    /// <summary>Width of the audio descriptor vector (84 = 14 frame features × 6 statistics).</summary>
    public int AudioWidth { get; init; } = 84;

    public TableFormat Format { get; init; } = TableFormat.Csv;

    public long Seed { get; init; } = 42;

    /// <summary>Interactions fall uniformly in [Start, Start + Days).</summary>
    public DateTimeOffset Start { get; init; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public int Days { get; init; } = 90;

    /// <summary>Rows per Parquet row group.</summary>
    public int ParquetRowGroupSize { get; init; } = 65_536;

    /// <summary>The demo world: trains in minutes on 2 cores.</summary>
    public static SyntheticWorldOptions Demo => new();

    /// <summary>A tiny world for tests (seconds to generate and read).</summary>
    public static SyntheticWorldOptions Tiny => new() { Users = 2_000, Songs = 600, InteractionsPerUser = 25 };

    /// <summary>
    /// A world whose M training interactions table has about the given number of rows (default fractions,
    /// 40 interactions per warm user, one song per 20 users).
    /// </summary>
    public static SyntheticWorldOptions WithTrainingInteractions(long interactions)
    {
        var o = new SyntheticWorldOptions { InteractionsPerUser = 40 };
        // Training rows per user: warm users only, minus their plays of cold songs (~ cold song share).
        var perUser = o.InteractionsPerUser * (1 - o.ColdUserFraction - o.ExternalOnlyFraction) * (1 - o.ColdSongFraction);
        var users = (int)Math.Clamp(interactions / perUser, 100, int.MaxValue / 64);
        return o with { Users = users, Songs = Math.Max(50, users / 20) };
    }

    public void Validate()
    {
        var problems = new List<string>();
        if (Users < 10) problems.Add($"users {Users} < 10");
        if (Songs < 10) problems.Add($"songs {Songs} < 10");
        if (InteractionsPerUser is < 1 or > 100_000) problems.Add($"interactions per user {InteractionsPerUser} outside [1, 100000]");
        foreach (var (name, value) in new[]
                 {
                     ("overlap ratio", OverlapRatio), ("cold user fraction", ColdUserFraction),
                     ("external-only fraction", ExternalOnlyFraction), ("cold song fraction", ColdSongFraction), ("cold user history scale", ColdUserHistoryScale),
                     ("external informativeness", ExternalInformativeness), ("audio informativeness", AudioInformativeness),
                 })
            if (value is < 0 or > 1 || double.IsNaN(value)) problems.Add($"{name} {value} outside [0, 1]");
        if (ColdUserFraction + ExternalOnlyFraction >= 0.9) problems.Add("cold + external-only users leave fewer than 10% warm users");
        if (PopularityExponent is < 0 or > 3) problems.Add($"popularity exponent {PopularityExponent} outside [0, 3]");
        if (TasteSharpness is < 0 or > 20) problems.Add($"taste sharpness {TasteSharpness} outside [0, 20]");
        if (LatentDimensions < 4) problems.Add("latent dimensions < 4");
        if (Genres < 2 || Languages < 1) problems.Add("need at least 2 genres and 1 language");
        if (AudioWidth < 1) problems.Add("audio width < 1");
        if (Days < 1) problems.Add("days < 1");
        if (problems.Count > 0) throw new ArgumentException("invalid synthetic world options: " + string.Join("; ", problems));
    }
}

/// <summary>Progress of <see cref="SyntheticWorld.GenerateAsync"/>: a stage and how far through it.</summary>
public sealed record GeneratorProgress(string Stage, long Done, long Total);

/// <summary>What was generated, for logs and tests.</summary>
public sealed record SyntheticWorldSummary
{
    public required string OutputDirectory { get; init; }
    public int WarmUsers { get; init; }
    public int ColdUsers { get; init; }
    public int ExternalOnlyUsers { get; init; }
    public int ExternalUsers { get; init; }
    public int OverlapUsers { get; init; }
    public int ColdSongs { get; init; }
    public long TrainingInteractions { get; init; }
    public long HeldOutInteractions { get; init; }
}
