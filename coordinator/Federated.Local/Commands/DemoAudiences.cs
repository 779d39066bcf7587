using Federated.Serving.Publication;
using Federated.Serving.Recall;
using Federated.Training.Jobs;

namespace Federated.Local.Commands;

/// <summary>
/// Song audiences of a baseline's vectors, computed the way M's recall API computes them: the vectors, kept to the
/// users of the pool, go into a version store of the operator's own and the recall engine answers
/// <c>TargetAudience</c> for each song. One rule for every row of the cold-song comparison.
/// </summary>
internal static class DemoAudiences
{
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Of(TrainedEmbeddings vectors, IReadOnlyCollection<string> pool,
        IReadOnlyList<string> songs, int n, int similarSongs, string folder)
    {
        var members = pool.ToHashSet(StringComparer.Ordinal);
        var d = vectors.Dimensions;
        var users = new List<string>();
        var userVectors = new List<float>();
        var priors = new List<float>();
        for (int u = 0; u < vectors.UserKeys.Length; u++)
        {
            if (!members.Remove(vectors.UserKeys[u])) continue; // outside the pool, or listed twice
            users.Add(vectors.UserKeys[u]);
            userVectors.AddRange(vectors.Users.AsSpan(u * d, d));
            if (vectors.UserPriors.Length > 0) priors.Add(vectors.UserPriors[u]);
        }
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        var store = new EmbeddingVersionStore(folder);
        store.Publish(new EmbeddingManifest
        {
            TrainingJob = "baseline", AttemptId = "baseline", Round = 1, Dimensions = d, Items = vectors.ItemKeys.Length, Users = users.Count,
            SchemaFingerprint = vectors.SchemaFingerprint, Metrics = new Dictionary<string, double>(),
        }, vectors.ItemKeys, vectors.Items, users, userVectors.ToArray(), userPriors: priors.ToArray());
        using var engine = new RecallEngine(store);
        return songs.ToDictionary(song => song, song => (IReadOnlyList<string>)engine.TargetAudience(song, n, similarSongs).Value.Select(u => u.Id).ToArray(),
            StringComparer.Ordinal);
    }

    public static string Slug(string method) =>
        new(method.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray());
}
