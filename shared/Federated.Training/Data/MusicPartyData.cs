using Federated.Data.Features;
using Federated.Data.Schema;

namespace Federated.Training.Data;

/// <summary>
/// M's side of the data: songs (role Songs: metadata and audio descriptors), training interactions (role
/// Interactions: user and song roles), and optionally M's own user features (role Users). Every interaction must
/// name a known song and (when M has a users table) a known user; otherwise the job fails naming file and row.
/// </summary>
public sealed class MusicPartyData
{
    public const string Party = "music party (M)";

    private MusicPartyData() { }

    public required PartyDataFolder Folder { get; init; }
    /// <summary>Songs: keys, metadata ids (categorical columns) and the dense input of the audio encoder.</summary>
    public required EncodedTable Songs { get; init; }
    /// <summary>The songs table's schema and the encoding fitted on it (vocabularies, normalisation): what a new song's row needs.</summary>
    public required TableSchema SongsSchema { get; init; }
    public required FeaturePreprocessor SongsPreprocessor { get; init; }
    public required Dictionary<string, int> SongIndex { get; init; }
    /// <summary>M's own user features (categorical columns), or null when M has no users table or no categorical column.</summary>
    public EncodedTable? Users { get; init; }
    public Dictionary<string, int>? UserIndex { get; init; }
    /// <summary>Training positives per user key (song indices, one per interaction row).</summary>
    public required Dictionary<string, int[]> Positives { get; init; }
    /// <summary>Training interactions per song (for logQ and popularity).</summary>
    public required double[] SongInteractionCounts { get; init; }
    public long InteractionRows { get; init; }

    public static async Task<MusicPartyData> LoadAsync(string dataFolder, CancellationToken cancellationToken = default)
    {
        var folder = PartyDataFolder.Open(Party, dataFolder);
        var songsSchemaPath = folder.RequireTable(TableRole.Songs, "songs with metadata and audio descriptors");
        var interactionsSchemaPath = folder.RequireTable(TableRole.Interactions, "training interactions (labels)");

        var songsSchema = TableSchema.Load(songsSchemaPath);
        var songsPreprocessor = await FeaturePreprocessor.FitAsync(songsSchema, folder.Rows(songsSchemaPath, cancellationToken), cancellationToken: cancellationToken).ConfigureAwait(false);
        var songs = EncodedTable.From(songsPreprocessor, await songsPreprocessor.EncodeAllAsync(folder.Rows(songsSchemaPath, cancellationToken), cancellationToken).ConfigureAwait(false));
        if (songs.Rows == 0) throw new TrainingDataException(Party, $"songs table '{Path.GetFileName(songsSchemaPath)}' has no rows");
        if (songs.DenseWidth == 0)
            throw new TrainingDataException(Party, $"songs table '{Path.GetFileName(songsSchemaPath)}' has no numeric or vector feature for the audio encoder");
        var songIndex = Index(songs.Keys);

        EncodedTable? users = null;
        Dictionary<string, int>? userIndex = null;
        if (folder.HasTable(TableRole.Users))
        {
            var usersSchemaPath = folder.RequireTable(TableRole.Users, "M's own user features");
            var encoded = await EncodeAsync(folder, usersSchemaPath, cancellationToken).ConfigureAwait(false);
            userIndex = Index(encoded.Keys);
            if (encoded.CategoricalWidth > 0) users = encoded;
        }

        var interactionsSchema = TableSchema.Load(interactionsSchemaPath);
        int userColumn = interactionsSchema.RoleIndex(InteractionRoles.User), songColumn = interactionsSchema.RoleIndex(InteractionRoles.Song);
        if (userColumn < 0 || songColumn < 0)
            throw new TrainingDataException(Party, $"interactions schema '{Path.GetFileName(interactionsSchemaPath)}' must map the 'user' and 'song' roles to columns");
        var positives = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var order = new List<string>();
        var counts = new double[songs.Rows];
        long rows = 0;
        await folder.ReadAsync(interactionsSchemaPath, row =>
        {
            var user = row.GetText(userColumn)!;
            var song = row.GetText(songColumn)!;
            if (!songIndex.TryGetValue(song, out var s))
                throw new TrainingDataException(Party, $"{row.Location}: column '{interactionsSchema.Columns[songColumn].Name}' names a song that is not in the songs table");
            if (userIndex is not null && !userIndex.ContainsKey(user))
                throw new TrainingDataException(Party, $"{row.Location}: column '{interactionsSchema.Columns[userColumn].Name}' names a user that is not in M's users table");
            if (!positives.TryGetValue(user, out var list))
            {
                positives[user] = list = new List<int>();
                order.Add(user);
            }
            list.Add(s);
            counts[s]++;
            rows++;
        }, cancellationToken).ConfigureAwait(false);
        if (rows == 0) throw new TrainingDataException(Party, $"interactions table '{Path.GetFileName(interactionsSchemaPath)}' has no rows");

        return new MusicPartyData
        {
            Folder = folder, Songs = songs, SongsSchema = songsSchema, SongsPreprocessor = songsPreprocessor, SongIndex = songIndex, Users = users, UserIndex = userIndex,
            Positives = positives.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal),
            TrainableUserKeys = order.ToArray(),
            TrainableUserIndex = Index(order.ToArray()),
            SongInteractionCounts = counts, InteractionRows = rows,
        };
    }

    /// <summary>Users M can train on (at least one interaction), in first-seen order of the interactions table.</summary>
    public required string[] TrainableUserKeys { get; init; }
    /// <summary>Position of each trainable user in <see cref="TrainableUserKeys"/> (the id of M's user-id embedding).</summary>
    public required Dictionary<string, int> TrainableUserIndex { get; init; }
    public IEnumerable<string> TrainableUsers => TrainableUserKeys;
    /// <summary>Every user M knows: its users table and its interactions.</summary>
    public IEnumerable<string> KnownUsers => (Users?.Keys ?? []).Concat(TrainableUserKeys).Distinct(StringComparer.Ordinal);

    /// <summary>Songs M has training interactions for: the candidates for cold-start users.</summary>
    public int[] WarmSongs() => Enumerable.Range(0, Songs.Rows).Where(s => SongInteractionCounts[s] > 0).ToArray();

    private static async Task<EncodedTable> EncodeAsync(PartyDataFolder folder, string schemaPath, CancellationToken ct)
    {
        var schema = TableSchema.Load(schemaPath);
        // M's own tables are all training rows (cold-start users are not in them).
        var preprocessor = await FeaturePreprocessor.FitAsync(schema, folder.Rows(schemaPath, ct), cancellationToken: ct).ConfigureAwait(false);
        return EncodedTable.From(preprocessor, await preprocessor.EncodeAllAsync(folder.Rows(schemaPath, ct), ct).ConfigureAwait(false));
    }

    private static Dictionary<string, int> Index(string[] keys)
    {
        var index = new Dictionary<string, int>(keys.Length, StringComparer.Ordinal);
        for (int i = 0; i < keys.Length; i++) index[keys[i]] = i;
        return index;
    }
}
