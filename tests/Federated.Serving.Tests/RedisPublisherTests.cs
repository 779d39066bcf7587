using Federated.Tests.Shared;
using Federated.Serving.Redis;
using StackExchange.Redis;

namespace Federated.Serving.Tests;

[Trait("Category", "Integration")]
[Collection(RedisCollection.Name)]
public sealed class RedisPublisherTests(RedisServer redis)
{
    private static ScoredList List(string prefix, float mark, int n = 5) =>
        new(Enumerable.Range(0, n).Select(i => $"{prefix}{i}").ToArray(), Enumerable.Range(0, n).Select(i => mark - i / 100f).ToArray());

    private static IEnumerable<(string, ScoredList)> Users(int count, float mark) => Enumerable.Range(0, count).Select(u => ($"user-{u}", List("song-", mark)));

    [Fact]
    public async Task A_full_publication_switches_the_current_version_and_every_list_reads_back_under_it()
    {
        var publisher = new RedisRecallPublisher(redis.Connection, prefix: "t1", ttl: TimeSpan.FromMinutes(10), batchSize: 7);
        var written = await publisher.PublishAsync("v1", Users(50, 0.9f), [("new-song", List("user-", 0.5f))], CancellationToken.None);
        Assert.Equal(51, written);
        Assert.Equal("v1", await publisher.CurrentVersionAsync());
        var (version, list) = (await publisher.ReadRecallAsync("user-17"))!.Value;
        Assert.Equal("v1", version);
        Assert.Equal(List("song-", 0.9f).Keys, list.Keys);
        Assert.Equal(List("song-", 0.9f).Scores, list.Scores);
        Assert.Equal(["user-0", "user-1", "user-2", "user-3", "user-4"], (await publisher.ReadAudienceAsync("new-song"))!.Value.List.Keys);
        var ttl = await redis.Connection.GetDatabase().KeyTimeToLiveAsync(publisher.RecallKey("v1", "user-17"));
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
        Assert.Null(await redis.Connection.GetDatabase().KeyTimeToLiveAsync(publisher.CurrentKey)); // the pointer does not expire
    }

    [Fact]
    public async Task A_failed_write_leaves_the_previous_version_current()
    {
        var publisher = new RedisRecallPublisher(redis.Connection, prefix: "t2", ttl: TimeSpan.FromMinutes(10));
        await publisher.PublishAsync("v1", Users(20, 0.9f), [], CancellationToken.None);
        var used = long.Parse((await redis.Server.InfoAsync("memory")).SelectMany(g => g).First(p => p.Key == "used_memory").Value, System.Globalization.CultureInfo.InvariantCulture);
        // A real server refusing writes: a memory limit just above what it holds, with no eviction.
        await redis.Server.ConfigSetAsync("maxmemory-policy", "noeviction");
        await redis.Server.ConfigSetAsync("maxmemory", (used + 200_000).ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            var big = Enumerable.Range(0, 20_000).Select(u => ($"user-{u}", List("a-rather-long-song-key-", 0.1f, 50)));
            var e = await Assert.ThrowsAsync<RedisPublishException>(() => publisher.PublishAsync("v2", big, [], CancellationToken.None));
            Assert.Contains("still names the previous version", e.Message);
            Assert.Equal("v1", await publisher.CurrentVersionAsync());
            Assert.Equal("v1", (await publisher.ReadRecallAsync("user-3"))!.Value.Version);
        }
        finally
        {
            await redis.Server.ConfigSetAsync("maxmemory", "0");
        }
    }

    [Fact]
    public async Task Bad_versions_and_prefixes_are_refused_by_name()
    {
        Assert.Contains("prefix", Assert.Throws<ArgumentException>(() => new RedisRecallPublisher(redis.Connection, prefix: "a b")).Message);
        var publisher = new RedisRecallPublisher(redis.Connection, prefix: "t3");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => publisher.PublishAsync("v:1", [], [], CancellationToken.None));
        Assert.Contains("version 'v:1'", e.Message);
        Assert.Null(await publisher.ReadRecallAsync("anyone"));
    }
}
