using Federated.Operator;
using Federated.PartyJobs;
using Federated.Serving.V1;
using Federated.Transport.Client;
using Federated.Transport.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace Federated.Integration.Tests;

/// <summary>
/// Recall for users new to M through a live inference session on the three real processes (docs/protocol.md §4.4):
/// after an encrypted training job, an <c>infer</c> job keeps a session with E open; M's recall API answers users
/// without a published vector through it, with the same lists the published vectors give; two requests of one size
/// cost the same relayed messages and bytes whichever of their users are real; stopping the job closes the path.
/// </summary>
[Collection(TrainFederationCollection.Name)]
public sealed class LiveRecallTests(TrainFederationFixture fixture, ITestOutputHelper output)
{
    private static Dictionary<string, string> Parameters(string trainingJob, string evaluationUsers) => new()
    {
        ["trainingJob"] = trainingJob, ["evaluationUsers"] = evaluationUsers, ["batchSize"] = "256", ["pretrainEpochs"] = "2",
        ["epochs"] = "1", ["torchThreads"] = "1", ["messageTimeoutSeconds"] = "120",
    };

    private static async Task<JobInfo> CreateAsync(CoordinatorConnection op, string kind, Dictionary<string, string> parameters)
    {
        var request = new CreateJobRequest { Kind = kind, MusicPartyId = "music", ExternalPartyId = "external" };
        request.Parameters.Add(parameters);
        return await op.Jobs.CreateJobAsync(request);
    }

    private async Task<JobInfo> WaitAsync(CoordinatorConnection op, string jobId, Func<JobInfo, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var job = await op.Jobs.GetJobAsync(new GetJobRequest { JobId = jobId });
            if (done(job)) return job;
            Assert.True(DateTime.UtcNow < deadline, $"job {jobId} ({job.Kind}) still {job.State} after {timeout.TotalSeconds:0} s: {job.Reason}\n{fixture.Logs()}");
            Assert.False(job.State is JobState.Failed, $"job {jobId} ({job.Kind}) failed: {job.Reason}\n{fixture.Logs()}");
            await Task.Delay(200);
        }
    }

    private static RecallForUsersRequest Ask(int k, bool live, params string[] users)
    {
        var request = new RecallForUsersRequest { K = k, Live = live };
        request.UserIds.AddRange(users);
        return request;
    }

    [Fact]
    public async Task Users_new_to_m_are_answered_through_a_live_session_with_e_at_the_cost_of_their_count_only()
    {
        using var op = fixture.Connect();
        var parameters = Parameters("it-live", fixture.EvaluationUsersFile);
        var trained = await CreateAsync(op, TrainJobHandler.JobKind, parameters);
        await WaitAsync(op, trained.JobId, j => j.State == JobState.Completed, TimeSpan.FromMinutes(5));

        using var music = OperatorConnection.OpenMusic(null, fixture.Certificates, RunFolder.OperatorName, fixture.Folder);
        var recall = new Recall.RecallClient(music.Channel);
        var version = (await new Models.ModelsClient(music.Channel).ListVersionsAsync(new ListVersionsRequest())).Versions.Single(v => v.Current);
        Assert.Equal("it-live", version.TrainingJob);
        var cold = fixture.Harness.UsersToRank.Take(4).ToArray();

        // No session yet: a user without a published vector (asked live) is NotFound, and the message says what to start.
        var closed = await Assert.ThrowsAsync<RpcException>(async () => await recall.RecallForUsersAsync(Ask(10, true, cold)));
        Assert.Equal(StatusCode.NotFound, closed.StatusCode);
        Assert.Contains("no inference session", closed.Status.Detail);

        var session = await CreateAsync(op, InferJobHandler.JobKind, new Dictionary<string, string>(parameters) { ["decoyFactor"] = "4" });
        RecallForUsersReply? live = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (live is null)
        {
            try { live = await recall.RecallForUsersAsync(Ask(10, true, cold)); }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && DateTime.UtcNow < deadline) { await Task.Delay(250); }
        }
        Assert.Equal(version.Version, live.ModelVersion);
        var published = await recall.RecallForUsersAsync(Ask(10, false, cold));
        for (int i = 0; i < cold.Length; i++)
        {
            Assert.Equal("federated", live.Users[i].Source);
            Assert.Equal("published", published.Users[i].Source);
            var a = live.Users[i].Songs.Select(s => s.Id).ToArray();
            var b = published.Users[i].Songs.Select(s => s.Id).ToArray();
            output.WriteLine($"user {i}: {a.Intersect(b).Count()} of 10 shared, top score {live.Users[i].Songs[0].Score:F4} vs {published.Users[i].Songs[0].Score:F4}");
            Assert.True(a.Intersect(b).Count() >= 8, $"user {i}: live top-10 shares {a.Intersect(b).Count()} songs with the published one");
            Assert.Equal(published.Users[i].Songs[0].Score, live.Users[i].Songs[0].Score, 2);
        }

        // Two live requests of four users: all real, or one real and three E does not hold. The relay carries the same.
        async Task<(ulong Messages, ulong Bytes)> Relayed() { var r = (await op.Jobs.GetJobAsync(new GetJobRequest { JobId = session.JobId })).Relay; return (r.MessagesRelayed, r.BytesRelayed); }
        var before = await Relayed();
        var allReal = await recall.RecallForUsersAsync(Ask(10, true, cold));
        var middle = await Relayed();
        var oneReal = await recall.RecallForUsersAsync(Ask(10, true, cold[0], "nobody-1", "nobody-2", "nobody-3"));
        var after = await Relayed();
        output.WriteLine($"relayed per request: {middle.Messages - before.Messages} messages, {middle.Bytes - before.Bytes} B; then {after.Messages - middle.Messages}, {after.Bytes - middle.Bytes} B");
        Assert.Equal(middle.Messages - before.Messages, after.Messages - middle.Messages);
        Assert.Equal(middle.Bytes - before.Bytes, after.Bytes - middle.Bytes);
        Assert.All(allReal.Users, u => Assert.Equal("federated", u.Source));
        Assert.Equal(["federated", "unknown", "unknown", "unknown"], oneReal.Users.Select(u => u.Source));
        Assert.All(oneReal.Users.Skip(1), u => Assert.Empty(u.Songs));

        var twice = await Assert.ThrowsAsync<RpcException>(async () => await recall.RecallForUsersAsync(Ask(10, true, cold[0], cold[0])));
        Assert.Equal(StatusCode.InvalidArgument, twice.StatusCode);
        Assert.Contains("user_ids[1]", twice.Status.Detail);

        // Stopping the job closes the session: the live path answers NotFound again, E reports what it served.
        await op.Jobs.StopJobAsync(new StopJobRequest { JobId = session.JobId, Reason = "test done" });
        var stopped = await WaitAsync(op, session.JobId, j => j.State == JobState.Stopped, TimeSpan.FromMinutes(1));
        output.WriteLine(string.Join("\n", stopped.Parties.Select(p => $"{p.PartyId}: {p.State} {p.Summary}")));
        var gone = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try { await recall.RecallForUsersAsync(Ask(10, true, cold)); }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound) { break; }
            Assert.True(DateTime.UtcNow < gone, "the live path still answers after the infer job stopped");
            await Task.Delay(250);
        }
    }
}
