using Federated.Learning.Crypto;
using Federated.Learning.Model;
using Federated.Learning.Split;
using Federated.Learning.Tests.Support;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace Federated.Learning.Tests;

/// <summary>
/// A tiny end-to-end run: split training (plaintext reference) on a synthetic taste world, evaluated on users new to
/// M (held out of training, recalled from E's features alone), must beat popularity and random recall.
/// </summary>
public class SyntheticTrainingTests(ITestOutputHelper output)
{
    private const int Users = 2400, ColdUsers = 400, Songs = 200, K = 16, D = 16, Batch = 256, Steps = 160, TopK = 20;


    [Fact]
    public void Split_training_recalls_cold_users_songs_better_than_popularity_and_random()
    {
        TorchRuntime.Initialise(2);
        var task = new SyntheticTasteTask(Users, ColdUsers, Songs, interactionsPerUser: 8, seed: 5);
        var (world, trainUsers, coldUsers, counts, pairs, items) = (task.World, task.TrainUsers, task.ColdUsers, task.SongCounts, task.TrainingPairs, task.Items);
        bool KnownToM(int user) => task.KnownToM(user);
        using var catalog = task.CreateCatalog();
        var job = new SplitTrainingOptions
        {
            JobId = "synthetic", BottomWidth = K, InteractiveWidth = D, InteractiveLearningRate = 0.5,
            AlignedRows = trainUsers.Length, Insecure = InsecureAllowances.PlaintextReference | InsecureAllowances.NoLabelNoise,
        };
        manual_seed(1);
        var tower = new ExternalBottomTower(new ExternalTowerOptions
        {
            CategoricalCardinalities = Enumerable.Repeat(SyntheticTasteWorld.ExternalCardinality, SyntheticTasteWorld.ExternalColumns).ToArray(),
            EmbeddingWidth = 8, DenseWidth = SyntheticTasteWorld.DenseWidth, HiddenWidths = new[] { 64 }, OutputWidth = K,
        });
        manual_seed(2);
        var top = new MusicTopModel(new MusicTopOptions
        {
            InteractiveWidth = D, Items = items, Temperature = 0.1,
            Users = new MusicUserOptions { CategoricalCardinalities = Enumerable.Repeat(SyntheticTasteWorld.MusicCardinality, SyntheticTasteWorld.MusicColumns).ToArray() },
        });
        using var e = new ExternalPartyRole(job, tower, p => optim.Adam(p, 0.01), new PlaintextReferenceExternalSession(SmallModels.Plaintext(1)), 11);
        using var m = new MusicPartyRole(job, top, catalog, p => optim.Adam(p, 0.01), new PlaintextReferenceMusicSession(SmallModels.Plaintext(2)), 12);
        InProcessSplitExchange.Setup(e, m);

        var random = new Random(3);
        double firstLoss = 0, lastLoss = 0;
        for (int step = 0; step < Steps; step++)
        {
            var batch = Enumerable.Range(0, Batch).Select(_ => pairs[random.Next(pairs.Count)]).ToArray();
            var users = batch.Select(p => p.User).ToArray();
            InProcessSplitExchange.Step(e, m, world.ExternalRows(users), world.MusicRows(users, batch.Select(p => p.Song).ToArray(), KnownToM));
            if (step < 10) firstLoss += m.LastReport!.Loss!.Value / 10;
            if (step >= Steps - 10) lastLoss += m.LastReport!.Loss!.Value / 10;
        }
        Assert.True(lastLoss < firstLoss * 0.95, $"training loss went from {firstLoss:F3} to {lastLoss:F3}");

        // Cold users through the protocol's inference (F1-F3): M gets their user vectors and scores every song.
        double split, popularity;
        var coldMusic = world.MusicRows(coldUsers, new long[coldUsers.Length], KnownToM);
        using (var userVectors = InProcessSplitExchange.Infer(e, m, world.ExternalRows(coldUsers), coldMusic.UserCategorical, coldMusic.UserKnown))
        using (no_grad())
        {
            var itemVectors = m.Top.ItemVectors(arange(Songs, dtype: ScalarType.Int64), catalog);
            var top20 = userVectors.mm(itemVectors.t()).topk(TopK, dim: 1).indexes.data<long>().ToArray();
            split = MeanRecall(coldUsers, u => top20.Skip(Array.IndexOf(coldUsers, u) * TopK).Take(TopK), world);
        }
        var popular = Enumerable.Range(0, Songs).OrderByDescending(s => counts[s]).Take(TopK).Select(s => (long)s).ToArray();
        popularity = MeanRecall(coldUsers, _ => popular, world);
        double randomRecall = (double)TopK / Songs;

        output.WriteLine($"loss {firstLoss:F3} -> {lastLoss:F3}; cold-user recall@{TopK}: split {split:F3}, popularity {popularity:F3}, random {randomRecall:F3}");
        Assert.True(split > popularity * 1.2, $"split recall@{TopK} {split:F3} is not clearly above popularity {popularity:F3}");
        Assert.True(split > randomRecall * 2, $"split recall@{TopK} {split:F3} is not clearly above random {randomRecall:F3}");
    }

    private static double MeanRecall(int[] users, Func<int, IEnumerable<long>> recommended, SyntheticTasteWorld world)
    {
        double total = 0;
        foreach (var u in users)
        {
            var relevant = world.Interactions[u].ToHashSet();
            total += recommended(u).Count(relevant.Contains) / (double)relevant.Count;
        }
        return total / users.Length;
    }
}
