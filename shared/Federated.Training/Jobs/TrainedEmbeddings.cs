using System.Security.Cryptography;
using Federated.Learning.Model;
using Federated.Training.Data;
using static TorchSharp.torch;

namespace Federated.Training.Jobs;

/// <summary>
/// What M publishes after a job: an L2-normalised item vector for every song it holds (cold songs included: the item
/// tower needs only metadata and the audio descriptor) and the user vectors the job's inference produced for the users
/// it ranked, so a recall score is one dot product. Stays with M; nothing here goes to the peer.
/// </summary>
public sealed record TrainedEmbeddings(int Dimensions, string[] ItemKeys, float[] Items, string[] UserKeys, float[] Users, string SchemaFingerprint)
{
    /// <summary>Songs with no training interactions (new to the catalogue's listeners): the ones to find an audience for.</summary>
    public IReadOnlyList<string> NewSongKeys { get; init; } = [];

    /// <summary>
    /// Per user (in <see cref="UserKeys"/> order), the audience prior <c>T · log(1 + n)</c>: n the songs the user
    /// played at M in the training data (0 for users new to M), T the model's softmax temperature. The model scores
    /// P(song | user) ∝ exp(u·s / T); an audience ranks users for a song, P(user | song) ∝ P(song | user) · P(user),
    /// so u·s + T · log P(user) up to a constant per song. Empty when not computed.
    /// </summary>
    public float[] UserPriors { get; init; } = [];

    internal static float[] Priors(MusicPartyData data, IReadOnlyList<string> userKeys, double temperature) =>
        userKeys.Select(u => (float)(temperature * Math.Log(1 + (data.Positives.TryGetValue(u, out var songs) ? songs.Length : 0)))).ToArray();

    internal static string[] NewSongs(MusicPartyData data) =>
        Enumerable.Range(0, data.Songs.Rows).Where(s => data.SongInteractionCounts[s] == 0).Select(s => data.Songs.Keys[s]).ToArray();

    /// <summary>
    /// Where the version's new-song encoder is (item tower, songs schema and encoding; <see cref="NewSongEncoder"/>),
    /// published beside the vectors; null when the job wrote none.
    /// </summary>
    public string? EncoderFolder { get; init; }

    /// <summary>
    /// Item vectors of all of M's songs, in the songs table's order, computed in chunks. A song never trained on (no
    /// training interaction and never drawn into a batch, so its ID embedding is still the random start) takes the
    /// audio encoder's output as its ID embedding (docs/protocol.md §4.2): its vector is what its metadata and audio
    /// say, the same vector <see cref="NewSongEncoder"/> gives a new song with those features.
    /// </summary>
    public static (string[] Keys, float[] Vectors, int Dimensions) AllSongs(MusicTopModel top, SongCatalog catalog, MusicPartyData data)
    {
        ArgumentNullException.ThrowIfNull(top);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(data);
        var keys = data.Songs.Keys;
        var seen = top.ExportSeenSongs();
        const int chunk = 4096;
        float[]? all = null;
        int dimensions = 0;
        using var _ = no_grad();
        for (int start = 0; start < keys.Length; start += chunk)
        {
            int count = Math.Min(chunk, keys.Length - start);
            using var scope = NewDisposeScope();
            var ids = Enumerable.Range(start, count).Select(i => (long)i).ToArray();
            using var vectors = top.ItemVectors(tensor(ids, ScalarType.Int64), catalog);
            dimensions = (int)vectors.shape[1];
            all ??= new float[(long)keys.Length * dimensions];
            vectors.data<float>().CopyTo(all, checked(start * dimensions));
            var untrained = ids.Where(i => !seen[i] && data.SongInteractionCounts[i] == 0).ToArray();
            if (untrained.Length == 0) continue;
            var rows = tensor(untrained, ScalarType.Int64);
            using var cold = top.ItemVectorsWithAudioAsId(catalog.Metadata.index_select(0, rows), catalog.Audio.index_select(0, rows));
            var values = cold.contiguous().data<float>().ToArray();
            for (int r = 0; r < untrained.Length; r++)
                values.AsSpan(r * dimensions, dimensions).CopyTo(all.AsSpan(checked((int)untrained[r] * dimensions), dimensions));
        }
        return (keys, all ?? [], dimensions);
    }

    /// <summary>Rows of a [rows, d] user-vector tensor, as floats.</summary>
    internal static float[] Rows(Tensor userVectors)
    {
        using var scope = NewDisposeScope();
        return userVectors.to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
    }

    /// <summary>SHA-256 over M's schema files (name and content, in name order): a changed table layout changes it.</summary>
    internal static string FingerprintSchemas(string dataFolder)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in Directory.GetFiles(dataFolder, "*.schema.json").Order(StringComparer.Ordinal))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\n"));
            hash.AppendData(File.ReadAllBytes(file));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
