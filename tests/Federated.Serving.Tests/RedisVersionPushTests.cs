using Federated.Tests.Shared;
using Federated.Serving.Publication;
using Federated.Serving.Recall;
using Federated.Serving.Redis;

namespace Federated.Serving.Tests;

/// <summary>
/// A published version pushed to a real redis-server: every user's recall list and each new song's audience read back
/// equal to what the recall API answers on that version; a push that fails half-way leaves the previous version current.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisVersionPushTests(RedisServer redis) : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "federated-redis-push-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose() { if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true); }

    private static void Publish(EmbeddingVersionStore store, string job, int users, int seed)
    {
        const int d = 8;
        var random = new Random(seed);
        var items = Enumerable.Range(0, 60).Select(i => $"song-{i}").ToArray();
        var userKeys = Enumerable.Range(0, users).Select(i => $"user-{i}").ToArray();
        float[] Vectors(int rows) => Enumerable.Range(0, rows * d).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        store.Publish(new EmbeddingManifest
        {
            TrainingJob = job, AttemptId = "a-" + job, Round = 1, Dimensions = d, Items = 0, Users = 0, SchemaFingerprint = "s",
        }, items, Vectors(items.Length), userKeys, Vectors(userKeys.Length));
    }

    [Fact]
    public async Task A_pushed_version_reads_back_as_the_recall_api_answers_and_a_failed_push_keeps_the_previous_one()
    {
        var store = new EmbeddingVersionStore(_folder);
        Publish(store, "first", 30, 1);
        using var engine = new RecallEngine(store);
        var publisher = new RedisRecallPublisher(redis.Connection, prefix: "push", ttl: TimeSpan.FromMinutes(10));
        var result = await RedisVersionPush.PushAsync(engine, publisher, "v1", ["song-3", "song-7", "not-in-version"], 10, 5, CancellationToken.None);
        Assert.Equal(new RedisPushResult("v1", 30, 2), result);
        Assert.Equal("v1", await publisher.CurrentVersionAsync());

        var api = engine.RecallForUsers(["user-4", "user-29"], 10, "v1").Value;
        foreach (var (user, songs) in api)
        {
            var (version, list) = (await publisher.ReadRecallAsync(user))!.Value;
            Assert.Equal("v1", version);
            Assert.Equal(songs.Select(s => s.Id), list.Keys);
            Assert.Equal(songs.Select(s => s.Score), list.Scores);
        }
        var audience = engine.TargetAudience("song-7", 5, 20, "v1").Value;
        Assert.Equal(audience.Select(a => a.Id), (await publisher.ReadAudienceAsync("song-7"))!.Value.List.Keys);
        Assert.Null(await publisher.ReadAudienceAsync("song-1")); // not a new song

        // The next version, pushed into a server that refuses writes half-way.
        Publish(store, "second", 20_000, 2);
        var used = long.Parse((await redis.Server.InfoAsync("memory")).SelectMany(g => g).First(p => p.Key == "used_memory").Value, System.Globalization.CultureInfo.InvariantCulture);
        await redis.Server.ConfigSetAsync("maxmemory-policy", "noeviction");
        await redis.Server.ConfigSetAsync("maxmemory", (used + 300_000).ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            var e = await Assert.ThrowsAsync<RedisPublishException>(() => RedisVersionPush.PushAsync(engine, publisher, "v2", [], 10, 5, CancellationToken.None));
            Assert.Contains("version v2", e.Message);
            Assert.Equal("v1", await publisher.CurrentVersionAsync());
            Assert.Equal("v1", (await publisher.ReadRecallAsync("user-4"))!.Value.Version);
        }
        finally
        {
            await redis.Server.ConfigSetAsync("maxmemory", "0");
        }
    }
}
