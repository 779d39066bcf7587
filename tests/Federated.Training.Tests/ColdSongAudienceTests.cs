using Federated.Data.Evaluation;
using Federated.Data.Reading;
using Federated.Experiments;
using Federated.Synthetic;
using Federated.Training.Tests.Support;

namespace Federated.Training.Tests;

/// <summary>The cold-song audience task on a small world: its truth, and its baselines over the pool of users.</summary>
public sealed class ColdSongAudienceTests : IDisposable
{
    private readonly string _folder = TestWorlds.NewFolder("audience");

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task The_audience_truth_holds_only_cold_songs_and_pool_users_and_the_oracle_beats_random_vectors()
    {
        var world = await TestWorlds.GenerateAsync(TestWorlds.Small, _folder);
        var harness = await EvaluationHarness.ForSyntheticColdUsersAsync(world);
        var truth = await GroundTruth.LoadAsync(world);
        // The pool: the cold-start users (new to M) and some users M trained on.
        var interactions = await TableReader.OpenFromSchemaFileAsync(SyntheticWorldLayout.InteractionsSchema(world));
        Dictionary<string, HashSet<string>> played;
        await using (interactions) played = await Rankings.RelevantSetsAsync(interactions);
        var pool = harness.UsersToRank.Concat(played.Keys.Order(StringComparer.Ordinal).Take(200)).Distinct().ToArray();
        var audience = await harness.ColdSongAudienceAsync(pool);

        Assert.Equal(truth.ColdSongs.Count, audience.Songs.Count);
        Assert.Equal(pool.Order(StringComparer.Ordinal), audience.Pool);
        Assert.True(audience.Truth.Count >= 20, $"only {audience.Truth.Count} cold songs have an audience among {pool.Length} users");
        var members = pool.ToHashSet(StringComparer.Ordinal);
        Assert.All(audience.Truth, p =>
        {
            Assert.True(truth.IsColdSong(p.Key));
            Assert.NotEmpty(p.Value);
            Assert.All(p.Value, u => Assert.Contains(u, members));
        });

        // Most active in M's training data first: the same list for every song, in falling activity; users new to M last.
        var active = audience.MostActiveUsers(50);
        var first = active[audience.Songs[0]];
        Assert.Equal(50, first.Count);
        Assert.All(active.Values, list => Assert.Same(first, list));
        var activity = first.Select(u => played.TryGetValue(u, out var songs) ? songs.Count : 0).ToArray();
        Assert.Equal(activity.OrderDescending(), activity);
        Assert.True(activity[^1] > 0, "a user new to M ranked among the 50 most active of a pool with 200 known users");
        Assert.DoesNotContain(first, u => harness.UsersToRank.Contains(u));

        // Random song vectors against (here random) user vectors: seeded, pool users only, n per song.
        const int d = 8;
        var random = new Random(3);
        var vectors = pool.ToDictionary(u => u, _ => (ReadOnlyMemory<float>)Enumerable.Range(0, d).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(),
            StringComparer.Ordinal);
        var lists = audience.RandomVectors(50, d, u => vectors[u], seed: 17);
        Assert.Equal(lists[audience.Songs[3]], audience.RandomVectors(50, d, u => vectors[u], seed: 17)[audience.Songs[3]]);
        Assert.NotEqual(lists[audience.Songs[3]], audience.RandomVectors(50, d, u => vectors[u], seed: 18)[audience.Songs[3]]);
        Assert.All(lists.Values, list => { Assert.Equal(50, list.Distinct().Count()); Assert.All(list, u => Assert.Contains(u, members)); });

        var sets = audience.Truth.ToDictionary(p => p.Key, p => p.Value.ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
        var oracle = RecallMetrics.Evaluate("oracle", audience.Oracle(50), sets)[50].HitRate;
        var chance = RecallMetrics.Evaluate("random vectors", lists, sets)[50].HitRate;
        Assert.True(oracle > chance + 0.1, $"oracle HR@50 {oracle:0.000}, random vectors {chance:0.000}");
    }
}
