using Federated.Operator;
using Federated.PartyJobs;
using Federated.Serving.Redis;
using Federated.Serving.V1;
using Federated.Transport.Client;
using Federated.Transport.V1;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Federated.Integration.Tests;

/// <summary>
/// The music host with <c>Serving:Redis</c> set, on the three real processes and a real redis-server: each version a
/// training job publishes is pushed (every user's list and each new song's audience, equal to what the recall API
/// answers on that version), and a push Redis refuses leaves its previous version current while the job completes.
/// </summary>
[Collection(TrainFederationCollection.Name)]
public sealed class RedisPushHostTests(TrainFederationFixture fixture, ITestOutputHelper output)
{
    private const int RecallDepth = 100;   // Serving:Redis defaults
    private const int AudienceSize = 100;

    private async Task<JobInfo> TrainAsync(CoordinatorConnection op, string trainingJob)
    {
        var request = TrainFederationFixture.NewJob(TrainJobHandler.JobKind,
            ("trainingJob", trainingJob), ("evaluationUsers", fixture.EvaluationUsersFile), ("batchSize", "256"), ("pretrainEpochs", "2"),
            ("epochs", "1"), ("torchThreads", "1"), ("messageTimeoutSeconds", "120"));
        var created = await op.Jobs.CreateJobAsync(request);
        var job = await fixture.WaitForJobAsync(op, created.JobId, TimeSpan.FromMinutes(5));
        Assert.True(job.State == JobState.Completed, $"{trainingJob}: {job.State} {job.Reason}\n{fixture.Logs()}");
        output.WriteLine($"{trainingJob}: " + string.Join("; ", job.Parties.Select(p => $"{p.PartyId}: {p.Summary}")));
        return job;
    }

    [Fact]
    public async Task Every_published_version_reaches_redis_as_the_recall_api_answers_it_and_a_refused_push_keeps_the_previous_one()
    {
        using var op = fixture.Connect();
        var trained = await TrainAsync(op, "it-redis");
        Assert.Contains("pushed to Redis", trained.Parties.Single(p => p.PartyId == RunFolder.MusicName).Summary);

        using var music = OperatorConnection.OpenMusic(null, fixture.Certificates, RunFolder.OperatorName, fixture.Folder);
        var models = new Models.ModelsClient(music.Channel);
        var recall = new Recall.RecallClient(music.Channel);
        var current = (await models.ListVersionsAsync(new ListVersionsRequest())).Versions.Single(v => v.Current);
        Assert.Equal("it-redis", current.TrainingJob);
        var shown = await models.ShowVersionAsync(new ShowVersionRequest { Version = current.Version });

        var redis = new RedisRecallPublisher(fixture.Redis.Connection);
        Assert.Equal(current.Version, await redis.CurrentVersionAsync());
        var recallKeys = fixture.Redis.Server.Keys(pattern: redis.RecallKey(current.Version, "*")).ToArray();
        Assert.Equal(shown.Users, recallKeys.Length);

        // The lists in Redis are the recall API's answers on that version: cold-start users and users M trained on.
        var prefix = redis.RecallKey(current.Version, "");
        var users = recallKeys.Select(k => k.ToString()[prefix.Length..]).Order(StringComparer.Ordinal).Where((_, i) => i % 97 == 0).Take(12).ToArray();
        var ask = new RecallForUsersRequest { K = RecallDepth, ModelVersion = current.Version };
        ask.UserIds.AddRange(users);
        var answered = await recall.RecallForUsersAsync(ask);
        foreach (var user in answered.Users)
        {
            var (version, list) = (await redis.ReadRecallAsync(user.UserId))!.Value;
            Assert.Equal(current.Version, version);
            Assert.Equal(user.Songs.Select(s => s.Id), list.Keys);
            Assert.All(user.Songs.Zip(list.Scores), p => Assert.Equal(p.First.Score, p.Second, 5));
        }

        var audienceKeys = fixture.Redis.Server.Keys(pattern: redis.AudienceKey(current.Version, "*")).ToArray();
        Assert.NotEmpty(audienceKeys);
        var audiencePrefix = redis.AudienceKey(current.Version, "");
        foreach (var song in audienceKeys.Select(k => k.ToString()[audiencePrefix.Length..]).Order(StringComparer.Ordinal).Take(3))
        {
            var api = await recall.TargetAudienceAsync(new TargetAudienceRequest { SongId = song, N = AudienceSize, SimilarSongs = 20, ModelVersion = current.Version });
            var (_, list) = (await redis.ReadAudienceAsync(song))!.Value;
            Assert.Equal(api.Users.Select(u => u.Id), list.Keys);
        }

        // Redis refuses every write (memory limit below what it holds): the next job still completes and publishes,
        // says Redis was not updated, and Redis keeps serving the version before it, whole.
        fixture.Redis.Server.ConfigSet("maxmemory", "1");
        try
        {
            var refused = await TrainAsync(op, "it-redis-refused");
            Assert.Contains("Redis NOT updated", refused.Parties.Single(p => p.PartyId == RunFolder.MusicName).Summary);
            var next = (await models.ListVersionsAsync(new ListVersionsRequest())).Versions.Single(v => v.Current);
            Assert.Equal("it-redis-refused", next.TrainingJob);
            Assert.NotEqual(current.Version, next.Version);
            Assert.Equal(current.Version, await redis.CurrentVersionAsync());
            Assert.Equal(shown.Users, fixture.Redis.Server.Keys(pattern: redis.RecallKey(current.Version, "*")).Count());
            Assert.Empty(fixture.Redis.Server.Keys(pattern: redis.RecallKey(next.Version, "*")));
            var (still, _) = (await redis.ReadRecallAsync(users[0]))!.Value;
            Assert.Equal(current.Version, still);
        }
        finally
        {
            fixture.Redis.Server.ConfigSet("maxmemory", "0");
        }
    }
}
