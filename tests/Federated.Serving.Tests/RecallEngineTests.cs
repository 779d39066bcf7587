using Federated.Serving.Publication;
using Federated.Serving.Recall;

namespace Federated.Serving.Tests;

[Trait("Category", "Unit")]
public sealed class RecallEngineTests : IDisposable
{
    private const int D = 8;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "federated-recall-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>Unit vectors around <paramref name="clusters"/> centres; ids "{prefix}{cluster}-{i}".</summary>
    private static (string[] Keys, float[] Rows) Clustered(string prefix, int clusters, int perCluster, int seed)
    {
        var random = new Random(seed);
        var centres = new Random(1); // the same centres for songs and users
        var centre = Enumerable.Range(0, clusters).Select(_ => Enumerable.Range(0, D).Select(_ => (float)(centres.NextDouble() * 2 - 1)).ToArray()).ToArray();
        var keys = new List<string>();
        var rows = new List<float>();
        for (int c = 0; c < clusters; c++)
            for (int i = 0; i < perCluster; i++)
            {
                var v = centre[c].Select(x => x + (float)(random.NextDouble() - 0.5) * 0.2f).ToArray();
                var norm = MathF.Sqrt(v.Sum(x => x * x));
                rows.AddRange(v.Select(x => x / norm));
                keys.Add($"{prefix}{c}-{i}");
            }
        return (keys.ToArray(), rows.ToArray());
    }

    private EmbeddingVersionStore StoreWith(params (string SongPrefix, string UserPrefix)[] versions)
    {
        var store = new EmbeddingVersionStore(_folder);
        foreach (var (songs, users) in versions)
        {
            var (itemKeys, items) = Clustered(songs, 4, 50, 11);
            var (userKeys, userRows) = Clustered(users, 4, 25, 12);
            store.Publish(EmbeddingStoreTests.Manifest(D) with { Dimensions = D }, itemKeys, items, userKeys, userRows);
        }
        return store;
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    [Fact]
    public void A_query_vector_built_on_the_answering_version_is_searched_as_a_song_of_it_is()
    {
        var store = StoreWith(("song", "user"), ("tune", "listener"));
        using var engine = new RecallEngine(store);
        string? builtOn = null;
        float[] Query(EmbeddingSet set)
        {
            builtOn = set.Manifest.Version;
            set.TryGetItem(set.ItemKeysInOrder[0].StartsWith("song", StringComparison.Ordinal) ? "song2-7" : "tune2-7", out var v);
            return v.ToArray();
        }

        // The vector of a version's own song answers as that song does, the song itself first (a new song has no id to leave out).
        var similar = engine.SimilarToVector(Query, 6, "v1");
        Assert.Equal("v1", builtOn);
        Assert.Equal("song2-7", similar.Value[0].Id);
        Assert.Equal(1f, similar.Value[0].Score, 4);
        Assert.Equal(engine.SimilarSongs("song2-7", 5, "v1").Value.Select(s => s.Id), similar.Value.Skip(1).Select(s => s.Id));

        var audience = engine.TargetAudienceForVector(Query, 15, similarSongs: 6);
        Assert.Equal("v2", builtOn); // the serving version built the vector and answered
        Assert.Equal("v2", audience.ModelVersion);
        // By hand: the query (weight 1) and its 6 nearest songs (weight: similarity) averaged into one query, users by
        // their dot product with it; tune2-7, whose vector the query is, is the seed itself and not one of its neighbours.
        var set = store.Open("v2");
        set.TryGetItem("tune2-7", out var q);
        var query = q.ToArray();
        float SongDot(string key) { Assert.True(set.TryGetItem(key, out var v)); return Dot(query, v); }
        var mean = (float[])query.Clone();
        double total = 1;
        foreach (var song in set.ItemKeysInOrder.Where(k => k != "tune2-7").OrderByDescending(SongDot).Take(6))
        {
            set.TryGetItem(song, out var v);
            float w = Math.Max(0f, SongDot(song));
            for (int i = 0; i < D; i++) mean[i] += w * v[i];
            total += w;
        }
        for (int i = 0; i < D; i++) mean[i] = (float)(mean[i] / total);
        var best = set.UserKeysInOrder.Select(u => { set.TryGetUser(u, out var v); return new KeyValuePair<string, float>(u, Dot(mean, v)); })
            .OrderByDescending(p => p.Value).Take(15).ToArray();
        Assert.Equal(best.Select(p => p.Key).Take(10), audience.Value.Select(u => u.Id).Take(10));
        Assert.All(audience.Value.Zip(best), p => Assert.Equal(p.Second.Value, p.First.Score, 4));
        Assert.All(audience.Value, u => Assert.StartsWith("listener2-", u.Id));
        // A song M holds, sent by its features, gets the audience its id gets.
        Assert.Equal(engine.TargetAudience("tune2-7", 15, 6, "v2").Value.Select(u => u.Id), audience.Value.Select(u => u.Id));

        Assert.Throws<InvalidOperationException>(() => engine.SimilarToVector(_ => new float[D - 1], 3));
        Assert.Throws<InvalidOperationException>(() => engine.SimilarToVector(_ => Enumerable.Repeat(float.NaN, D).ToArray(), 3));
        Assert.Equal("k", Assert.Throws<ArgumentException>(() => engine.SimilarToVector(Query, 0)).ParamName);
        Assert.Equal("similar_songs", Assert.Throws<ArgumentException>(() => engine.TargetAudienceForVector(Query, 5, 999)).ParamName);
    }

    [Fact]
    public void Similar_songs_are_the_exact_nearest_by_dot_product_without_the_song_itself()
    {
        var store = StoreWith(("song", "user"));
        using var engine = new RecallEngine(store);
        var set = store.OpenCurrent()!;
        set.TryGetItem("song2-7", out var query);
        var q = query.ToArray();
        var expected = set.ItemKeysInOrder.Where(k => k != "song2-7")
            .Select(k => { set.TryGetItem(k, out var v); return (k, Dot(q, v)); })
            .OrderByDescending(p => p.Item2).Take(10).Select(p => p.k).ToArray();

        var answer = engine.SimilarSongs("song2-7", 10);

        Assert.Equal("v1", answer.ModelVersion);
        Assert.Equal(expected, answer.Value.Select(s => s.Id));
        Assert.DoesNotContain(answer.Value, s => s.Id == "song2-7");
        Assert.All(answer.Value, s => Assert.StartsWith("song2-", s.Id));
    }

    [Fact]
    public void The_audience_of_a_song_is_drawn_from_the_users_near_its_neighbours()
    {
        var store = StoreWith(("song", "user"));
        using var engine = new RecallEngine(store);
        var answer = engine.TargetAudience("song1-3", 20, similarSongs: 10);
        Assert.Equal(20, answer.Value.Count);
        Assert.All(answer.Value, u => Assert.StartsWith("user1-", u.Id)); // the song's cluster
        Assert.True(answer.Value.Zip(answer.Value.Skip(1)).All(p => p.First.Score >= p.Second.Score), "scores must be descending");
    }

    [Fact]
    public void Audiences_add_each_users_prior_to_the_dot_product_and_the_prior_file_is_checked()
    {
        const int d = 4;
        var items = new[] { "a", "b" };
        float[] itemVectors = [1, 0, 0, 0, 0, 1, 0, 0];
        var users = new[] { "close", "closer", "active" };
        // "closer" is nearest to song a, "active" furthest, but "active" played much more at M.
        float[] userVectors = [0.8f, 0.6f, 0, 0, 0.9f, 0.43589f, 0, 0, 0.5f, 0.86603f, 0, 0];
        float[] priors = [0f, 0.05f, 0.5f];
        var store = new EmbeddingVersionStore(Path.Combine(_folder, "priors"));
        store.Publish(EmbeddingStoreTests.Manifest(d) with { Dimensions = d }, items, itemVectors, users, userVectors);
        store.Publish(EmbeddingStoreTests.Manifest(d) with { Dimensions = d }, items, itemVectors, users, userVectors, userPriors: priors);
        using var engine = new RecallEngine(store);

        var plain = engine.TargetAudience("a", 3, similarSongs: 0, version: "v1").Value;
        Assert.Equal(["closer", "close", "active"], plain.Select(u => u.Id));
        var withPriors = engine.TargetAudience("a", 3, similarSongs: 0, version: "v2").Value;
        Assert.Equal(["active", "closer", "close"], withPriors.Select(u => u.Id));
        Assert.Equal(0.5f + 0.5f, withPriors[0].Score, 4);
        Assert.Equal(0.9f + 0.05f, withPriors[1].Score, 4);

        // The prior file is hashed like the others, and its length must match the users.
        var file = Path.Combine(store.Open("v2").Folder, "users.prior.f32");
        File.WriteAllBytes(file, new byte[12]);
        Assert.Contains("users.prior.f32 does not match the hash", Assert.Throws<InvalidDataException>(() => EmbeddingSet.Open(Path.GetDirectoryName(file)!)).Message);
        Assert.Contains("2 values for 3 users", Assert.Throws<ArgumentException>(() =>
            store.Publish(EmbeddingStoreTests.Manifest(d) with { Dimensions = d }, items, itemVectors, users, userVectors, userPriors: new float[] { 0, 1 })).Message);
        Assert.Contains("not finite", Assert.Throws<ArgumentException>(() =>
            store.Publish(EmbeddingStoreTests.Manifest(d) with { Dimensions = d }, items, itemVectors, users, userVectors, userPriors: new[] { 0f, float.NaN, 1f })).Message);
    }

    [Fact]
    public void Recall_for_users_ranks_songs_by_dot_product_and_names_an_unknown_user()
    {
        var store = StoreWith(("song", "user"));
        using var engine = new RecallEngine(store);
        var set = store.OpenCurrent()!;
        var answer = engine.RecallForUsers(["user0-1", "user3-2"], 5);
        Assert.Equal(2, answer.Value.Count);
        foreach (var (user, songs) in answer.Value)
        {
            set.TryGetUser(user, out var u);
            var uv = u.ToArray();
            var best = set.ItemKeysInOrder.Select(k => { set.TryGetItem(k, out var v); return (k, Dot(uv, v)); })
                .OrderByDescending(p => p.Item2).Take(5).Select(p => p.k);
            Assert.Equal(best, songs.Select(s => s.Id));
        }
        var unknown = Assert.Throws<KeyNotFoundException>(() => engine.RecallForUsers(["user0-1", "nobody"], 5));
        Assert.Contains("user_ids[1] = 'nobody'", unknown.Message);
    }

    [Theory]
    [InlineData(0, 1, "k")]
    [InlineData(-3, 1, "k")]
    [InlineData(1001, 1, "k")]
    [InlineData(5, 0, "user_ids")]
    [InlineData(5, 4097, "user_ids")]
    [InlineData(1000, 21, "user_ids")]
    [InlineData(5, 2, "user_ids[1]")]
    public void Bad_recall_requests_name_the_field(int k, int users, string field)
    {
        using var engine = new RecallEngine(StoreWith(("song", "user")));
        var ids = Enumerable.Range(0, users).Select(_ => "user0-1").ToArray();
        var error = Assert.Throws<ArgumentException>(() => engine.RecallForUsers(ids, k));
        Assert.Equal(field, error.ParamName);
    }

    [Fact]
    public void Unknown_songs_versions_and_an_empty_store_are_refused_clearly()
    {
        using (var empty = new RecallEngine(new EmbeddingVersionStore(_folder + "-empty")))
            Assert.Contains("no model version is serving", Assert.Throws<InvalidOperationException>(() => empty.SimilarSongs("s", 1)).Message);
        using var engine = new RecallEngine(StoreWith(("song", "user")));
        Assert.Contains("song 'nope' is not in model version v1", Assert.Throws<KeyNotFoundException>(() => engine.SimilarSongs("nope", 3)).Message);
        Assert.Contains("unknown model version 'v7'", Assert.Throws<KeyNotFoundException>(() => engine.SimilarSongs("song0-0", 3, "v7")).Message);
        Assert.Equal("similar_songs", Assert.Throws<ArgumentException>(() => engine.TargetAudience("song0-0", 5, similarSongs: 999)).ParamName);
        Assert.Equal("song_id", Assert.Throws<ArgumentException>(() => engine.SimilarSongs("", 3)).ParamName);
    }

    [Fact]
    public void An_explicit_older_version_answers_from_that_version()
    {
        var store = StoreWith(("old", "olduser"), ("new", "newuser"));
        using var engine = new RecallEngine(store);
        Assert.Equal("v2", engine.SimilarSongs("new0-0", 3).ModelVersion);
        var old = engine.SimilarSongs("old0-0", 3, "v1");
        Assert.Equal("v1", old.ModelVersion);
        Assert.All(old.Value, s => Assert.StartsWith("old", s.Id));
    }

    [Fact]
    public void Rollbacks_under_concurrent_queries_never_give_an_answer_that_mixes_versions()
    {
        // v1's songs and users are "a..." and v2's "b...": an answer mixing versions would hold ids of both, or ids
        // that do not match the version it names.
        var store = StoreWith(("a", "ua"), ("b", "ub"));
        using var engine = new RecallEngine(store);
        using var stop = new CancellationTokenSource();
        var answers = 0;
        var misses = 0;
        var problems = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var readers = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            var random = new Random(t);
            while (!stop.IsCancellationRequested)
            {
                // Ask for a song of whichever version serves; a song missing from the other version is refused, never mixed.
                var song = random.Next(2) == 0 ? "a1-1" : "b1-1";
                try
                {
                    var answer = engine.TargetAudience(song, 10, 5);
                    var prefix = answer.ModelVersion == "v1" ? "ua" : "ub";
                    if (!song.StartsWith(prefix[1..], StringComparison.Ordinal)) problems.Enqueue($"{song} answered by {answer.ModelVersion}");
                    if (answer.Value.Any(u => !u.Id.StartsWith(prefix, StringComparison.Ordinal)))
                        problems.Enqueue($"{answer.ModelVersion} answer holds {string.Join(",", answer.Value.Select(u => u.Id))}");
                    Interlocked.Increment(ref answers);
                }
                catch (KeyNotFoundException) { Interlocked.Increment(ref misses); /* the song is not in the version serving at that moment */ }
            }
        }) { IsBackground = true }).ToArray();
        foreach (var reader in readers) reader.Start();
        for (int i = 0; i < 40; i++)
        {
            store.Rollback(i % 2 == 0 ? "v1" : "v2");
            Thread.Sleep(5);
        }
        stop.Cancel();
        foreach (var reader in readers) Assert.True(reader.Join(TimeSpan.FromSeconds(30)), "a query did not finish");
        Assert.True(problems.IsEmpty, string.Join("\n", problems.Take(5)));
        Assert.True(answers > 40, $"only {answers} answers ({misses} refused) during 40 switches");
    }

    public void Dispose()
    {
        foreach (var folder in new[] { _folder, _folder + "-empty" })
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }
}
