using System.Diagnostics;
using Federated.Launcher;
using Federated.Operator;
using Federated.PartyJobs;
using Federated.Serving.V1;
using Federated.Transport.Client;
using Federated.Transport.V1;
using Grpc.Core;

namespace Federated.Local.Commands;

/// <summary>
/// The demo's live step: the operator opens an inference session between the parties (an <c>infer</c> job over the
/// trained model), then, as one of M's serving clients, asks M's recall API to compute cold-start users through E
/// now (decoy-padded, through the relay) instead of from their published vectors, and compares the two answers.
/// </summary>
internal static class DemoLiveRecall
{
    public sealed record Live(string JobId, int Users, int Requests, TimeSpan Opening, TimeSpan PerRequest, double SameTop10,
        ulong Messages, ulong Bytes, JobInfo Job);

    public static async Task<Live> AskAsync(LocalFederation federation, CoordinatorConnection coordinator, IDictionary<string, string> trainParameters,
        IReadOnlyList<string> users, int usersPerRequest, CancellationToken ct)
    {
        var create = new CreateJobRequest { Kind = InferJobHandler.JobKind };
        create.Parameters.Add(trainParameters);
        create.Parameters["decoyFactor"] = "4";
        var clock = Stopwatch.StartNew();
        var job = await coordinator.Jobs.CreateJobAsync(create, cancellationToken: ct);
        var address = federation.Hosts[RunFolder.MusicName].Address?.ToString() ?? throw new OperatorException("the music host has no address");
        using var music = OperatorConnection.OpenMusic(address, null, RunFolder.OperatorName, federation.Folder);
        var recall = new Recall.RecallClient(music.Channel);
        try
        {
            // The session is open once the live path answers.
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while (true)
            {
                try
                {
                    await recall.RecallForUsersAsync(Request(users.Take(1), 10, live: true), cancellationToken: ct);
                    break;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && DateTime.UtcNow < deadline)
                {
                    var state = await coordinator.Jobs.GetJobAsync(new GetJobRequest { JobId = job.JobId }, cancellationToken: ct);
                    if (state.State is JobState.Failed or JobState.Stopped) throw new OperatorException($"infer job {job.JobId} {JobWaits.StateText(state.State)}: {state.Reason}");
                    await Task.Delay(250, ct);
                }
            }
            var opening = clock.Elapsed;
            var before = (await coordinator.Jobs.GetJobAsync(new GetJobRequest { JobId = job.JobId }, cancellationToken: ct)).Relay;
            int same = 0, requests = 0;
            var asking = Stopwatch.StartNew();
            foreach (var batch in users.Chunk(usersPerRequest))
            {
                var live = await recall.RecallForUsersAsync(Request(batch, 10, live: true), cancellationToken: ct);
                requests++;
                var published = await recall.RecallForUsersAsync(Request(batch, 10, live: false), cancellationToken: ct);
                for (int i = 0; i < batch.Length; i++)
                    if (live.Users[i].Source == "federated" && live.Users[i].Songs.Select(s => s.Id).SequenceEqual(published.Users[i].Songs.Select(s => s.Id))) same++;
            }
            var perRequest = asking.Elapsed / Math.Max(1, requests);
            var after = (await coordinator.Jobs.GetJobAsync(new GetJobRequest { JobId = job.JobId }, cancellationToken: ct)).Relay;
            await coordinator.Jobs.StopJobAsync(new StopJobRequest { JobId = job.JobId, Reason = "demo: live recall done" }, cancellationToken: ct);
            var stopped = await JobWaits.WaitAsync(coordinator.Jobs, job.JobId, TimeSpan.FromSeconds(60), ct);
            return new Live(job.JobId, users.Count, requests, opening, perRequest, users.Count == 0 ? 0 : (double)same / users.Count,
                after.MessagesRelayed - before.MessagesRelayed, after.BytesRelayed - before.BytesRelayed, stopped);
        }
        catch
        {
            await coordinator.Jobs.StopJobAsync(new StopJobRequest { JobId = job.JobId, Reason = "demo: live recall failed" }, cancellationToken: CancellationToken.None);
            throw;
        }
    }

    private static RecallForUsersRequest Request(IEnumerable<string> users, int k, bool live)
    {
        var request = new RecallForUsersRequest { K = k, Live = live };
        request.UserIds.AddRange(users);
        return request;
    }
}
