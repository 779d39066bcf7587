using Federated.Data.Schema;

namespace Federated.Synthetic;

/// <summary>
/// Where the generator puts each party's tables and the schemas it writes for them. These names are the
/// generator's own: readers and learners take them from the schema files, never from here.
/// </summary>
public static class SyntheticWorldLayout
{
    public const string ExternalFolder = "external";
    public const string MusicFolder = "music";
    public const string TruthFolder = "truth";

    public static string ExternalUsersSchema(string root) => Path.Combine(root, ExternalFolder, "users.schema.json");
    public static string MusicUsersSchema(string root) => Path.Combine(root, MusicFolder, "users.schema.json");
    public static string SongsSchema(string root) => Path.Combine(root, MusicFolder, "songs.schema.json");
    public static string InteractionsSchema(string root) => Path.Combine(root, MusicFolder, "interactions.schema.json");
    public static string TruthUsersSchema(string root) => Path.Combine(root, TruthFolder, "users.schema.json");
    public static string TruthSongsSchema(string root) => Path.Combine(root, TruthFolder, "songs.schema.json");
    public static string HeldOutSchema(string root) => Path.Combine(root, TruthFolder, "heldout.schema.json");
    public static string WorldFile(string root) => Path.Combine(root, TruthFolder, "world.json");

    /// <summary>Held-out segments in the truth's held-out table.</summary>
    public const string ColdUserSegment = "cold_user";
    public const string ColdSongSegment = "cold_song";
    public const string ColdBothSegment = "cold_both";

    /// <summary>User segments in the truth's users table.</summary>
    public const string WarmUser = "warm";
    public const string ColdUser = "cold";
    public const string ExternalOnlyUser = "external_only";

    internal static string Ext(TableFormat format) => format == TableFormat.Csv ? ".csv" : ".parquet";

    internal static TableSchema ExternalUsers(SyntheticWorldOptions o, IReadOnlyList<string> regions, IReadOnlyList<string> interests) => new()
    {
        Table = "external_users", Role = TableRole.Users, File = "users" + Ext(o.Format), Key = "user_id",
        Roles = new Dictionary<string, string> { [InteractionRoles.User] = "user_id" },
        Description = "External party (E): users it knows, with behaviour features from its own apps.",
        Columns =
        [
            new ColumnSpec { Name = "user_id", Kind = ColumnKind.Id },
            new ColumnSpec { Name = "region", Kind = ColumnKind.Categorical, Categories = regions, Strict = true },
            new ColumnSpec { Name = "device", Kind = ColumnKind.Categorical },
            new ColumnSpec { Name = "top_video_category", Kind = ColumnKind.Categorical },
            new ColumnSpec { Name = "age", Kind = ColumnKind.Numeric, Min = 10, Max = 100 },
            .. Enumerable.Range(0, ActivityFeatures).Select(k => new ColumnSpec
                { Name = $"activity_{k}", Kind = ColumnKind.Numeric, Min = 0, Description = "minutes per week in an app section" }),
            new ColumnSpec { Name = "interests", Kind = ColumnKind.MultiCategorical, Categories = interests, MaxTokens = 8 },
            new ColumnSpec { Name = "last_active", Kind = ColumnKind.Timestamp, TimestampFormat = TimestampFormat.UnixSeconds },
        ],
    };

    internal const int ActivityFeatures = 8;

    internal static TableSchema MusicUsers(SyntheticWorldOptions o, IReadOnlyList<string> genres) => new()
    {
        Table = "music_users", Role = TableRole.Users, File = "users" + Ext(o.Format), Key = "user_id",
        Roles = new Dictionary<string, string> { [InteractionRoles.User] = "user_id" },
        Description = "Music party (M): its own sparse features of the users it knows.",
        Columns =
        [
            new ColumnSpec { Name = "user_id", Kind = ColumnKind.Id },
            new ColumnSpec { Name = "signup_channel", Kind = ColumnKind.Categorical },
            new ColumnSpec { Name = "country", Kind = ColumnKind.Categorical, Nullable = true },
            new ColumnSpec { Name = "declared_genres", Kind = ColumnKind.MultiCategorical, Categories = genres, MaxTokens = 3 },
            new ColumnSpec { Name = "age", Kind = ColumnKind.Numeric, Nullable = true, Min = 10, Max = 100 },
            new ColumnSpec { Name = "premium", Kind = ColumnKind.Flag },
        ],
    };

    internal static TableSchema Songs(SyntheticWorldOptions o, IReadOnlyList<string> genres, IReadOnlyList<string> languages) => new()
    {
        Table = "songs", Role = TableRole.Songs, File = "songs" + Ext(o.Format), Key = "song_id",
        Roles = new Dictionary<string, string> { [InteractionRoles.Song] = "song_id" },
        Description = "Music party (M): songs with metadata and audio descriptors.",
        Columns =
        [
            new ColumnSpec { Name = "song_id", Kind = ColumnKind.Id },
            new ColumnSpec { Name = "artist", Kind = ColumnKind.Categorical },
            new ColumnSpec { Name = "genre", Kind = ColumnKind.Categorical, Categories = genres, Strict = true },
            new ColumnSpec { Name = "language", Kind = ColumnKind.Categorical, Categories = languages, Strict = true },
            new ColumnSpec { Name = "era", Kind = ColumnKind.Categorical },
            new ColumnSpec { Name = "moods", Kind = ColumnKind.MultiCategorical },
            new ColumnSpec { Name = "duration_s", Kind = ColumnKind.Numeric, Min = 0 },
            new ColumnSpec { Name = "audio", Kind = ColumnKind.Vector, Width = o.AudioWidth, Description = "audio descriptor vector" },
        ],
    };

    internal static TableSchema Interactions(SyntheticWorldOptions o, string table, string file, bool withSegment)
    {
        var columns = new List<ColumnSpec>
        {
            new() { Name = "user_id", Kind = ColumnKind.Id },
            new() { Name = "song_id", Kind = ColumnKind.Id },
            new() { Name = "time", Kind = ColumnKind.Timestamp, TimestampFormat = TimestampFormat.Iso8601, Feature = false },
            new() { Name = "full_play", Kind = ColumnKind.Flag, Feature = false },
            new() { Name = "skip", Kind = ColumnKind.Flag, Feature = false },
            new() { Name = "collect", Kind = ColumnKind.Flag, Feature = false },
            new() { Name = "listen_ratio", Kind = ColumnKind.Numeric, Min = 0, Max = 1, Feature = false },
        };
        if (withSegment)
            columns.Add(new ColumnSpec
            {
                Name = "segment", Kind = ColumnKind.Categorical, Strict = true, Feature = false,
                Categories = [ColdUserSegment, ColdSongSegment, ColdBothSegment],
            });
        return new TableSchema
        {
            Table = table, Role = TableRole.Interactions, File = file + Ext(o.Format),
            Roles = new Dictionary<string, string>
            {
                [InteractionRoles.User] = "user_id", [InteractionRoles.Song] = "song_id", [InteractionRoles.Time] = "time",
                [InteractionRoles.Play] = "full_play", [InteractionRoles.Skip] = "skip", [InteractionRoles.Collect] = "collect",
                [InteractionRoles.ListenRatio] = "listen_ratio",
            },
            Columns = columns,
        };
    }

    internal static TableSchema TruthUsers(SyntheticWorldOptions o) => new()
    {
        Table = "truth_users", Role = TableRole.Other, File = "users" + Ext(o.Format), Key = "user_id",
        Description = "Ground truth: every user's latent taste and segment. No party reads this.",
        Columns =
        [
            new ColumnSpec { Name = "user_id", Kind = ColumnKind.Id },
            new ColumnSpec { Name = "segment", Kind = ColumnKind.Categorical, Strict = true, Categories = [WarmUser, ColdUser, ExternalOnlyUser] },
            new ColumnSpec { Name = "known_to_external", Kind = ColumnKind.Flag },
            new ColumnSpec { Name = "known_to_music", Kind = ColumnKind.Flag },
            new ColumnSpec { Name = "taste", Kind = ColumnKind.Vector, Width = o.LatentDimensions },
        ],
    };

    internal static TableSchema TruthSongs(SyntheticWorldOptions o) => new()
    {
        Table = "truth_songs", Role = TableRole.Other, File = "songs" + Ext(o.Format), Key = "song_id",
        Description = "Ground truth: every song's latent style, base popularity and cold-start flag. No party reads this.",
        Columns =
        [
            new ColumnSpec { Name = "song_id", Kind = ColumnKind.Id },
            new ColumnSpec { Name = "cold", Kind = ColumnKind.Flag },
            new ColumnSpec { Name = "log_popularity", Kind = ColumnKind.Numeric },
            new ColumnSpec { Name = "style", Kind = ColumnKind.Vector, Width = o.LatentDimensions },
        ],
    };
}
