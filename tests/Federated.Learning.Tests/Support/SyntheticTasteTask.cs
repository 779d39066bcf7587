using Federated.Learning.Model;

namespace Federated.Learning.Tests.Support;

/// <summary>
/// The cold-user recall task on a synthetic taste world, shared by the training test and the quality benchmark:
/// the last <c>coldUsers</c> users are held out of training (known to E only); M knows 3 in 5 of the others.
/// </summary>
internal sealed class SyntheticTasteTask
{
    public SyntheticTasteTask(int users, int coldUsers, int songs, int interactionsPerUser, int seed)
    {
        Songs = songs;
        World = new SyntheticTasteWorld(users, songs, interactionsPerUser, seed);
        TrainUsers = Enumerable.Range(0, users - coldUsers).ToArray();
        ColdUsers = Enumerable.Range(users - coldUsers, coldUsers).ToArray();
        SongCounts = new double[songs];
        var pairs = new List<(int User, long Song)>();
        foreach (var u in TrainUsers)
            foreach (var s in World.Interactions[u]) { pairs.Add((u, s)); SongCounts[s]++; }
        TrainingPairs = pairs;
        Items = new ItemTowerOptions
        {
            SongCount = songs, IdEmbeddingWidth = 16, MetadataCardinalities = new[] { SyntheticTasteWorld.GenreCardinality },
            MetadataEmbeddingWidth = 4, AudioWidth = SyntheticTasteWorld.AudioWidth, AudioHiddenWidth = 32, HiddenWidth = 32,
        };
    }

    public int Songs { get; }
    public SyntheticTasteWorld World { get; }
    public int[] TrainUsers { get; }
    public int[] ColdUsers { get; }
    public double[] SongCounts { get; }
    public IReadOnlyList<(int User, long Song)> TrainingPairs { get; }
    public ItemTowerOptions Items { get; }

    public bool KnownToM(int user) => user < TrainUsers.Length && user % 5 < 3;

    public SongCatalog CreateCatalog() => new(Items, World.Genre, World.Audio, SongCounts);
}
