using Federated.Data.Evaluation;
using Federated.Data.Reading;

namespace Federated.Synthetic;

/// <summary>
/// The synthetic world's truth folder, loaded: latent tastes and styles, base popularity, segments. Gives the
/// oracle ranking (the generator's own choice model) for the quality table. Only evaluation code reads it.
/// </summary>
public sealed class GroundTruth
{
    private readonly Dictionary<string, int> _userIndex = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _songIndex = new(StringComparer.Ordinal);
    private readonly List<string> _userKeys = new();
    private readonly List<string> _userSegments = new();
    private readonly List<string> _songKeys = new();
    private readonly List<bool> _songCold = new();
    private readonly List<double> _logPopularity = new();
    private readonly List<float[]> _tastes = new();
    private readonly List<float[]> _styles = new();

    private GroundTruth(SyntheticWorldOptions options) => Options = options;

    public SyntheticWorldOptions Options { get; }
    public IReadOnlyList<string> UserKeys => _userKeys;
    public IReadOnlyList<string> SongKeys => _songKeys;

    public static async Task<GroundTruth> LoadAsync(string worldDirectory, CancellationToken cancellationToken = default)
    {
        var truth = new GroundTruth(SyntheticWorld.WorldDescription.ReadOptions(SyntheticWorldLayout.WorldFile(worldDirectory)));
        {
            var users = await TableReader.OpenFromSchemaFileAsync(SyntheticWorldLayout.TruthUsersSchema(worldDirectory), cancellationToken: cancellationToken).ConfigureAwait(false);
            await using var usersDisposal = users.ConfigureAwait(false);
            await foreach (var row in users.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                truth._userIndex[row.Key!] = truth._userKeys.Count;
                truth._userKeys.Add(row.Key!);
                truth._userSegments.Add(row.GetText(1)!);
                truth._tastes.Add(row.GetVector(4)!);
            }
        }

        {
            var songs = await TableReader.OpenFromSchemaFileAsync(SyntheticWorldLayout.TruthSongsSchema(worldDirectory), cancellationToken: cancellationToken).ConfigureAwait(false);
            await using var songsDisposal = songs.ConfigureAwait(false);
            await foreach (var row in songs.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                truth._songIndex[row.Key!] = truth._songKeys.Count;
                truth._songKeys.Add(row.Key!);
                truth._songCold.Add(row.GetFlag(1)!.Value);
                truth._logPopularity.Add(row.GetNumber(2));
                truth._styles.Add(row.GetVector(3)!);
            }
        }

        return truth;
    }

    public string Segment(string user) => _userSegments[_userIndex[user]];

    public bool IsColdSong(string song) => _songCold[_songIndex[song]];

    public IReadOnlyList<string> UsersInSegment(string segment) =>
        _userKeys.Where((_, i) => _userSegments[i] == segment).ToArray();

    public IReadOnlyList<string> WarmSongs => _songKeys.Where((_, j) => !_songCold[j]).ToArray();

    public IReadOnlyList<string> ColdSongs => _songKeys.Where((_, j) => _songCold[j]).ToArray();

    /// <summary>The generator's log-odds of user choosing song: log popularity + sharpness × taste·style.</summary>
    public double Score(string user, string song)
    {
        var u = _tastes[_userIndex[user]];
        var j = _songIndex[song];
        var s = _styles[j];
        var dot = 0.0;
        for (var d = 0; d < u.Length; d++) dot += u[d] * s[d];
        return _logPopularity[j] + Options.TasteSharpness * dot;
    }

    /// <summary>The oracle: the k candidates the generator itself makes most likely for this user.</summary>
    public IReadOnlyList<string> OracleRank(string user, IReadOnlyList<string> candidates, int k)
    {
        var scores = new double[candidates.Count];
        for (var i = 0; i < scores.Length; i++) scores[i] = Score(user, candidates[i]);
        return Rankings.TopK(scores, k).Select(i => candidates[i]).ToArray();
    }
}
