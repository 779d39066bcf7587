using System.Diagnostics;
using Federated.Learning.Crypto;
using Federated.Learning.Crypto.Ckks;
using Federated.Learning.Model;
using Federated.Learning.Split;
using Federated.Learning.Tests.Support;
using static TorchSharp.torch;

namespace Federated.Learning.Benchmarks;

/// <summary>
/// Trains the same model on the synthetic taste world three ways with equal seeds and label noise off (plaintext
/// reference split, CKKS split, centralised) and prints cold-user recall@20 of each next to popularity and random,
/// and the encrypted-vs-plaintext gap (docs/protocol.md §5.1's "recall metrics agree").
/// </summary>
internal static class QualityComparison
{
    private const int Users = 2400, ColdUsers = 400, Songs = 200, K = 16, D = 16, Batch = 256, TopK = 20;

    public static void Run(int steps)
    {
        var task = new SyntheticTasteTask(Users, ColdUsers, Songs, interactionsPerUser: 8, seed: 5);
        var (world, trainUsers, coldUsers, counts, pairs, items) = (task.World, task.TrainUsers, task.ColdUsers, task.SongCounts, task.TrainingPairs, task.Items);
        bool KnownToM(int user) => task.KnownToM(user);
        using var catalog = task.CreateCatalog();
        var towerOptions = new ExternalTowerOptions
        {
            CategoricalCardinalities = Enumerable.Repeat(SyntheticTasteWorld.ExternalCardinality, SyntheticTasteWorld.ExternalColumns).ToArray(),
            EmbeddingWidth = 8, DenseWidth = SyntheticTasteWorld.DenseWidth, HiddenWidths = new[] { 64 }, OutputWidth = K,
        };
        var topOptions = new MusicTopOptions
        {
            InteractiveWidth = D, Items = items, Temperature = 0.1,
            Users = new MusicUserOptions { CategoricalCardinalities = Enumerable.Repeat(SyntheticTasteWorld.MusicCardinality, SyntheticTasteWorld.MusicColumns).ToArray() },
        };
        var job = new SplitTrainingOptions
        {
            JobId = "quality", BottomWidth = K, InteractiveWidth = D, InteractiveLearningRate = 0.5,
            AlignedRows = trainUsers.Length, Insecure = InsecureAllowances.PlaintextReference | InsecureAllowances.NoLabelNoise,
        };
        var batches = new List<(ExternalBatch, MusicBatch)>();
        var random = new Random(3);
        for (int step = 0; step < steps; step++)
        {
            var batch = Enumerable.Range(0, Batch).Select(_ => pairs[random.Next(pairs.Count)]).ToArray();
            var users = batch.Select(p => p.User).ToArray();
            batches.Add((world.ExternalRows(users), world.MusicRows(users, batch.Select(p => p.Song).ToArray(), KnownToM)));
        }
        var coldExternal = world.ExternalRows(coldUsers);
        var coldMusic = world.MusicRows(coldUsers, new long[coldUsers.Length], KnownToM);
        Console.WriteLine($"quality on the synthetic taste world: {Users - ColdUsers} training users, {ColdUsers} cold users (new to M), " +
                          $"{Songs} songs, k={K}, d={D}, batch {Batch}, {steps} steps, label noise off, equal seeds");

        double Split(string name, IExternalPartyCryptoSession eSession, IMusicPartyCryptoSession mSession)
        {
            var watch = Stopwatch.StartNew();
            manual_seed(1);
            var tower = new ExternalBottomTower(towerOptions);
            manual_seed(2);
            var top = new MusicTopModel(topOptions);
            using var e = new ExternalPartyRole(job, tower, p => optim.Adam(p, 0.01), eSession, 11);
            using var m = new MusicPartyRole(job, top, catalog, p => optim.Adam(p, 0.01), mSession, 12);
            InProcessSplitExchange.Setup(e, m);
            foreach (var (eb, mb) in batches)
            {
                using var scope = NewDisposeScope();
                InProcessSplitExchange.Step(e, m, eb, mb);
            }
            using var userVectors = InProcessSplitExchange.Infer(e, m, coldExternal, coldMusic.UserCategorical, coldMusic.UserKnown);
            double recall = Recall(userVectors, top, catalog, coldUsers, world);
            Console.WriteLine($"  {name,-32} recall@{TopK} {recall:F4}   ({watch.Elapsed.TotalSeconds:F0} s)");
            return recall;
        }

        var plaintext = new PlaintextReferenceOptions { AcknowledgeInsecure = true };
        double plain = Split("split, plaintext reference", new PlaintextReferenceExternalSession(plaintext with { Seed = 1 }),
            new PlaintextReferenceMusicSession(plaintext with { Seed = 2 }));
        double ckks = Split("split, CKKS", new CkksExternalSession(new CkksSessionOptions()), new CkksMusicSession(new CkksSessionOptions(), K));

        manual_seed(1);
        var centralTower = new ExternalBottomTower(towerOptions);
        manual_seed(2);
        var centralTop = new MusicTopModel(topOptions);
        double central;
        using (var model = new CentralisedTwoTowerModel(centralTower, centralTop, catalog,
                   randn(K, D, dtype: ScalarType.Float64) * Math.Sqrt(job.InitVariance), p => optim.Adam(p, 0.01), p => optim.Adam(p, 0.01),
                   job.InteractiveLearningRate))
        {
            foreach (var (eb, mb) in batches)
            {
                using var scope = NewDisposeScope();
                model.Step(eb, mb);
            }
            using var userVectors = model.UserVectors(coldExternal, coldMusic);
            central = Recall(userVectors, centralTop, catalog, coldUsers, world);
        }
        Console.WriteLine($"  {"centralised (other W init)",-32} recall@{TopK} {central:F4}");

        var popular = Enumerable.Range(0, Songs).OrderByDescending(s => counts[s]).Take(TopK).ToHashSet();
        double popularity = coldUsers.Average(u => world.Interactions[u].Distinct().Count(s => popular.Contains((int)s)) / (double)world.Interactions[u].Distinct().Count());
        Console.WriteLine($"  {"popularity",-32} recall@{TopK} {popularity:F4}");
        Console.WriteLine($"  {"random",-32} recall@{TopK} {(double)TopK / Songs:F4}");
        Console.WriteLine($"  encrypted vs plaintext reference: {100 * Math.Abs(ckks - plain) / plain:F2}% relative difference in recall@{TopK}");
    }

    private static double Recall(Tensor userVectors, MusicTopModel top, SongCatalog catalog, int[] coldUsers, SyntheticTasteWorld world)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var itemVectors = top.ItemVectors(arange(Songs, dtype: ScalarType.Int64), catalog);
        var best = userVectors.mm(itemVectors.t()).topk(TopK, dim: 1).indexes.data<long>().ToArray();
        double total = 0;
        for (int r = 0; r < coldUsers.Length; r++)
        {
            var relevant = world.Interactions[coldUsers[r]].ToHashSet();
            total += best.Skip(r * TopK).Take(TopK).Count(relevant.Contains) / (double)relevant.Count;
        }
        return total / coldUsers.Length;
    }
}
