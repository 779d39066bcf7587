using Federated.Serving.Recall;

namespace Federated.Serving.Redis;

/// <summary>What one push of a version to Redis wrote.</summary>
public sealed record RedisPushResult(string Version, long RecallLists, long AudienceLists);

/// <summary>
/// Pushes one published version to Redis: the top <paramref name="recallDepth"/> songs of every user the version
/// holds, and the audience (top <paramref name="audienceSize"/> users) of each new song, all computed by the recall
/// engine on that version's snapshot, then switches Redis's current version (only after every list is written; a
/// failed write throws <see cref="RedisPublishException"/> and leaves the previous version current).
/// </summary>
public static class RedisVersionPush
{
    public static async Task<RedisPushResult> PushAsync(RecallEngine engine, RedisRecallPublisher redis, string version,
        IReadOnlyCollection<string> newSongs, int recallDepth, int audienceSize, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(newSongs);
        using var lease = engine.Acquire(version);
        var snapshot = lease.Snapshot;
        var users = snapshot.Set.UserKeysInOrder;
        var d = snapshot.Set.Dimensions;
        var matrix = snapshot.Set.UserMatrix;
        long recallLists = users.Count, audienceLists = 0;

        IEnumerable<(string User, ScoredList List)> Recall()
        {
            const int chunk = 512;
            for (int start = 0; start < users.Count; start += chunk)
            {
                int count = Math.Min(chunk, users.Count - start);
                var hits = engine.RankSongs(snapshot, matrix.Slice(start * d, count * d), recallDepth);
                for (int i = 0; i < count; i++) yield return (users[start + i], ToList(hits[i]));
            }
        }

        IEnumerable<(string Song, ScoredList List)> Audiences()
        {
            foreach (var song in newSongs)
            {
                if (!snapshot.Set.TryGetItem(song, out _)) continue;
                audienceLists++;
                yield return (song, ToList(engine.TargetAudience(song, audienceSize, 20, version).Value));
            }
        }

        await redis.PublishAsync(version, Recall(), Audiences(), cancellationToken).ConfigureAwait(false);
        return new RedisPushResult(version, recallLists, audienceLists);
    }

    private static ScoredList ToList(IReadOnlyList<Scored> hits) => new(hits.Select(h => h.Id).ToArray(), hits.Select(h => h.Score).ToArray());
}
