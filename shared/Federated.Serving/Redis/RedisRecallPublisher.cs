using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace Federated.Serving.Redis;

/// <summary>One ranked list as served: item keys with their scores, best first.</summary>
public sealed record ScoredList(IReadOnlyList<string> Keys, IReadOnlyList<float> Scores)
{
    public static ScoredList Empty { get; } = new([], []);

    /// <summary>"key score" per line: plain text any client reads; keys never hold a line break (the embedding set refuses them).</summary>
    public string Encode()
    {
        var text = new StringBuilder();
        for (var i = 0; i < Keys.Count; i++)
            text.Append(Keys[i]).Append(' ').Append(Scores[i].ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        return text.ToString();
    }

    public static ScoredList Decode(string text)
    {
        var keys = new List<string>();
        var scores = new List<float>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var space = line.LastIndexOf(' ');
            if (space <= 0 || !float.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var score))
                throw new FormatException($"'{line}' is not 'key score'");
            keys.Add(line[..space]);
            scores.Add(score);
        }
        return new ScoredList(keys, scores);
    }
}

/// <summary>Thrown when a publication to Redis did not complete; the previous version stays current.</summary>
public sealed class RedisPublishException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Publishes recall lists (per user) and audience lists (per new song) of one model version to Redis, for online
/// serving that needs no call to M: every list under a versioned key with a TTL
/// (<c>{prefix}:{version}:recall:{user}</c>, <c>{prefix}:{version}:audience:{song}</c>), then, only after every write
/// succeeded, the current-version key <c>{prefix}:current</c> switched in one SET. A failed write leaves the
/// previous version current (its keys live until their TTL). Readers use <see cref="ReadRecallAsync"/>.
/// </summary>
public sealed class RedisRecallPublisher
{
    private readonly IDatabase _database;
    private readonly string _prefix;
    private readonly TimeSpan _ttl;
    private readonly int _batch;

    public RedisRecallPublisher(IConnectionMultiplexer redis, string prefix = "federated", TimeSpan? ttl = null, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(redis);
        if (string.IsNullOrWhiteSpace(prefix) || prefix.Contains(' ')) throw new ArgumentException($"Redis key prefix '{prefix}' must be non-empty without spaces", nameof(prefix));
        _ttl = ttl ?? TimeSpan.FromDays(7);
        if (_ttl <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ttl), _ttl, "the TTL must be positive");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "at least 1");
        _database = redis.GetDatabase();
        _prefix = prefix;
        _batch = batchSize;
    }

    public string CurrentKey => _prefix + ":current";
    public string RecallKey(string version, string user) => $"{_prefix}:{version}:recall:{user}";
    public string AudienceKey(string version, string song) => $"{_prefix}:{version}:audience:{song}";

    /// <summary>Writes every list of <paramref name="version"/>, then switches the current version to it. Returns the lists written.</summary>
    public async Task<long> PublishAsync(string version, IEnumerable<(string User, ScoredList List)> recall,
        IEnumerable<(string Song, ScoredList List)> audiences, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(version) || version.Contains(':')) throw new ArgumentException($"version '{version}' must be non-empty without ':'", nameof(version));
        long written = 0;
        var entries = recall.Select(r => (Key: RecallKey(version, r.User), r.List))
            .Concat(audiences.Select(a => (Key: AudienceKey(version, a.Song), a.List)));
        try
        {
            foreach (var chunk in entries.Chunk(_batch))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var writes = chunk.Select(e => _database.StringSetAsync(e.Key, e.List.Encode(), _ttl)).ToArray();
                var results = await Task.WhenAll(writes).ConfigureAwait(false);
                if (results.Any(ok => !ok)) throw new RedisPublishException($"Redis refused a write of version {version} after {written} lists");
                written += chunk.Length;
            }
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException or RedisConnectionException)
        {
            throw new RedisPublishException($"publishing version {version} to Redis failed after {written} lists; {CurrentKey} still names the previous version: {e.Message}", e);
        }
        await _database.StringSetAsync(CurrentKey, version).ConfigureAwait(false);
        return written;
    }

    /// <summary>The version Redis serves now, or null before the first publication.</summary>
    public async Task<string?> CurrentVersionAsync() => await _database.StringGetAsync(CurrentKey).ConfigureAwait(false) is { HasValue: true } v ? v.ToString() : null;

    /// <summary>The current version's recall list for a user (null when the user has none), with the version it came from.</summary>
    public async Task<(string Version, ScoredList List)?> ReadRecallAsync(string user)
    {
        if (await CurrentVersionAsync().ConfigureAwait(false) is not { } version) return null;
        var value = await _database.StringGetAsync(RecallKey(version, user)).ConfigureAwait(false);
        return value.HasValue ? (version, ScoredList.Decode(value.ToString())) : null;
    }

    /// <summary>The current version's audience for a song (null when it has none).</summary>
    public async Task<(string Version, ScoredList List)?> ReadAudienceAsync(string song)
    {
        if (await CurrentVersionAsync().ConfigureAwait(false) is not { } version) return null;
        var value = await _database.StringGetAsync(AudienceKey(version, song)).ConfigureAwait(false);
        return value.HasValue ? (version, ScoredList.Decode(value.ToString())) : null;
    }
}
