using System.Security.Cryptography;
using System.Text;
using Federated.Learning;
using Federated.Training;
using Federated.Learning.Crypto;
using Federated.Learning.Model;
using Federated.Training.Data;
using Federated.Training.Jobs;
using TorchSharp;
using static TorchSharp.torch;

namespace Federated.Experiments;

/// <summary>Rankings of one baseline for the evaluation harness, with its wall time.</summary>
public sealed record BaselineRankings(string Method, IReadOnlyDictionary<string, IReadOnlyList<string>> Rankings, TimeSpan WallTime)
{
    /// <summary>
    /// The baseline's vectors, shaped like a published version: every song, and the users it can place (those it
    /// trained on, with their features, and the evaluation users), so its song audiences are computed as the served
    /// model's are.
    /// </summary>
    public TrainedEmbeddings? Embeddings { get; init; }
}

/// <summary>
/// The non-federated rows of the results table, trained on the same party tables, with the same model shapes, the
/// same schedule (epochs, batch size, optimisers) and M's same batch builder and ranker as the federated jobs:
/// <list type="bullet">
/// <item>centralised: E's and M's features pooled in one process (no split, no encryption, no label DP) on the users
/// both know, through <see cref="CentralisedTwoTowerModel"/>: the upper bound;</item>
/// <item>M alone: M's top model with z_E = 0 on all users M can train on; new users get M's "unknown user" vector.</item>
/// </list>
/// </summary>
public static class BaselineTrainers
{
    public static async Task<BaselineRankings> CentralisedAsync(string externalFolder, string musicFolder, TrainingJobOptions options,
        IReadOnlyList<string> evaluationUsers, ulong seed, IProgress<TrainingProgress>? progress = null, CancellationToken ct = default)
    {
        TorchRuntime.Initialise(options.TorchThreads);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var external = await ExternalPartyData.OpenAsync(externalFolder, ct).ConfigureAwait(false);
        var music = await MusicPartyData.LoadAsync(musicFolder, ct).ConfigureAwait(false);
        var externalRow = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < external.Keys.Length; i++) externalRow[external.Keys[i]] = i;
        // Pooled: the users both know, in a fixed order (no PSI needed when the data sits in one place).
        var users = music.TrainableUsers.Where(externalRow.ContainsKey).Order(StringComparer.Ordinal).ToArray();
        await external.FitAndEncodeAsync(users.Select(u => (long)externalRow[u]).ToHashSet(), ct).ConfigureAwait(false);
        var features = external.Features!;

        var schedule = new TrainingSchedule(LocalSeed(seed), users.Length, options.BatchSize, options.Epochs);
        var batches = new MusicBatchBuilder(music, users, seed, options.MusicUserFeatureDropout, options.Model);
        using var catalog = ModelShapes.Catalog(music, options.Model);
        var tower = ModelShapes.Seeded((long)(seed & 0x7FFFFFFF), () => new ExternalBottomTower(ModelShapes.ExternalTower(features, options.Model)));
        var top = ModelShapes.Seeded((long)((seed >> 1) & 0x7FFFFFFF), () => new MusicTopModel(ModelShapes.MusicTop(music, options.Model)));
        MusicPretraining.Run(top, catalog, music, options, seed, options.Model.MusicPretrainEpochs, progress, "centralised", ct);
        int k = options.Model.BottomWidth, d = options.Model.InteractiveWidth;
        using var generator = new Generator(seed);
        using var initialW = randn(new long[] { k, d }, ScalarType.Float64, generator: generator).TimesInPlace(Math.Sqrt(2.0 / (k + d)));
        using var negatives = new Generator(seed ^ 0x5DEECE66DUL);
        using var model = new CentralisedTwoTowerModel(tower, top, catalog, initialW,
            ModelShapes.Adam(options.Model.TowerLearningRate), ModelShapes.Adam(options.Model.TopLearningRate), options.Model.InteractiveLearningRate);
        for (ulong step = 0; step < schedule.TotalSteps; step++)
        {
            ct.ThrowIfCancellationRequested();
            var rows = schedule.Rows(step);
            var featureRows = rows.Select(r => externalRow[users[r]]).ToArray();
            var result = model.Step(new ExternalBatch(rows.Length, features.CategoricalRows(featureRows), features.DenseRows(featureRows)),
                batches.Batch(schedule.EpochOf(step), rows), negatives);
            progress?.Report(new TrainingProgress("centralised", "training", step + 1, schedule.TotalSteps, result.Loss));
        }

        var ranker = new SongRanker(top, catalog, music, options.RankingDepth);
        var known = evaluationUsers.Where(externalRow.ContainsKey).ToArray();
        var rankings = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        int userColumns = top.Options.Users?.CategoricalCardinalities.Count ?? 0;
        var userKeys = new List<string>();
        var userVectors = new List<float>();
        for (int start = 0; start < known.Length; start += options.BatchSize)
        {
            var part = known[start..Math.Min(known.Length, start + options.BatchSize)];
            var rows = part.Select(u => externalRow[u]).ToArray();
            var musicBatch = top.Options.Users is null
                ? new MusicBatch(part.Length, new long[part.Length])
                : new MusicBatch(part.Length, new long[part.Length], new long[(long)part.Length * userColumns], new bool[part.Length]);
            using var scope = NewDisposeScope();
            var vectors = model.UserVectors(new ExternalBatch(part.Length, features.CategoricalRows(rows), features.DenseRows(rows)), musicBatch);
            var lists = ranker.TopK(vectors);
            for (int i = 0; i < part.Length; i++) rankings[part[i]] = lists[i];
            userKeys.AddRange(part);
            userVectors.AddRange(TrainedEmbeddings.Rows(vectors));
        }
        // The users it trained on, with both parties' features (as the federated job publishes its aligned users).
        for (int start = 0; start < users.Length; start += options.BatchSize)
        {
            int count = Math.Min(options.BatchSize, users.Length - start);
            var rows = Enumerable.Range(start, count).ToArray();
            var featureRows = rows.Select(r => externalRow[users[r]]).ToArray();
            var (categorical, knownToM) = batches.UserFeatures(rows);
            using var scope = NewDisposeScope();
            var vectors = model.UserVectors(new ExternalBatch(count, features.CategoricalRows(featureRows), features.DenseRows(featureRows)),
                new MusicBatch(count, new long[count], categorical, knownToM));
            userKeys.AddRange(users.AsSpan(start, count));
            userVectors.AddRange(TrainedEmbeddings.Rows(vectors));
        }
        return new BaselineRankings("centralised", rankings, clock.Elapsed) { Embeddings = Embeddings(top, catalog, music, musicFolder, userKeys, userVectors, options.Model.Temperature) };
    }

    public static async Task<BaselineRankings> MusicAloneAsync(string musicFolder, TrainingJobOptions options, IReadOnlyList<string> evaluationUsers, ulong seed,
        IProgress<TrainingProgress>? progress = null, CancellationToken ct = default)
    {
        TorchRuntime.Initialise(options.TorchThreads);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var music = await MusicPartyData.LoadAsync(musicFolder, ct).ConfigureAwait(false);
        using var catalog = ModelShapes.Catalog(music, options.Model);
        var top = ModelShapes.Seeded((long)((seed >> 1) & 0x7FFFFFFF), () => new MusicTopModel(ModelShapes.MusicTop(music, options.Model)));
        // As long as M trains in the federated job (its pretraining plus the federated epochs), on all its users.
        MusicPretraining.Run(top, catalog, music, options, seed, options.Model.MusicPretrainEpochs + options.Epochs, progress, "M alone", ct);
        int d = options.Model.InteractiveWidth;

        var ranker = new SongRanker(top, catalog, music, options.RankingDepth);
        // Users new to M: M has nothing but its "unknown user" vector, so every one of them gets the same list.
        var list = ranker.RankUnknownUsers(DenseMatrix.Zeros(1, d))[0];
        var newUsers = evaluationUsers.Distinct(StringComparer.Ordinal).ToArray();
        var rankings = newUsers.ToDictionary(u => u, _ => list, StringComparer.Ordinal);

        // Vectors: the users M trained on from its own features (z_E = 0), the new ones all M's "unknown user" vector.
        var trained = music.TrainableUsers.ToArray();
        var features = new MusicBatchBuilder(music, trained, seed, 0, options.Model);
        var userKeys = new List<string>();
        var userVectors = new List<float>();
        using (no_grad())
        {
            for (int start = 0; start < trained.Length; start += options.BatchSize)
            {
                int count = Math.Min(options.BatchSize, trained.Length - start);
                var (categorical, known) = features.UserFeatures(Enumerable.Range(start, count).ToArray());
                using var scope = NewDisposeScope();
                var zE = zeros(new long[] { count, d }, ScalarType.Float32);
                userKeys.AddRange(trained.AsSpan(start, count));
                userVectors.AddRange(TrainedEmbeddings.Rows(top.UserVectors(zE, new MusicBatch(count, new long[count], categorical, known))));
            }
            if (newUsers.Length > 0)
            {
                var (categorical, known) = ranker.UnknownUsers(1);
                using var scope = NewDisposeScope();
                var unknown = TrainedEmbeddings.Rows(top.UserVectors(zeros(new long[] { 1, d }, ScalarType.Float32), new MusicBatch(1, new long[1], categorical, known)));
                foreach (var user in newUsers)
                {
                    userKeys.Add(user);
                    userVectors.AddRange(unknown);
                }
            }
        }
        return new BaselineRankings("M alone (no E features)", rankings, clock.Elapsed) { Embeddings = Embeddings(top, catalog, music, musicFolder, userKeys, userVectors, options.Model.Temperature) };
    }

    private static TrainedEmbeddings Embeddings(MusicTopModel top, SongCatalog catalog, MusicPartyData music, string musicFolder, List<string> userKeys, List<float> userVectors, double temperature)
    {
        var (itemKeys, items, dimensions) = TrainedEmbeddings.AllSongs(top, catalog, music);
        return new TrainedEmbeddings(dimensions, itemKeys, items, [.. userKeys], [.. userVectors], TrainedEmbeddings.FingerprintSchemas(musicFolder))
        {
            NewSongKeys = TrainedEmbeddings.NewSongs(music),
            UserPriors = TrainedEmbeddings.Priors(music, userKeys, temperature),
        };
    }

    /// <summary>A 32-byte batch-order seed for a single-process baseline (no joint seed needed).</summary>
    private static byte[] LocalSeed(ulong seed) => SHA256.HashData(Encoding.UTF8.GetBytes($"federated-training/baseline-order/{seed}"));
}
